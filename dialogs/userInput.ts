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

/** The one kind some clause says (`says`); none when no clause does, or clauses say different kinds. */
function onlyKind<Kind extends string>(clauses: readonly string[], kinds: readonly Kind[], says: (clause: string, kind: Kind) => boolean): Kind | undefined {
  const found = new Set<Kind>();
  for (const clause of clauses) for (const kind of kinds) if (says(clause, kind)) found.add(kind);
  return found.size === 1 ? [...found][0] : undefined;
}

/** True when `typed` is `word` with two neighbouring letters swapped or one letter doubled. */
function oneSlip(typed: string, word: string): boolean {
  if (word.length < 3) return false;
  if (typed.length === word.length) {
    const i = [...typed].findIndex((c, k) => c !== word[k]);
    return i >= 0 && i + 1 < word.length && typed[i] === word[i + 1] && typed[i + 1] === word[i] && typed.slice(i + 2) === word.slice(i + 2);
  }
  if (typed.length !== word.length + 1) return false;
  for (let i = 1; i < typed.length; i++) {
    if (typed[i] === typed[i - 1] && typed.slice(0, i) + typed.slice(i + 1) === word) return true;
  }
  return false;
}

/** The same words, but for one slip in one of them. */
function oneSlipApart(typed: readonly string[], phrase: readonly string[]): boolean {
  if (typed.length !== phrase.length) return false;
  let slips = 0;
  for (let i = 0; i < typed.length; i++) {
    if (typed[i] === phrase[i]) continue;
    if (++slips > 1 || !oneSlip(typed[i]!, phrase[i]!)) return false;
  }
  return slips === 1;
}

/** A message read clause by clause (folded). */
interface Clauses {
  stated: string[];
  asked: string[];
  /** The asking clauses as typed (for reading the question itself). */
  askedText: string[];
}

/** Typed answers to the assistant's own questions: "done", "c'est fait", "non"… */
export class AnswerWords {
  private readonly sets = new Map<string, Set<string>>();
  /** The same words as arrays, for the phrase searches. */
  private readonly lists = new Map<string, string[]>();
  /**
   * Each kind's phrases as words, by their first word: finding phrases in a message looks up each of
   * its words once instead of scanning it for every phrase (every typed message is read for several kinds).
   */
  private readonly byFirstWord = new Map<string, Map<string, string[][]>>();
  /** Each kind's phrases as words, all together (a short message with a slip is compared with each). */
  private readonly phraseWords = new Map<string, string[][]>();
  /** The kinds that name a step's topic ("step.get-business-number.topic"). */
  private readonly stepTopics: string[];
  /** Every word of every phrase: tells an elided word typed whole ("cest") from a word of its own. */
  private readonly vocabulary = new Set<string>();

  constructor(file: AnswerWordsFile) {
    for (const [kind, langs] of Object.entries(file)) {
      const words = new Set([...langs.en, ...langs.fr].map(foldText));
      this.sets.set(kind, words);
      this.lists.set(kind, [...words]);
      const index = new Map<string, string[][]>();
      const all: string[][] = [];
      this.phraseWords.set(kind, all);
      for (const phrase of words) {
        const parts = phrase.split(' ').filter(Boolean);
        for (const part of parts) this.vocabulary.add(part);
        if (parts.length === 0) continue;
        all.push(parts);
        const list = index.get(parts[0]!) ?? [];
        list.push(parts);
        index.set(parts[0]!, list);
      }
      this.byFirstWord.set(kind, index);
    }
    this.stepTopics = this.kinds.filter((k) => k.startsWith('step.') && k.endsWith('.topic'));
  }

  /** Every place a phrase of `kind` occurs in the words, as [start, end); `first`: stop at the first. */
  private spans(words: readonly string[], kind: string, first = false): Array<[number, number]> {
    const found: Array<[number, number]> = [];
    const index = this.byFirstWord.get(kind);
    if (!index) return found;
    for (let i = 0; i < words.length; i++) {
      const candidates = index.get(words[i]!);
      if (!candidates) continue;
      for (const parts of candidates) {
        let j = 1;
        while (j < parts.length && words[i + j] === parts[j]) j++;
        if (j < parts.length) continue;
        found.push([i, i + parts.length]);
        if (first) return found;
      }
    }
    return found;
  }

