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
  next?: PlannedStep;
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

  notesFor(step: OnboardingStepDefinition, profile: ImporterProfile | undefined, language: Language): string[] {
    return step.notes.filter((n) => matches(n.when, profile)).map((n) => n.text[language]);
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
      next: open.find((p) => status(p) !== 'later') ?? open[0]
    };
  }
}
