import type { Attachment } from 'botbuilder';
import type { Language } from '../src/content/schema.js';
import { cardAttachment, type CardMemo, type SubmitButton } from './renderCard.js';

export interface ChoicesCardInput {
  language: Language;
  title?: string;
  text?: string;
  note?: string;
  buttons: SubmitButton[];
}

/** A message with buttons: menus, yes/no questions, "Did you mean…?", fallbacks. */
export function choicesCard(input: ChoicesCardInput, memo?: CardMemo): Attachment {
  return memo ? memo.get(`choices\u0000${JSON.stringify(input)}`, () => buildChoicesCard(input)) : buildChoicesCard(input);
}

function buildChoicesCard(input: ChoicesCardInput): Attachment {
  const lines = [input.title, input.text, input.note].filter(Boolean) as string[];
  const options = input.buttons.map((b, i) => `${i + 1}. ${b.title}`);
  return cardAttachment('choices', {
    lang: input.language,
    fallbackText: [...lines, ...options].join('\n'),
    title: input.title ?? '',
    text: input.text ?? '',
    note: input.note ?? '',
    buttons: input.buttons
  });
}
