import type { Attachment } from 'botbuilder';
import type { Language } from '../src/content/schema.js';
import type { UiText } from '../src/content/uiText.js';
import type { PlannedStep } from '../src/onboarding/onboardingPlan.js';
import { button, cardAttachment, type CardMemo } from './renderCard.js';

export interface StepCardInput {
  planned: PlannedStep;
  total: number;
  notes: string[];
  language: Language;
  text: UiText;
  /** The sign-in option already chosen, preselected in the card. */
  currentValue?: string;
}

const SIGN_IN_OPTIONS = ['gckey', 'sign-in-partner', 'undecided'] as const;

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
      choices: SIGN_IN_OPTIONS.map((v) => ({ title: text.t(lang, `value.signInOption.${v}`), value: v }))
    };
  }
  const phaseLine = text.t(lang, 'phase.header', { number: planned.phaseNumber, title: planned.phase.title[lang] });
  const counter = text.t(lang, 'step.counter', { number: planned.number, total: input.total });
  const buttons = [
    button(text.t(lang, 'step.buttonDone'), { action: 'step', stepId, choice: 'done' }, 'positive'),
    button(text.t(lang, 'step.buttonLater'), { action: 'step', stepId, choice: 'later' }),
    button(text.t(lang, 'step.buttonMore'), { action: 'step', stepId, choice: 'more' }),
    button(text.t(lang, 'step.buttonSkip'), { action: 'step', stepId, choice: 'skip' })
  ];
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
