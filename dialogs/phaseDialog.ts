import { WaterfallDialog, type WaterfallStepContext, type PromptValidatorContext } from 'botbuilder-dialogs';
import { MessageFactory, type Activity, type TurnContext } from 'botbuilder';
import type { OnboardingPhaseDefinition } from '../src/content/schema.js';
import { stepCard, stepReminderCard } from '../cards/stepCard.js';
import { AnswerPrompt, type AnswerExpectation, type AnswerPromptOptions, type PromptAnswer } from './answerPrompt.js';
import { turnInfo } from './turnContext.js';
import { checkStepValue, keepValue, recordStep, STATUS_FOR_CHOICE } from './stepAnswers.js';
import type { ConversationDeps } from './conversationDeps.js';

export interface PhaseOptions {
  /** Ask this step first (a jump from the progress card, or "Tell me more" coming back). */
  startAt?: string;
  /** Steps already asked in this pass, so "Not yet" moves on instead of asking again. */
  visited?: string[];
  /** What was just recorded ("✓ … is done"), said in the same message as the next step's card. */
  notice?: string;
}

export const phaseDialogId = (phase: OnboardingPhaseDefinition) => `phase.${phase.id}`;

/**
 * One phase of the checklist: asks each unfinished step in turn and saves every answer before moving
 * on. A waterfall with its own question (`prompt`), both on the conversation's dialog stack.
 */
export class PhaseDialog extends WaterfallDialog {
  readonly prompt: AnswerPrompt;

  constructor(private readonly phase: OnboardingPhaseDefinition, private readonly deps: ConversationDeps) {
    super(phaseDialogId(phase));
    this.prompt = new AnswerPrompt(
      `${this.id}.answer`,
      deps.content.answerWords,
      (context, expect, isRetry) => this.draw(context, expect, isRetry),
      (pc) => this.validate(pc)
    );
    this.addStep((s) => this.ask(s));
    this.addStep((s) => this.handle(s));
  }

  private async ask(step: WaterfallStepContext) {
    const { user, language } = turnInfo(step.context);
    const options = (step.options ?? {}) as PhaseOptions;
    const visited = options.visited ?? [];
    const progress = await this.deps.progress.get(user, step.context);
    const planned = this.deps.plan.stepsFor(progress?.profile);
    const inPhase = planned.filter((p) => p.phase.id === this.phase.id);
    // The same rule as the welcome's "Next up", so "continue" opens the step it named.
    const target = options.startAt
      ? inPhase.find((p) => p.step.id === options.startAt)
      : this.deps.plan.nextStep(progress, { passed: visited, phaseId: this.phase.id });
    if (!target) {
      if (options.notice) await step.context.sendActivity(options.notice);
      return step.endDialog();
    }
    const t = this.deps.content.text;
    // One message per turn where possible: the confirmation and the phase intro ride with the card.
    const lines = options.notice ? [options.notice] : [];
    // Said with this card only; the options stay in the saved dialog state.
    delete options.notice;
    if (!options.startAt && visited.length === 0 && inPhase.every((p) => !progress?.steps[p.step.id])) {
      lines.push(`**${t.t(language, 'phase.header', { number: target.phaseNumber, title: this.phase.title[language] })}**: ${this.phase.intro[language]}`);
    }
    (step.values as { stepId?: string }).stepId = target.step.id;
    const prompt: AnswerPromptOptions = {
      lead: lines.length > 0 ? lines.join('\n\n') : undefined,
      validations: { kind: 'step', stepId: target.step.id, collects: target.step.collects }
    };
    return step.prompt(this.prompt.id, prompt);
  }

