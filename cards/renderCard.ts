import { readFileSync } from 'node:fs';
import * as ACData from 'adaptivecards-templating';
import { CardFactory, type Attachment } from 'botbuilder';
import type { CardAction } from './cardActions.js';
import { deepFreeze } from '../src/util/deepFreeze.js';
import { LruMap } from '../src/util/lruMap.js';

export type CardTemplateName = 'answer' | 'choices' | 'step' | 'progress';

const templateDir = new URL('../../cards/templates/', import.meta.url);
const templates = new Map<CardTemplateName, ACData.Template>();

function template(name: CardTemplateName): ACData.Template {
  let t = templates.get(name);
  if (!t) {
    t = new ACData.Template(JSON.parse(readFileSync(new URL(`${name}.json`, templateDir), 'utf8')));
    templates.set(name, t);
  }
  return t;
}

/** Fills a card template; the result is plain Adaptive Card 1.5 JSON. */
export function expandCard(name: CardTemplateName, data: object): Record<string, unknown> {
  return template(name).expand({ $root: data }) as Record<string, unknown>;
}

export function cardAttachment(name: CardTemplateName, data: object): Attachment {
  return CardFactory.adaptiveCard(expandCard(name, data));
}


/**
 * Cards that depend only on content and a few inputs (a step, an answer, a menu), built once per
 * key. People ask the same questions and walk the same steps, and filling a template costs far more
 * than a lookup. Shared and frozen: nothing may change a card after it is built.
 */
export class CardMemo {
  private readonly cards: LruMap<string, Attachment>;

  constructor(capacity = 2000) {
    this.cards = new LruMap(capacity);
  }

  get(key: string, build: () => Attachment): Attachment {
    let card = this.cards.get(key);
    if (!card) {
      card = deepFreeze(build());
      this.cards.set(key, card);
    }
    return card;
  }
}

/**
 * Action.Submit data: the action as an object (Teams requires an object), plus Teams' messageBack so
 * the user sees what they chose in the conversation. Web Chat sends the whole object back.
 */
export function submitData(action: CardAction, displayText: string): Record<string, unknown> {
  return { ...action, msteams: { type: 'messageBack', displayText, value: action } };
}

export interface SubmitButton {
  title: string;
  data: Record<string, unknown>;
  style?: 'default' | 'positive' | 'destructive';
}

export function button(title: string, action: CardAction, style: SubmitButton['style'] = 'default'): SubmitButton {
  return { title, data: submitData(action, title), style };
}
