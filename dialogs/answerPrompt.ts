import {
  Prompt,
  type PromptOptions,
  type PromptRecognizerResult,
  type PromptValidator,
  type DialogContext
} from 'botbuilder-dialogs';
import { InputHints, type Activity, type TurnContext } from 'botbuilder';
import type { StepValueKind } from '../src/content/schema.js';
import { SignInOption } from '../src/onboarding/onboardingProgress.js';
import type { StepChoice } from '../cards/cardActions.js';
import type { AnswerWords } from './userInput.js';
import { turnInfo } from './turnContext.js';

/** What the open question accepts; kept in dialog state, so plain data only. */
export type AnswerExpectation =
  | { kind: 'step'; stepId: string; collects: StepValueKind }
  | { kind: 'yesNo'; question: string };

export type PromptAnswer =
  | { kind: 'step'; choice: StepChoice; value?: string }
  /** `stated`: read from a sentence without yes or no ("we use Livingston as our broker"), so worth confirming. */
  | { kind: 'yesNo'; yes: boolean; stated?: boolean };

/**
 * What an open question keeps in dialog state: what it accepts and a short lead-in. The card itself
 * is drawn each time the question is shown (by the dialog that owns it), so conversation state stays
 * small, and a question asked again shows current progress in the current language.
 */
export interface AnswerPromptOptions extends PromptOptions {
  validations: AnswerExpectation;
  /** Said with the first showing of the prompt only (not when it is asked again after an interruption). */
  lead?: string;
}

/** Draws the question: a card the first time and after an interruption, a short hint on a retry. */
export type DrawQuestion = (context: TurnContext, expect: AnswerExpectation, isRetry: boolean) => Promise<Partial<Activity>>;

const SIGN_IN_OPTIONS = SignInOption.options;

const IDENTIFIER_ATTEMPT = /^[\d\s.-]*\d[\d\s.-]*(?:[a-z]{2}[\s.-]*\d[\d\s.-]*)?$/i;
/** A number inside a sentence ("my BN is 123 456 782"), maybe followed by RM and more digits. */
const IDENTIFIER_IN_TEXT = /\d(?:[\d\s-]|\.(?=\d))*\d(?:[\s.-]*[a-z]{2}[\s.-]*\d[\d\s.-]*\d)?/gi;

/**
 * The number a person typed at a step that collects one: the whole message when it is only a number
 * (so a typo gets its exact explanation), or the one number of 9 or more digits in a short sentence
 * (a date or a count in a question is not an answer). Two such numbers are not an answer either.
 */
export function identifierTyped(text: string): string | undefined {
  if (text.length <= 30 && IDENTIFIER_ATTEMPT.test(text)) return text;
  if (text.length > 160) return undefined;
  const found = (text.match(IDENTIFIER_IN_TEXT) ?? []).filter((m) => m.replace(/\D/g, '').length >= 9);
  return found.length === 1 ? found[0]!.trim() : undefined;
}

/**
 * Reads the answer to one of our questions from a card submit or typed text. Plain botbuilder
 * prompts read activity.text only, and a card submit has none.
 */