  /**
   * The message folded (case, accents, punctuation), with French elisions typed without their
   * apostrophe restored where the phrases need it: "cest moi" → "c est moi", "jai clique" → "j ai
   * clique". A word is split only when it is no phrase's word and what follows the letter is one.
   */
  private fold(text: string): string {
    // A turn reads its one message for a dozen kinds: fold it once.
    if (this.lastFold?.text === text) return this.lastFold.folded;
    let folded = foldText(text);
    if (/\b(?:qu|[cdjlmnst])[aeiouyh]/.test(folded)) {
      folded = folded
        .split(' ')
        .map((word) => {
          const elided = /^(qu|[cdjlmnst])([aeiouyh][a-z]*)$/.exec(word);
          return elided && elided[2]!.length >= 2 && !this.vocabulary.has(word) && this.vocabulary.has(elided[2]!) ? `${elided[1]} ${elided[2]}` : word;
        })
        .join(' ');
    }
    this.lastFold = { text, folded };
    return folded;
  }

  private lastFold?: { text: string; folded: string };

  /**
   * The first kind whose words match the whole message (folded), among those asked for. A short
   * message with one slip of the thumb still matches: two letters swapped or one doubled ("yse",
   * "nto yet", "donee"), in a word of three letters or more. Not a letter changed: "none" is not "done".
   */
  match<Kind extends string>(text: string, kinds: readonly Kind[]): Kind | undefined {
    const folded = this.fold(text);
    if (!folded) return undefined;
    const exact = kinds.find((k) => this.sets.get(k)?.has(folded));
    if (exact || folded.length > 24) return exact;
    const words = folded.split(' ');
    const slipped = kinds.filter((k) => this.phraseWords.get(k)?.some((parts) => oneSlipApart(words, parts)));
    return slipped.length === 1 ? slipped[0] : undefined;
  }

  /**
   * A statement that answers one of our questions without its usual words: which of `kinds` has a
   * phrase in the message ("we use Livingston as our broker" → `profile.broker.yes`; "our broker
   * already has access" → `step.approve-broker-delegation.done`). Read clause by clause: a clause
   * that is a question is left out ("we're registered, what now?" still says done), a phrase
   * negated elsewhere in its clause does not count, and a message that matches two kinds answers nothing.
   */
  statement<Kind extends string>(text: string, kinds: readonly Kind[]): Kind | undefined {
    const { stated, asked } = this.clausesOf(text);
    // "We bank with TD, does that work for Sign-In Partner?": the statement is the question's premise.
    if (asked.some((folded) => kinds.some((kind) => this.phraseIn(folded, kind)))) return undefined;
    return onlyKind(stated, kinds, (clause, kind) => this.phraseIn(clause, kind));
  }

  /**
   * The one kind among `kinds` that a stated clause says in so many words ("got the daily notices ready,
   * done" → done): a clause equal to one of its words. None when clauses say different kinds.
   */
  clauseSays<Kind extends string>(text: string, kinds: readonly Kind[]): Kind | undefined {
    return onlyKind(this.clausesOf(text).stated, kinds, (clause, kind) => this.sets.get(kind)?.has(clause) ?? false);
  }

  /** The message's clauses, kept for the last message read: a turn reads one message for several kinds. */
  private lastClauses?: { text: string; clauses: Clauses };

  private clausesOf(text: string): Clauses {
    if (this.lastClauses?.text !== text) this.lastClauses = { text, clauses: this.readClauses(text) };
    return this.lastClauses.clauses;
  }

