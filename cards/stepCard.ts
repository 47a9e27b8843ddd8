import type { Attachment } from 'botbuilder';
import type { Language, StepValueKind } from '../src/content/schema.js';
import type { UiText } from '../src/content/uiText.js';
import type { PlannedStep } from '../src/onboarding/onboardingPlan.js';
import { SignInOption } from '../src/onboarding/onboardingProgress.js';
import type { StepChoice } from './cardActions.js';
import { button, cardAttachment, type CardMemo, type SubmitButton } from './renderCard.js';
import { choicesCard } from './choicesCard.js';

export interface StepCardInput {
  planned: PlannedStep;
  total: number;
  notes: string[];
  language: Language;
  text: UiText;
  /** The sign-in option already chosen, preselected in the card. */
  currentValue?: string;
}

/**
 * A step's answer buttons: Done (at the sign-in step, in the reminder, one Done per option), Not yet,
 * Tell me more, Skip.
 */
function stepButtons(stepId: string, lang: Language, text: UiText, signInOptions: readonly SignInOption[] = []): SubmitButton[] {
  const choose = (choice: StepChoice, value?: string) => ({ action: 'step' as const, stepId, choice, ...(value ? { value } : {}) });
  const done =
    signInOptions.length > 0
      ? signInOptions.map((option) => button(text.t(lang, `value.signInOption.${option}`), choose('done', option), 'positive'))
      : [button(text.t(lang, 'step.buttonDone'), choose('done'), 'positive')];
  return [
    ...done,
    button(text.t(lang, 'step.buttonLater'), choose('later')),
    button(text.t(lang, 'step.buttonMore'), choose('more')),
    button(text.t(lang, 'step.buttonSkip'), choose('skip'))
  ];
}

export interface StepReminderInput {
  stepId: string;
  collects: StepValueKind;
  language: Language;
  text: UiText;
  /** Said instead of the reminder: what was wrong with a value. */
  explanation?: string;
}

/**
 * The reminder when a message answers nothing: what to choose, with the step's buttons, since the card
 * that has them may be far up the conversation. At the sign-in step the buttons are the options.
 */
export function stepReminderCard(input: StepReminderInput, memo?: CardMemo): Attachment {
  const { stepId, collects, language, text } = input;
  const signIn = collects === 'signInOption';
  const buttons = stepButtons(stepId, language, text, signIn ? SignInOption.options.filter((o) => o !== 'undecided') : []);
  return choicesCard({ language, text: input.explanation ?? text.t(language, signIn ? 'step.retrySignIn' : 'step.retry'), buttons }, memo);
}

/** One onboarding step: what to do, why, what done means, the official link, and the four answers. */
export function stepCard(input: StepCardInput, memo?: CardMemo): Attachment {
  if (!memo) return buildStepCard(input);
  const { planned, total, notes, language, currentValue } = input;
  return memo.get(['step', planned.step.id, language, planned.number, total, currentValue ?? '', ...notes].join('\u0000'), () => buildStepCard(input));
}

function buildStepCard(input: StepCardInput): Attachment {
  const { planned, language: lang, text } = input;
  const step = planned.step;
  const words = step[lang];
  const stepId = step.id;
  let inputField: Record<string, unknown> = { kind: 'none' };
  if (step.collects === 'businessNumber' || step.collects === 'programAccount') {
    inputField = {
      kind: 'text',
      label: text.t(lang, `value.${step.collects}.label`),
      placeholder: text.t(lang, `value.${step.collects}.placeholder`)
    };
  } else if (step.collects === 'signInOption') {
    inputField = {
      kind: 'choice',
      label: text.t(lang, 'value.signInOption.label'),
      value: input.currentValue ?? '',
      choices: SignInOption.options.map((v) => ({ title: text.t(lang, `value.signInOption.${v}`), value: v }))
    };
  }
  const phaseLine = text.t(lang, 'phase.header', { number: planned.phaseNumber, title: planned.phase.title[lang] });
  const counter = text.t(lang, 'step.counter', { number: planned.number, total: input.total });
  const buttons = stepButtons(stepId, lang, text);
  return cardAttachment('step', {
    lang,
    fallbackText: [
      `${phaseLine} · ${counter}`,
      words.title,
      words.explanation,
      `${text.t(lang, 'step.why')}: ${words.why}`,
      `${text.t(lang, 'step.done')}: ${words.done}`,
      ...input.notes,
      step.link[lang],
      buttons.map((b) => b.title).join(' | ')
    ].join('\n\n'),
    phaseLine,
    counter,
    title: words.title,
    explanation: words.explanation,
    whyLabel: text.t(lang, 'step.why'),
    why: words.why,
    doneLabel: text.t(lang, 'step.done'),
    done: words.done,
    noteLabel: text.t(lang, 'step.note'),
    notes: input.notes.map((n) => ({ text: n })),
    input: inputField,
    buttons,
    linkLabel: text.t(lang, 'step.link'),
    link: step.link[lang]
  });
}