  /** The step's card, from the user's progress as it is now; a retry gets a one-line reminder. */
  private async draw(context: TurnContext, expect: AnswerExpectation, isRetry: boolean): Promise<Partial<Activity>> {
    const { user, language } = turnInfo(context);
    const t = this.deps.content.text;
    const retry = () =>
      expect.kind === 'step'
        ? MessageFactory.attachment(stepReminderCard({ stepId: expect.stepId, collects: expect.collects, language, text: t }, this.deps.cards))
        : MessageFactory.text(t.t(language, 'step.retry'));
    if (isRetry || expect.kind !== 'step') return retry();
    const progress = await this.deps.progress.get(user, context);
    const planned = this.deps.plan.stepsFor(progress?.profile);
    const target = planned.find((p) => p.step.id === expect.stepId);
    if (!target) return retry();
    return MessageFactory.attachment(
      stepCard({
        planned: target,
        total: planned.length,
        notes: this.deps.plan.notesFor(target.step, progress, language),
        language,
        text: t,
        currentValue: target.step.collects === 'signInOption' ? progress?.values.signInOption : undefined
      }, this.deps.cards)
    );
  }

  /** A value that does not validate gets its exact problem explained, and the step is asked again. */
  private async validate(pc: PromptValidatorContext<PromptAnswer>): Promise<boolean> {
    if (!pc.recognized.succeeded || pc.recognized.value?.kind !== 'step') return false;
    const expect = (pc.options as AnswerPromptOptions).validations;
    if (expect.kind !== 'step') return false;
    const { user, language } = turnInfo(pc.context);
    const progress = await this.deps.progress.get(user, pc.context);
    const planned = this.deps.plan.find(expect.stepId, progress?.profile);
    if (!planned) return true;
    const check = checkStepValue(planned.step, pc.recognized.value.choice, pc.recognized.value.value, progress);
    if (check.ok) return true;
    const kept = check.keep;
    if (kept) await this.deps.progress.update(user, (p) => keepValue(p, kept));
    // What is wrong, with the step's buttons under it (the prompt does not ask again once this turn has replied).
    const explanation = this.deps.content.text.t(language, check.messageKey, check.vars);
    await pc.context.sendActivity(
      MessageFactory.attachment(stepReminderCard({ stepId: expect.stepId, collects: expect.collects, language, text: this.deps.content.text, explanation }))
    );
    return false;
  }

  private async handle(step: WaterfallStepContext) {
    const { user, language } = turnInfo(step.context);
    const answer = step.result as PromptAnswer;
    const stepId = (step.values as { stepId: string }).stepId;
    const visited = ((step.options ?? {}) as PhaseOptions).visited ?? [];
    const progress = await this.deps.progress.get(user, step.context);
    const planned = this.deps.plan.find(stepId, progress?.profile);
    if (answer.kind !== 'step' || !planned) return step.replaceDialog(this.id, { visited });
    const t = this.deps.content.text;
    if (answer.choice === 'more') {
      await this.deps.responder.sendAnswer(step.context, planned.step.learnMore[0]!, language, 'button');
      return step.replaceDialog(this.id, { startAt: stepId, visited });
    }
    const title = planned.step[language].title;
    // "Skip" on a step already done (reached with "go back" or the progress card) moves on; it does not
    // turn a finished step into a skipped one.
    if (answer.choice === 'skip' && progress?.steps[stepId]?.status === 'done') {
      return step.replaceDialog(this.id, { visited: [...visited, stepId], notice: t.t(language, 'step.keptDone', { title }) });
    }
    const check = checkStepValue(planned.step, answer.choice, answer.value, progress);
    const value = check.ok ? check.value : undefined;
    const status = STATUS_FOR_CHOICE[answer.choice];
    await recordStep(this.deps.progress, user, stepId, status, value, step.context.activity.id);
    const said = [t.t(language, status === 'done' ? 'step.markedDone' : status === 'later' ? 'step.markedLater' : 'step.markedSkipped', { title })];
    if (value && value.kind !== 'signInOption') said.push(t.t(language, value.savedKey ?? 'step.valueSaved', { masked: value.shown }));
    return step.replaceDialog(this.id, { visited: [...visited, stepId], notice: said.join(' ') });
  }
}
