import type {
  ImporterProfile,
  OnboardingPhaseDefinition,
  OnboardingPlanFile,
  OnboardingStepDefinition,
  Language
} from '../content/schema.js';
import type { OnboardingProgress, StepStatus } from './onboardingProgress.js';

export interface PlannedStep {
  phase: OnboardingPhaseDefinition;
  phaseNumber: number;
  step: OnboardingStepDefinition;
  /** 1-based position in the user's personalised plan. */
  number: number;
}

export interface PlanSummary {
  total: number;
  done: number;
  percent: number;
  /** Steps neither done nor skipped, in plan order. */
  open: PlannedStep[];
  /** The step the checklist asks next (see OnboardingPlan.nextStep). */
  next?: PlannedStep;
}

export interface NextStepOptions {
  /** Steps already asked in this pass through the checklist. */
  passed?: readonly string[];
  /** Only a step of this phase. */
  phaseId?: string;
}

function matches(condition: Partial<ImporterProfile> | undefined, profile: ImporterProfile | undefined): boolean {
  if (!condition) return true;
  if (!profile) return false;
  return (Object.keys(condition) as Array<keyof ImporterProfile>).every((k) => condition[k] === profile[k]);
}

export function isSettled(status: StepStatus | undefined): boolean {
  return status === 'done' || status === 'skipped';
}

/** The onboarding steps from content, personalised by the importer's profile. */
export class OnboardingPlan {
  constructor(private readonly file: OnboardingPlanFile) {}

  get phases(): OnboardingPhaseDefinition[] {
    return this.file.phases;
  }

  get lastReviewed(): string {
    return this.file.lastReviewed;
  }

  /** The steps that apply to this profile (all of them before the profile is known, except conditional ones). */
  stepsFor(profile: ImporterProfile | undefined): PlannedStep[] {
    const planned: PlannedStep[] = [];
    this.file.phases.forEach((phase, i) => {
      for (const step of phase.steps) {
        if (step.appliesWhen && !matches(step.appliesWhen, profile)) continue;
        planned.push({ phase, phaseNumber: i + 1, step, number: planned.length + 1 });
      }
    });
    return planned;
  }

  find(stepId: string, profile: ImporterProfile | undefined): PlannedStep | undefined {
    return this.stepsFor(profile).find((p) => p.step.id === stepId);
  }

  notesFor(step: OnboardingStepDefinition, progress: OnboardingProgress | undefined, language: Language): string[] {
    return step.notes
      .filter((n) => matches(n.when, progress?.profile) && (!n.unlessDone || progress?.steps[n.unlessDone]?.status !== 'done'))
      .map((n) => n.text[language]);
  }

  /** The open steps a business already registered in the portal has done (its checklist begun). */
  settledByRegistration(progress: OnboardingProgress | undefined): PlannedStep[] {
    if (!progress?.profile) return [];
    return this.stepsFor(progress.profile).filter((p) => p.step.doneOnceRegistered && !isSettled(progress.steps[p.step.id]?.status));
  }

  summary(progress: OnboardingProgress | undefined): PlanSummary {
    const steps = this.stepsFor(progress?.profile);
    const status = (p: PlannedStep) => progress?.steps[p.step.id]?.status;
    const done = steps.filter((p) => status(p) === 'done').length;
    const open = steps.filter((p) => !isSettled(status(p)));
    return {
      total: steps.length,
      done,
      percent: steps.length === 0 ? 0 : Math.round((done / steps.length) * 100),
      open,
      next: this.nextStep(progress)
    };
  }

  /**
   * The one rule for the step to ask next: the welcome's "Next up" and where "continue" opens.
   * The first open step in plan order, passing over steps put off with "Not yet, remind me later"
   * while any other is open. A step put off is not finished, but the user asked for it later, not
   * next: they expect to pick up at the step they had reached, and the put-off steps come round once
   * the others are through (the checklist's end says how many are waiting).
   */
  nextStep(progress: OnboardingProgress | undefined, options: NextStepOptions = {}): PlannedStep | undefined {
    const passed = options.passed ?? [];
    const status = (p: PlannedStep) => progress?.steps[p.step.id]?.status;
    const open = this.stepsFor(progress?.profile).filter((p) => !isSettled(status(p)) && !passed.includes(p.step.id));
    const notPutOff = open.filter((p) => status(p) !== 'later');
    const candidates = notPutOff.length > 0 ? notPutOff : open;
    return options.phaseId ? candidates.find((p) => p.phase.id === options.phaseId) : candidates[0];
  }
}