export function interpretAnswer(expect: AnswerExpectation, context: TurnContext, words: AnswerWords): PromptAnswer | undefined {
  const { input } = turnInfo(context);
  const action = input.action;
  if (expect.kind === 'step') {
    if (action) {
      if (action.action !== 'step' || action.stepId !== expect.stepId) return undefined;
      // "Not decided yet" is not a sign-in option chosen: the step waits, whatever button sent it.
      if (action.value === 'undecided' && action.choice === 'done') return { kind: 'step', choice: 'later', value: action.value };
      return { kind: 'step', choice: action.choice, value: action.value };
    }
    const text = input.text;
    if (expect.collects === 'businessNumber' || expect.collects === 'programAccount') {
      const value = identifierTyped(text);
      if (value) return { kind: 'step', choice: 'done', value };
    }
    if (expect.collects === 'signInOption') {
      // "GCKey", or a sentence naming one: "sign-in partner through our bank". "GCKey?" asks about it.
      const option = (text.trim().endsWith('?') ? undefined : words.match(text, SIGN_IN_OPTIONS)) ?? words.statement(text, SIGN_IN_OPTIONS);
      if (option) return { kind: 'step', choice: option === 'undecided' ? 'later' : 'done', value: option };
    }
    const choice = words.match(text, ['more', 'skip', 'later', 'done']) as StepChoice | undefined;
    if (choice) return { kind: 'step', choice };
    const stated =
      words.statement(text, [`step.${expect.stepId}.done`, `step.${expect.stepId}.later`]) ?? words.statement(text, ['step.any.done', 'step.any.later']);
    if (stated) return { kind: 'step', choice: stated.endsWith('.done') ? 'done' : 'later' };
    const said = words.clauseSays(text, ['done', 'later'] as const);
    if (said) return { kind: 'step', choice: said };
    return words.settlesStep(text, expect.stepId) ? { kind: 'step', choice: 'done' } : undefined;
  }
  if (action) {
    return action.action === 'choose' && action.question === expect.question && (action.value === 'yes' || action.value === 'no')
      ? { kind: 'yesNo', yes: action.value === 'yes' }
      : undefined;
  }
  // "No RM account yet" said to the broker question: its "no" is about the RM account, not this question.
  if (words.aboutAnotherQuestion(input.text, expect.question)) return undefined;
  const yn =
    words.match(input.text, ['yes', 'no']) ??
    words.matchFirstWord(input.text, ['yes-first', 'no-first']) ??
    words.matchFirstClause(input.text, ['yes', 'no']) ??
    (words.asks(input.text) ? undefined : words.matchLastClause(input.text, ['yes', 'no']));
  if (yn) return { kind: 'yesNo', yes: yn === 'yes' || yn === 'yes-first' };
  const stated = words.statement(input.text, [`${expect.question}.yes`, `${expect.question}.no`]);
  return stated ? { kind: 'yesNo', yes: stated.endsWith('.yes'), stated: true } : undefined;
}

/** The open question's expectation: the conversation's dialogs share one stack, the question on top. */
function openQuestion(dc: DialogContext): AnswerExpectation | undefined {
  return (dc.activeDialog?.state as { options?: Partial<AnswerPromptOptions> } | undefined)?.options?.validations;
}

/**
 * The turn's reading of the open question's answer: the router asks first, then the prompt does when
 * it continues, and typed sentences are not cheap to read (keyed by the question's saved options).
 */
const READ_ANSWER = Symbol('readAnswer');

function readAnswerOnce(expect: AnswerExpectation, context: TurnContext, words: AnswerWords): PromptAnswer | undefined {
  const read = context.turnState.get(READ_ANSWER) as { expect: AnswerExpectation; answer: PromptAnswer | undefined } | undefined;
  if (read?.expect === expect) return read.answer;
  const answer = interpretAnswer(expect, context, words);
  context.turnState.set(READ_ANSWER, { expect, answer });
  return answer;
}

/** The step the open question is about, if it is a step's. */
export function openStepId(dc: DialogContext): string | undefined {
  const expect = openQuestion(dc);
  return expect?.kind === 'step' ? expect.stepId : undefined;
}

/** True when the innermost open question would take this turn's input as its answer. */
export function openQuestionAccepts(dc: DialogContext, words: AnswerWords): boolean {
  const expect = openQuestion(dc);
  return !!expect && readAnswerOnce(expect, dc.context, words) !== undefined;
}

export class AnswerPrompt extends Prompt<PromptAnswer> {
  constructor(
    dialogId: string,
    private readonly words: AnswerWords,
    private readonly draw: DrawQuestion,
    validator?: PromptValidator<PromptAnswer>
  ) {
    super(dialogId, validator);
  }

  protected async onPrompt(context: TurnContext, _state: object, options: PromptOptions, isRetry: boolean): Promise<void> {
    const { validations, lead } = options as AnswerPromptOptions;
    let activity = await this.draw(context, validations, isRetry);
    if (lead && !isRetry) {
      activity = { ...activity, text: activity.text ? `${lead}\n\n${activity.text}` : lead };
      // Said once: the options are the prompt's saved state.
      delete (options as AnswerPromptOptions).lead;
    }
    await context.sendActivity({ inputHint: InputHints.ExpectingInput, ...activity });
  }

  protected async onRecognize(context: TurnContext, _state: object, options: PromptOptions): Promise<PromptRecognizerResult<PromptAnswer>> {
    const expect = (options as AnswerPromptOptions).validations;
    const value = readAnswerOnce(expect, context, this.words);
    return value ? { succeeded: true, value } : { succeeded: false };
  }
}