  /**
   * The folded clauses of the message, those that state something and those that ask. A sentence that
   * opens with a question word asks, so does the last clause of one that ends with "?", and so does a
   * later clause that opens with a question ("we bank with TD, does that work…"). "We're registered,
   * what now?" states "we're registered"; "Maria, our controller, is going to be the BAM" is stated
   * whole. A message that opens with a question states nothing, whatever follows ("can I use a
   * Sign-In Partner? we bank with Chase").
   */
  private readClauses(text: string): Clauses {
    const stated: string[] = [];
    const asked: string[] = [];
    const askedText: string[] = [];
    const ask = (folded: string, typed: string) => {
      asked.push(folded);
      askedText.push(typed.trim());
    };
    let first = true;
    for (const typedSentence of text.split(/(?<=[.!?;\n])/)) {
      const sentence = this.commaBeforeQuestionTurn(typedSentence);
      const parts = sentence.split(',').map((typed) => ({ typed, folded: this.fold(typed) })).filter((p) => p.folded);
      if (parts.length === 0) continue;
      const endsAsking = sentence.trim().endsWith('?');
      if (this.startsWithAny(parts[0]!.folded, 'question-first') || (parts.length === 1 && endsAsking)) {
        if (first) return { stated: [], asked: [this.fold(text)], askedText: [text.trim()] };
        asked.push(...parts.map((p) => p.folded));
        askedText.push(sentence.trim());
        continue;
      }
      first = false;
      const last = endsAsking ? parts.pop() : undefined;
      for (const { typed, folded } of parts) {
        if (this.startsWithAny(folded, 'question-inside')) ask(folded, typed);
        else stated.push(folded);
      }
      if (last !== undefined) ask(last.folded, last.typed);
    }
    return { stated, asked, askedText };
  }

  /**
   * A sentence ending with "?" whose question starts mid-way without a comma ("on prend la CléGC mais si
   * j'oublie mon mot de passe?"): a comma is put where it starts (a `question-turn` phrase), so the part
   * before it is read as stated. Otherwise the sentence as typed.
   */
  private commaBeforeQuestionTurn(sentence: string): string {
    if (!sentence.trim().endsWith('?')) return sentence;
    const index = this.byFirstWord.get('question-turn');
    const tokens = sentence.trim().split(/\s+/);
    for (let i = 1; i < tokens.length; i++) {
      if (tokens[i - 1]!.endsWith(',') || !index?.has(this.fold(tokens[i]!).split(' ')[0] ?? '')) continue;
      if (this.startsWithAny(this.fold(tokens.slice(i).join(' ')), 'question-turn')) return `${tokens.slice(0, i).join(' ')}, ${tokens.slice(i).join(' ')}`;
    }
    return sentence;
  }

  /**
   * The question asked after something stated ("we'll use GCKey, but what if I forget my password?"
   * → "but what if I forget my password?"), as typed; none when the message only states or only asks.
   */
  questionAfterStatement(text: string): string | undefined {
    const { stated, askedText } = this.clausesOf(text);
    return stated.length > 0 && askedText.length > 0 ? askedText.join(' ') : undefined;
  }

  /**
   * True when a clause of the message says the step is done in general words: a `completion` word
   * and one of the step's `topic` words ("I found our business number"). Not in a question, not
   * negated, and not when the message names a problem ("registered, but got an error").
   */
  settlesStep(text: string, stepId: string): boolean {
    if (this.hasAny(this.fold(text), 'problem')) return false;
    for (const folded of this.clausesOf(text).stated) {
      if (this.hasAny(folded, `step.${stepId}.topic`) && this.hasAny(folded, 'completion') && !this.hasAny(folded, 'negation') && !this.aboutAnotherStep(folded, stepId)) return true;
    }
    return false;
  }

  /**
   * True when the clause names another step's own topic ("the affinity stuff is ready", said at the
   * broker step): it is about that step, not this one. Words several steps share do not count.
   */
  private aboutAnotherStep(folded: string, stepId: string): boolean {
    const words = folded.split(' ').filter(Boolean);
    const generic = this.sets.get('generic-topic');
    const own = this.sets.get(`step.${stepId}.topic`);
    for (const kind of this.stepTopics) {
      if (kind === `step.${stepId}.topic`) continue;
      for (const [start, end] of this.spans(words, kind)) {
        const phrase = words.slice(start, end).join(' ');
        if (!generic?.has(phrase) && !own?.has(phrase)) return true;
      }
    }
    return false;
  }

  /** A phrase of `kind` in the folded text, as whole words. */
  private hasAny(folded: string, kind: string): boolean {
    return this.hasAnyIn(folded.split(' ').filter(Boolean), kind);
  }

  private hasAnyIn(words: readonly string[], kind: string): boolean {
    return this.spans(words, kind, true).length > 0;
  }

  /** True when the message opens with a phrase of `kind`. */
  opensWith(text: string, kind: string): boolean {
    return this.startsWithAny(this.fold(text), kind);
  }

  /** True when the message asks something: a "?" or a question word first ("what counts as based in Canada"). */
  asks(text: string): boolean {
    return text.includes('?') || this.startsWithAny(this.fold(text), 'question-first');
  }

