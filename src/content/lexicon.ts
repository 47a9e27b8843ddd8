import { z } from 'zod';
import type { Language } from './schema.js';

const LexiconFile = z
  .object({
    /** Words that carry no meaning for matching, per language. */
    stopwords: z.object({ en: z.array(z.string()), fr: z.array(z.string()) }),
    /** Each group: spellings that mean the same thing; all become the group's first word. */
    synonyms: z.array(z.array(z.string().min(1)).min(2)),
    /** Words that only CARM and customs talk uses; a question with none of them is probably off topic. */
    domainTerms: z.array(z.string().min(2)).min(10),
    languageMarkers: z.object({ en: z.array(z.string()), fr: z.array(z.string()) })
  })
  .strict();

/** The last few texts folded: a turn folds its message several times (answer words, recognizer). */
const recentlyFolded = new Map<string, string>();

/** Lower-case, no accents, apostrophes and punctuation as spaces. */
export function foldText(text: string): string {
  const known = recentlyFolded.get(text);
  if (known !== undefined) return known;
  const folded = foldUncached(text);
  if (recentlyFolded.size >= 64) recentlyFolded.delete(recentlyFolded.keys().next().value!);
  recentlyFolded.set(text, folded);
  return folded;
}

function foldUncached(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/œ/g, 'oe')
    .replace(/æ/g, 'ae')
    .replace(/\b([ldjmntsc]|qu|jusqu|lorsqu|puisqu)['’`]/g, '$1 ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * Light suffix folding for English and French ("registering", "registered" → "register";
 * "déléguer", "délégué" → "delegu"): enough to match paraphrases without a stemmer's surprises.
 */
const SUFFIXES = ['issements', 'issement', 'ations', 'ation', 'ements', 'ement', 'ments', 'ment', 'ings', 'ing', 'ees', 'ee', 'es', 'ed', 'er', 'ez', 'e', 's'];
function stem(token: string): string {
  if (token.length <= 4 || /\d/.test(token)) return token;
  if (token.endsWith('ies')) return token.slice(0, -3) + 'y';
  for (const suffix of SUFFIXES) {
    if (token.endsWith(suffix) && token.length - suffix.length >= 4) return token.slice(0, -suffix.length);
  }
  return token;
}

/** The vocabulary knowledge: stopwords, abbreviations and synonyms, CARM terms. */
export class Lexicon {
  static readonly File = LexiconFile;
  private readonly stop: Record<Language, Set<string>>;
  private readonly single = new Map<string, string>();
  /** Multi-word synonyms by their first word, longest first. */
  private readonly phrases = new Map<string, Array<{ words: string[]; canonical: string }>>();
  private readonly domain: Set<string>;
  private readonly markers: Record<Language, Set<string>>;

  constructor(file: z.infer<typeof LexiconFile>) {
    this.stop = { en: new Set(file.stopwords.en.map(foldText)), fr: new Set(file.stopwords.fr.map(foldText)) };
    this.markers = {
      en: new Set([...file.stopwords.en, ...file.languageMarkers.en].map(foldText)),
      fr: new Set([...file.stopwords.fr, ...file.languageMarkers.fr].map(foldText))
    };
    const phrases: Array<{ words: string[]; canonical: string }> = [];
    for (const group of file.synonyms) {
      const canonical = foldText(group[0]!).replace(/ /g, '_');
      for (const variant of group) {
        const words = foldText(variant).split(' ').filter(Boolean).map(stem);
        if (words.length === 1) this.single.set(words[0]!, canonical);
        else phrases.push({ words, canonical });
      }
    }
    // Longest phrases first, so "program account number" wins over "program account".
    phrases.sort((a, b) => b.words.length - a.words.length);
    for (const phrase of phrases) {
      const list = this.phrases.get(phrase.words[0]!) ?? [];
      list.push(phrase);
      this.phrases.set(phrase.words[0]!, list);
    }
    this.domain = new Set(file.domainTerms.map((t) => this.canonicalTokens(t).join(' ')).filter(Boolean));
  }

  /** Folded, stemmed tokens with synonyms replaced by their canonical word (stopwords kept). */
  canonicalTokens(text: string): string[] {
    const words = foldText(text).split(' ').filter(Boolean).map(stem);
    const out: string[] = [];
    for (let i = 0; i < words.length; ) {
      const phrase = this.phrases.get(words[i]!)?.find((p) => p.words.every((w, j) => words[i + j] === w));
      if (phrase) {
        out.push(phrase.canonical);
        i += phrase.words.length;
      } else {
        out.push(this.single.get(words[i]!) ?? words[i]!);
        i++;
      }
    }
    return out;
  }

  /** The tokens that matter for matching: canonical, without stopwords (all of them if that leaves none). */
  contentTokens(text: string): string[] {
    return this.contentOf(this.canonicalTokens(text));
  }

  /** contentTokens, from tokens already made canonical. */
  contentOf(all: string[]): string[] {
    const content = all.filter((t) => !this.stop.en.has(t) && !this.stop.fr.has(t));
    return content.length > 0 ? content : all;
  }

  isDomainToken(token: string): boolean {
    return this.domain.has(token);
  }

  /**
   * Guesses the language of a message from its function words; undefined when unclear. `margin`: how
   * many more words of one language than of the other it takes.
   */
  guessLanguage(text: string, margin = 1): Language | undefined {
    const words = foldText(text).split(' ');
    let en = 0;
    let fr = 0;
    for (const w of words) {
      if (this.markers.en.has(w) && !this.markers.fr.has(w)) en++;
      if (this.markers.fr.has(w) && !this.markers.en.has(w)) fr++;
    }
    if (/[àâçéèêëîïôûùüÿœ]/i.test(text)) fr += 1;
    if (fr - en >= margin) return 'fr';
    if (en - fr >= margin) return 'en';
    return undefined;
  }
}
