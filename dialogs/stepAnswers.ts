import type { OnboardingStepDefinition } from '../src/content/schema.js';
import {
  BusinessNumber,
  ProgramAccountNumber,
  businessNumberInProgramAccount,
  SignInOption,
  maskIdentifier,
  type OnboardingProgress,
  type StepStatus
} from '../src/onboarding/onboardingProgress.js';
import type { ProgressRepository, UserRef } from '../src/onboarding/progressRepository.js';
import type { StepChoice } from '../cards/cardActions.js';

export type ValueCheck =
  | {
      ok: true;
      value?: {
        kind: 'signInOption' | 'businessNumber' | 'programAccount';
        stored: string;
        shown: string;
        /** What saying it back takes, when more than "Noted" (step.valueSaved): a number taken from a longer one. */
        savedKey?: string;
      };
    }
  | {
      ok: false;
      messageKey: string;
      vars?: Record<string, string | number>;
      /** A valid value for another step, typed at this one (a BN9 at the RM step): kept, the step stays open. */
      keep?: { kind: 'businessNumber'; stored: string; shown: string };
    };

/** Validates a value a step collects; the message keys name exactly what is wrong. */
export function checkStepValue(step: OnboardingStepDefinition, choice: StepChoice, raw: string | undefined, progress?: OnboardingProgress): ValueCheck {
  if (choice !== 'done') return { ok: true };
  if (step.collects === 'signInOption') {
    const parsed = SignInOption.safeParse(raw);
    if (parsed.success) return { ok: true, value: { kind: 'signInOption', stored: parsed.data, shown: parsed.data } };
    return progress?.values.signInOption ? { ok: true } : { ok: false, messageKey: 'value.signInOption.required' };
  }
  if (raw === undefined || raw.trim() === '') return { ok: true };
  if (step.collects === 'businessNumber') {
    // A whole program account number (123456789RM0001) holds the BN9 as its first nine digits, as the
    // step's card says: keep those, and say so.
    const inAccount = businessNumberInProgramAccount(raw);
    const parsed = BusinessNumber.safeParse(inAccount ?? raw);
    if (parsed.success) {
      const savedKey = inAccount ? 'step.valueFromProgramAccount' : undefined;
      return { ok: true, value: { kind: 'businessNumber', stored: parsed.data, shown: maskIdentifier(parsed.data), savedKey } };
    }
    return { ok: false, messageKey: parsed.error.issues[0]!.message, vars: { digits: raw.replace(/\D/g, '').length } };
  }
  if (step.collects === 'programAccount') {
    const parsed = ProgramAccountNumber.safeParse(raw);
    if (parsed.success) return { ok: true, value: { kind: 'programAccount', stored: parsed.data, shown: maskIdentifier(parsed.data) } };
    // Nine digits that pass the check: the business number, given one step late (or early). Kept for its
    // own step; this one still needs the letters and four digits.
    const business = BusinessNumber.safeParse(raw);
    if (business.success) {
      const shown = maskIdentifier(business.data);
      return { ok: false, messageKey: 'bn15.isBusinessNumber', vars: { masked: shown }, keep: { kind: 'businessNumber', stored: business.data, shown } };
    }
    const letters = raw.replace(/[^a-z]/gi, '').toUpperCase().slice(0, 2) || '—';
    return { ok: false, messageKey: parsed.error.issues[0]!.message, vars: { letters } };
  }
  return { ok: true };
}

export const STATUS_FOR_CHOICE: Record<Exclude<StepChoice, 'more'>, StepStatus> = { done: 'done', later: 'later', skip: 'skipped' };

const REMEMBERED_ACTIVITY_IDS = 50;

/**
 * Records a step's status (and value) for the user. An activity already applied (a channel retry
 * after a crash between the save and the reply) changes nothing; the caller still replies, since the
 * user never saw the first answer.
 */
export async function recordStep(
  progress: ProgressRepository,
  user: UserRef,
  stepId: string,
  status: StepStatus,
  value: Extract<ValueCheck, { ok: true }>['value'],
  activityId: string | undefined
): Promise<void> {
  await recordSteps(progress, user, [stepId], status, activityId, value);
}

/** Records several steps in one write ("we're already registered"); a replayed activity changes nothing. */
export async function recordSteps(
  progress: ProgressRepository,
  user: UserRef,
  stepIds: readonly string[],
  status: StepStatus,
  activityId: string | undefined,
  value?: Extract<ValueCheck, { ok: true }>['value']
): Promise<void> {
  await progress.update(user, (p) => {
    if (activityId && p.appliedActivityIds.includes(activityId)) return;
    const at = new Date().toISOString();
    for (const stepId of stepIds) p.steps[stepId] = { status, at };
    if (value) keepValue(p, value);
    if (activityId) p.appliedActivityIds = [...p.appliedActivityIds, activityId].slice(-REMEMBERED_ACTIVITY_IDS);
  });
}

/** Keeps a value a step collects in the record (a step's answer, or a number typed at the wrong step). */
export function keepValue(progress: OnboardingProgress, value: { kind: 'signInOption' | 'businessNumber' | 'programAccount'; stored: string }): void {
  progress.values = { ...progress.values, [value.kind]: value.stored };
}
