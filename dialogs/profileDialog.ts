import { WaterfallDialog, type Dialog, type WaterfallStepContext } from 'botbuilder-dialogs';
import { MessageFactory, type Activity, type TurnContext } from 'botbuilder';
import { profileAnswerKey, type ImporterProfile, type ProfileQuestion as Question } from '../src/content/schema.js';
import { choicesCard } from '../cards/choicesCard.js';
import { button } from '../cards/renderCard.js';
import { AnswerPrompt, type AnswerExpectation, type AnswerPromptOptions, type PromptAnswer } from './answerPrompt.js';
import { turnInfo } from './turnContext.js';
import type { ConversationDeps } from './conversationDeps.js';

export const PROFILE_DIALOG = 'importerProfile';
const PROMPT = 'importerProfile.answer';

/**
 * Three yes/no questions that personalise the checklist: resident, broker, RM account. A waterfall
 * with its own question, both on the conversation's one dialog stack (no component nesting).
 */
export class ProfileDialog extends WaterfallDialog {
  readonly prompt: AnswerPrompt;

  constructor(private readonly deps: ConversationDeps) {
    super(PROFILE_DIALOG);
    this.prompt = new AnswerPrompt(PROMPT, deps.content.answerWords, async (context, expect, isRetry) => this.draw(context, expect, isRetry));
    this.addStep((s) => this.ask(s, 'resident'));
    this.addStep((s) => this.record(s, 'resident', 'broker'));
    this.addStep((s) => this.record(s, 'broker', 'rm'));
    this.addStep((s) => this.record(s, 'rm'));
  }

  /** This dialog and the one it begins. */
  get dialogs(): Dialog[] {
    return [this, this.prompt];
  }

  private async ask(step: WaterfallStepContext, question: Question, lead?: string) {
    const options: AnswerPromptOptions = { validations: { kind: 'yesNo', question: `profile.${question}` }, lead };
    return step.prompt(PROMPT, options);
  }

  /** The yes/no card; a retry says what is expected above the same buttons. */
  private draw(context: TurnContext, expect: AnswerExpectation, isRetry: boolean): Partial<Activity> {
    const { language } = turnInfo(context);
    const t = (k: string) => this.deps.content.text.t(language, k);
    const question = expect.kind === 'yesNo' ? expect.question : 'profile.resident';
    return MessageFactory.attachment(
      choicesCard({
        language,
        text: t(question),
        note: isRetry ? this.retryNote(context, question) : undefined,
        buttons: [
          button(t(`${question}.yes`), { action: 'choose', question, value: 'yes' }),
          button(t(`${question}.no`), { action: 'choose', question, value: 'no' })
        ]
      }, this.deps.cards)
    );
  }

  /** "Not sure", or a question about the question: what it means; anything else: how to answer. */
  private retryNote(context: TurnContext, question: string): string {
    const words = this.deps.content.answerWords;
    const typed = turnInfo(context).input.text;
    const t = (k: string) => this.deps.content.text.t(turnInfo(context).language, k);
    if (typed && words.aboutAnotherQuestion(typed, question)) return t('profile.oneAtATime');
    return typed && (words.mentions(typed, 'unsure') || words.asks(typed)) ? t(`${question}.help`) : t('profile.retry');
  }

  private noted(context: TurnContext, question: Question, yes: boolean): string {
    const { language } = turnInfo(context);
    const text = this.deps.content.text;
    return text.t(language, 'profile.noted', { answer: text.t(language, profileAnswerKey(question, yes)) });
  }

  private async record(step: WaterfallStepContext, answered: Question, next?: Question) {
    const answer = step.result as PromptAnswer;
    const values = step.values as Partial<Record<Question, boolean>>;
    values[answered] = answer.kind === 'yesNo' && answer.yes;
    // An answer read from a sentence is said back, so a misreading is seen (and "start over" fixes it).
    const noted = answer.kind === 'yesNo' && answer.stated ? this.noted(step.context, answered, answer.yes) : undefined;
    if (next) return this.ask(step, next, noted);
    if (noted) await step.context.sendActivity(noted);
    const profile: ImporterProfile = { resident: !!values.resident, usesBroker: !!values.broker, hasRmAccount: !!values.rm };
    return step.endDialog(profile);
  }
}
