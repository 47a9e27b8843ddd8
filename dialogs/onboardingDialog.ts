import { WaterfallDialog, type Dialog, type WaterfallStepContext } from 'botbuilder-dialogs';
import { MessageFactory } from 'botbuilder';
import type { ImporterProfile } from '../src/content/schema.js';
import { pluralKey } from '../src/util/plural.js';
import { progressCard } from '../cards/progressCard.js';
import { PhaseDialog, phaseDialogId, type PhaseOptions } from './phaseDialog.js';
import { ProfileDialog, PROFILE_DIALOG } from './profileDialog.js';
import { turnInfo } from './turnContext.js';
import { recordSteps } from './stepAnswers.js';
import type { ConversationDeps } from './conversationDeps.js';

export const ONBOARDING_DIALOG = 'onboarding';

export interface OnboardingOptions {
  /** Go straight to this step (from the progress card). */
  startAt?: string;
  /** Ask the profile questions again ("change my answers"); the steps' progress is kept. */
  reviseProfile?: boolean;
  /** Said to be registered already: once the profile is known, the steps registration covered are marked. */
  alreadyRegistered?: boolean;
}

/**
 * The guided checklist: a short profile first, then the pre-registration, registration and
 * post-registration phases, each resuming at the step the plan names next. The dialogs it begins sit on
 * the same dialog stack as it does (no component nesting): every dialog context botbuilder builds
 * costs a turn time and memory.
 */
export class OnboardingDialog extends WaterfallDialog {
  private readonly profile: ProfileDialog;
  private readonly phases: PhaseDialog[];

  constructor(private readonly deps: ConversationDeps) {
    super(ONBOARDING_DIALOG);
    this.profile = new ProfileDialog(deps);
    this.phases = deps.plan.phases.map((phase) => new PhaseDialog(phase, deps));
    this.addStep((s) => this.ensureProfile(s));
    this.addStep((s) => this.saveProfile(s));
    deps.plan.phases.forEach((_, i) => this.addStep((s) => this.runPhase(s, i)));
    this.addStep((s) => this.finish(s));
  }

  /** This dialog and every dialog it begins. */
  get dialogs(): Dialog[] {
    return [this, ...this.profile.dialogs, ...this.phases.flatMap((phase) => [phase, phase.prompt])];
  }

  private async ensureProfile(step: WaterfallStepContext) {
    const { user, language } = turnInfo(step.context);
    const progress = await this.deps.progress.get(user, step.context);
    const t = this.deps.content.text;
    if ((step.options as OnboardingOptions)?.reviseProfile) {
      await step.context.sendActivity(t.t(language, 'profile.changeIntro'));
      return step.beginDialog(PROFILE_DIALOG);
    }
    if (!progress?.profile) {
      await step.context.sendActivity(t.t(language, (step.options as OnboardingOptions)?.alreadyRegistered ? 'registered.intro' : 'onboarding.intro'));
      return step.beginDialog(PROFILE_DIALOG);
    }
    // Nothing left to pick up on a settled checklist: its end says so.
    const resuming = Object.keys(progress.steps).length > 0 && this.deps.plan.nextStep(progress) !== undefined;
    if (resuming && !(step.options as OnboardingOptions)?.startAt) {
      await step.context.sendActivity(t.t(language, 'onboarding.resume'));
    }
    return step.next();
  }

  private async saveProfile(step: WaterfallStepContext) {
    const profile = step.result as ImporterProfile | undefined;
    if (profile) {
      const { user, language } = turnInfo(step.context);
      const saved = await this.deps.progress.update(user, (p) => {
        p.profile = profile;
      });
      const total = this.deps.plan.stepsFor(saved.profile).length;
      await step.context.sendActivity(this.deps.content.text.t(language, 'onboarding.plan', { total }));
      const registered = (step.options as OnboardingOptions)?.alreadyRegistered ? this.deps.plan.settledByRegistration(saved) : [];
      if (registered.length > 0) {
        await recordSteps(this.deps.progress, user, registered.map((p) => p.step.id), 'done', step.context.activity.id);
        await step.context.sendActivity(this.deps.content.text.t(language, 'registered.done', { count: registered.length }));
      }
    }
    return step.next();
  }

  private async runPhase(step: WaterfallStepContext, index: number) {
    const phase = this.deps.plan.phases[index]!;
    const options = (step.options ?? {}) as OnboardingOptions;
    let phaseOptions: PhaseOptions = {};
    if (options.startAt) {
      const { user } = turnInfo(step.context);
      const target = this.deps.plan.find(options.startAt, (await this.deps.progress.get(user, step.context))?.profile);
      const targetIndex = target ? this.deps.plan.phases.indexOf(target.phase) : -1;
      if (targetIndex > index) return step.next();
      if (targetIndex === index) phaseOptions = { startAt: options.startAt };
      options.startAt = undefined;
    }
    return step.beginDialog(phaseDialogId(phase), phaseOptions);
  }

  private async finish(step: WaterfallStepContext) {
    const { user, language } = turnInfo(step.context);
    const progress = await this.deps.progress.get(user, step.context);
    const summary = this.deps.plan.summary(progress);
    const t = this.deps.content.text;
    await step.context.sendActivity(
      summary.open.length === 0
        ? t.t(language, 'onboarding.complete')
        : t.t(language, pluralKey(language, 'onboarding.remaining', summary.open.length), { count: summary.open.length })
    );
    await step.context.sendActivity(MessageFactory.attachment(progressCard(this.deps.plan, progress, language, t)));
    return step.endDialog();
  }
}