  /** True when a phrase of `kind` is anywhere in the message, as whole words ("this is too complicated"). */
  mentions(text: string, kind: string): boolean {
    return this.hasAny(this.fold(text), kind);
  }

  /** True for a request to act for the user ("can you register my company for me?", "peux-tu le faire à ma place"). */
  asksUsToAct(text: string): boolean {
    const folded = this.fold(text);
    return this.startsWithAny(folded, 'request-first') && this.hasAny(folded, 'on-their-behalf');
  }

  /** The kinds of words this file defines (content checks that keyed phrases name real questions and steps). */
  get kinds(): string[] {
    return [...this.sets.keys()];
  }

  /** A phrase of `kind` in the message as whole words, with no negation in the rest of it. */
  private phraseIn(folded: string, kind: string): boolean {
    const words = folded.split(' ').filter(Boolean);
    for (const [start, end] of this.spans(words, kind)) {
      if (!this.hasAnyIn([...words.slice(0, start), ...words.slice(end)], 'negation')) return true;
    }
    return false;
  }

  private startsWithAny(folded: string, kind: string): boolean {
    // No `${w} ` per word: typed messages are checked against several lists every turn.
    return (this.lists.get(kind) ?? []).some((w) => folded.startsWith(w) && (folded.length === w.length || folded.charCodeAt(w.length) === 32));
  }

  /**
   * True when the message gives a password or code: a secret's name (`secret-marker`), maybe "is" or
   * ":", then a word with a digit, a symbol or mixed case ("password is Hunter2!", "mdp: Bonjour123").
   * "My password expired" or "what's a PIN?" are questions, not secrets.
   */
  givesSecret(text: string): boolean {
    // Most messages name no secret: one fold and a look-up settle them.
    if (!this.mentions(text, 'secret-marker')) return false;
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

  /**
   * True when the message gives what the portal's affinity questions ask: an affinity word
   * (`affinity-marker`: balance, last payment, transaction number…) and an amount of money or a
   * transaction-length number. "Our balance is zero, what do I enter?" and "we pay about 20 000 $ a
   * month in duties, how big a bond?" are questions, not answers.
   */
  givesAffinityValue(text: string): boolean {
    const money = /\$\s?\d|\d[\d\s,.]*\s?\$|\d[\d\s,.]*\s?(?:dollars?|cad)\b|\b\d+(?:[ ,]\d{3})*[.,]\d{2}\b/i;
    if (!money.test(text) && !/\d{14,}/.test(text.replace(/[\s-]/g, ''))) return false;
    return this.mentions(text, 'affinity-marker');
  }

  /** The first kind whose words include the message's first word (folded), among those asked for. */
  matchFirstWord<Kind extends string>(text: string, kinds: readonly Kind[]): Kind | undefined {
    const first = this.fold(text).split(' ')[0];
    if (!first) return undefined;
    return kinds.find((k) => this.sets.get(k)?.has(first));
  }

  /**
   * True when the message names another profile question's topic and none of this one's words ("No RM
   * account yet" said to the broker question): its yes or no belongs to the other question.
   */
  aboutAnotherQuestion(text: string, question: string): boolean {
    const folded = this.fold(text);
    if ([`${question}.topic`, `${question}.yes`, `${question}.no`].some((k) => this.hasAny(folded, k))) return false;
    return this.kinds.some((k) => k !== `${question}.topic` && k.startsWith('profile.') && k.endsWith('.topic') && this.hasAny(folded, k));
  }

  /** The first kind whose words are the message's whole last clause ("we have a Canadian customs broker, yes"). */
  matchLastClause<Kind extends string>(text: string, kinds: readonly Kind[]): Kind | undefined {
    const clauses = text.split(/[,.;!]/).map((c) => c.trim()).filter(Boolean);
    return clauses.length > 1 ? this.match(clauses[clauses.length - 1]!, kinds) : undefined;
  }

  /** The first kind whose words are the message's whole first clause ("je pense que oui, on a un RM"). */
  matchFirstClause<Kind extends string>(text: string, kinds: readonly Kind[]): Kind | undefined {
    const clause = text.split(/[,.;!?]/)[0] ?? '';
    return clause.length < text.trim().length ? this.match(clause, kinds) : undefined;
  }
}
