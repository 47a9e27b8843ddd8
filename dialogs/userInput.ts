import type { Activity } from 'botbuilder';
import { z } from 'zod';
import { foldText } from '../src/content/lexicon.js';
import { CardAction } from '../cards/cardActions.js';

/** A message reduced to what the conversation needs: typed text and/or a card button's action. */
export interface UserInput {
  text: string;
  action?: CardAction;
  /** A card submit we could not read (an old or foreign card). */
  unreadableSubmit?: boolean;
}

export const MAX_TEXT_LENGTH = 1000;

/** Reads text and card submits the same way for Teams (messageBack) and Web Chat (Action.Submit). */
export function readUserInput(activity: Partial<Activity>): UserInput {
  const text = typeof activity.text === 'string' ? activity.text.trim() : '';
  let raw: unknown = activity.value;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      raw = undefined;
    }
  }
  if (raw === undefined || raw === null) return { text };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { text, unreadableSubmit: true };
  const { msteams, ...rest } = raw as Record<string, unknown>;
  const teamsValue = (msteams as { value?: unknown } | undefined)?.value;
  const merged = { ...(teamsValue && typeof teamsValue === 'object' ? teamsValue : {}), ...rest } as Record<string, unknown>;
  // Empty inputs arrive as "" from Web Chat and Teams: treat them as not given.
  for (const [k, v] of Object.entries(merged)) if (v === '') delete merged[k];
  const parsed = CardAction.safeParse(merged);
  if (!parsed.success) return { text: '', unreadableSubmit: true };
  return { text: '', action: parsed.data };
}

export const AnswerWordsFile = z.record(z.string(), z.object({ en: z.array(z.string()), fr: z.array(z.string()) }));
export type AnswerWordsFile = z.infer<typeof AnswerWordsFile>;

/** Typed answers to the assistant's own questions: "done", "c'est fait", "non"… */
export class AnswerWords {
  private readonly sets = new Map<string, Set<string>>();
  /** The same words as arrays, for the phrase searches. */
  private readonly lists = new Map<string, string[]>();

  constructor(file: AnswerWordsFile) {
    for (const [kind, langs] of Object.entries(file)) {
      const words = new Set([...langs.en, ...langs.fr].map(foldText));
      this.sets.set(kind, words);
      this.lists.set(kind, [...words]);
    }
  }

  /** The first kind whose words match the whole message (folded), among those asked for. */
  match(text: string, kinds: string[]): string | undefined {
    const folded = foldText(text);
    if (!folded) return undefined;
    return kinds.find((k) => this.sets.get(k)?.has(folded));
  }

  /**
   * A statement that answers one of our questions without its usual words ("we use Livingston as
   * our broker" → yes to `profile.broker`; "our broker already has access" → done at that step),
   * from the `<key>.<side>` phrases. Read clause by clause: a clause that is a question is left out
   * ("we're registered, what now?" is still done), a phrase negated elsewhere in its clause does not
   * count, and a message that reads as two sides answers nothing.
   */
  statement<Side extends string>(text: string, key: string, sides: readonly Side[]): Side | undefined {
    const found = new Set<Side>();
    for (const clause of text.split(/(?<=[.!?;,\n])/)) {
      if (clause.trim().endsWith('?')) continue;
      const folded = foldText(clause);
      if (!folded || this.startsWithAny(folded, 'question-first')) continue;
      for (const side of sides) if (this.phraseIn(folded, `${key}.${side}`)) found.add(side);
    }
    return found.size === 1 ? [...found][0] : undefined;
  }

  /** The kinds of words this file defines (content checks that keyed phrases name real questions and steps). */
  get kinds(): string[] {
    return [...this.sets.keys()];
  }

  /** A phrase of `kind` in the message as whole words, with no negation in the rest of it. */
  private phraseIn(folded: string, kind: string): boolean {
    const padded = ` ${folded} `;
    for (const phrase of this.lists.get(kind) ?? []) {
      const at = padded.indexOf(` ${phrase} `);
      if (at < 0) continue;
      const rest = `${padded.slice(0, at + 1)}${padded.slice(at + phrase.length + 1)}`;
      if (!(this.lists.get('negation') ?? []).some((n) => rest.includes(` ${n} `))) return true;
    }
    return false;
  }

  private startsWithAny(folded: string, kind: string): boolean {
    return (this.lists.get(kind) ?? []).some((w) => folded === w || folded.startsWith(`${w} `));
  }

  /**
   * True when the message gives a password or code: a secret's name (`secret-marker`), maybe "is" or
   * ":", then a word with a digit, a symbol or mixed case ("password is Hunter2!", "mdp: Bonjour123").
   * "My password expired" or "what's a PIN?" are questions, not secrets.
   */
  givesSecret(text: string): boolean {
    // Most messages name no secret: one fold and a substring check settle them.
    const whole = ` ${foldText(text)} `;
    if (!(this.lists.get('secret-marker') ?? []).some((m) => whole.includes(` ${m} `))) return false;
    const tokens = text.split(/\s+/).filter(Boolean);
    const folded = tokens.map((t) => foldText(t));
    for (let i = 0; i < tokens.length; i++) {
      for (const marker of this.lists.get('secret-marker') ?? []) {
        const words = marker.split(' ');
        if (!words.every((w, j) => folded[i + j] === w)) continue;
        // The value: the next word or two, past a connector ("is", "was", "est", ":", "=").
        for (const candidate of tokens.slice(i + words.length, i + words.length + 3)) {
          const value = candidate.replace(/^[:="'«“]+|[.,!?;:"'»”]+$/g, '');
          if (value.length >= 4 && (/\d/.test(value) || /[^\p{L}\p{N}'’-]/u.test(value) || /\p{Ll}\p{Lu}/u.test(value))) return true;
        }
      }
    }
    return false;
  }

  /** The first kind whose words include the message's first word (folded), among those asked for. */
  matchFirstWord(text: string, kinds: string[]): string | undefined {
    const first = foldText(text).split(' ')[0];
    if (!first) return undefined;
    return kinds.find((k) => this.sets.get(k)?.has(first));
  }
}
