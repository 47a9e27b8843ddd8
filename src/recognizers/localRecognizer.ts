import type { AssistantContent } from '../content/loadContent.js';
import type { Language } from '../content/schema.js';
import { foldText, type Lexicon } from '../content/lexicon.js';
import { createHash } from 'node:crypto';
import { SoftmaxClassifier, type TrainedModel } from './softmaxClassifier.js';
import { decide, type Candidate, type DecisionThresholds, type Recognition, type UtteranceRecognizer } from './recognition.js';

type SparseVector = Map<string, number>;

interface Example {
  label: string; // "entry:<id>", "command:<name>" or "none"
  vector: SparseVector;
}

export interface LocalRecognizerSettings extends DecisionThresholds {
  /** Weight of the word features against the character trigram features. */
  wordWeight: number;
  /** Score multiplier for a message with no CARM or command vocabulary at all. */
  offTopicPenalty: number;
  /** Weight of the trained classifier's probability against the nearest-phrasing similarity. */
  classifierWeight: number;
  /** Training of the classifier (AdaGrad): passes over the phrasings, step size, L2 penalty, shuffle seed. */
  classifierTraining?: { epochs?: number; learningRate?: number; l2?: number; seed?: number };
}

export const DEFAULT_LOCAL_SETTINGS: LocalRecognizerSettings = {
  answer: 0.42,
  floor: 0.27,
  margin: 0.04,
  wordWeight: 0.55,
  offTopicPenalty: 0.6,
  classifierWeight: 0.5
};

const NONE = 'none';

/** Models trained in this process, by a hash of their training phrasings. */
const trainedModels = new Map<string, TrainedModel>();

function wordFeatures(v: SparseVector): SparseVector {
  const out: SparseVector = new Map();
  for (const [k, w] of v) if (!k.startsWith('c:')) out.set(k, w);
  return out;
}

function norm(v: SparseVector): SparseVector {
  let sum = 0;
  for (const x of v.values()) sum += x * x;
  const n = Math.sqrt(sum) || 1;
  for (const [k, x] of v) v.set(k, x / n);
  return v;
}

/** Damerau-Levenshtein distance, stopping early once it exceeds `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    let rowMin = Infinity;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
  }
  return d[a.length]![b.length]!;
}

/**
 * The default recognizer: no network. Each knowledge entry, command and the "none" class is
 * represented by its training phrasings; a message is compared with TF-IDF vectors of canonical words
 * (abbreviations and synonyms folded by the lexicon, typos corrected against the vocabulary) and of
 * character trigrams, and each label is scored by its nearest phrasings and its centroid.
 */
/** A part of a message that asks: it ends with "?" or was split off at "and how…" / "et combien…". */
const ASKING_PART = /\?\s*$|^(?:and|also|et|aussi)\s/i;
/** How sure a reading of another part must be before the bot says "you also asked" it. */
const ALSO_ASKED_MIN_SCORE = 0.55;

export class LocalRecognizer implements UtteranceRecognizer {
  private readonly examples: Example[] = [];
  private readonly centroids = new Map<string, SparseVector>();
  private readonly idf = new Map<string, number>();
  private readonly vocabulary = new Map<string, number>();
  /** Every folded word of the phrasings, function words included: restores "jai", "minscrire". */
  private readonly knownWords = new Set<string>();
  private readonly vocabularyByLength = new Map<number, string[]>();
  /** Feature → the examples that have it and their weight (typed arrays: the hot loop of recognition). */
  private readonly index = new Map<string, { ids: Int32Array; weights: Float64Array }>();
  /** Feature → the labels whose centroid has it (positions in classifier.labels) and the centroid's weight. */
  private readonly centroidIndex = new Map<string, { labels: Int32Array; weights: Float64Array }>();
  private readonly typoCache = new Map<string, string>();
  /** Messages that are exactly a command word or a training phrasing, by their canonical tokens. */
  private readonly exact = new Map<string, string>();
  private readonly classifier: SoftmaxClassifier;
  /** Each example's label, as its position in classifier.labels. */
  private readonly exampleLabel: Int32Array;
  /** Scratch space for one message's similarity to every example (recognition is synchronous). */
  private readonly charSims: Float64Array;
  private readonly wordSims: Float64Array;

  constructor(
    private readonly lexicon: Lexicon,
    training: Array<{ label: string; text: string; exact?: boolean }>,
    private readonly settings: LocalRecognizerSettings = DEFAULT_LOCAL_SETTINGS
  ) {
    for (const t of training) {
      for (const word of foldText(t.text).split(' ')) this.knownWords.add(word);
      const key = this.lexicon.canonicalTokens(t.text).join(' ');
      // Command words win over phrasings; among phrasings, the first one wins.
      if (key && (t.exact || !this.exact.has(key))) this.exact.set(key, t.label);
    }
    const featureSets = training.filter((t) => !t.exact).map((t) => {
      const tokens = this.lexicon.contentTokens(t.text);
      tokens.forEach((tok) => this.vocabulary.set(tok, (this.vocabulary.get(tok) ?? 0) + 1));
      return { label: t.label, features: this.features(tokens) };
    });
    for (const word of this.vocabulary.keys()) {
      const list = this.vocabularyByLength.get(word.length) ?? [];
      list.push(word);
      this.vocabularyByLength.set(word.length, list);
    }
    const df = new Map<string, number>();
    for (const f of featureSets) for (const k of f.features.keys()) df.set(k, (df.get(k) ?? 0) + 1);
    const n = featureSets.length;
    for (const [k, c] of df) this.idf.set(k, Math.log(1 + n / c));
    const postingLists = new Map<string, Array<[number, number]>>();
    for (const f of featureSets) {
      const vector = this.weigh(f.features);
      const i = this.examples.push({ label: f.label, vector }) - 1;
      for (const [k, w] of vector) {
        const postings = postingLists.get(k) ?? [];
        postings.push([i, w]);
        postingLists.set(k, postings);
      }
      const centroid = this.centroids.get(f.label) ?? new Map<string, number>();
      for (const [k, w] of vector) centroid.set(k, (centroid.get(k) ?? 0) + w);
      this.centroids.set(f.label, centroid);
    }
    for (const [label, c] of this.centroids) this.centroids.set(label, this.splitNorm(c));
    for (const [k, postings] of postingLists) {
      this.index.set(k, { ids: Int32Array.from(postings, (p) => p[0]), weights: Float64Array.from(postings, (p) => p[1]) });
    }
    // Word features only: character trigrams would multiply training time for little gain (the
    // nearest-phrasing similarity already covers spelling). Training is deterministic, so a model
    // trained once for the same phrasings is reused (tests and restarts start fast).
    const cacheKey = createHash('sha256').update(JSON.stringify([training, settings.classifierTraining ?? {}])).digest('hex');
    const cached = trainedModels.get(cacheKey);
    this.classifier = cached
      ? SoftmaxClassifier.fromModel(cached)
      : new SoftmaxClassifier(
          [...this.centroids.keys()],
          this.examples.map((e) => ({ label: e.label, features: wordFeatures(e.vector) })),
          { epochs: 12, l2: 1e-5, ...this.settings.classifierTraining }
        );
    if (!cached) trainedModels.set(cacheKey, this.classifier.toModel());
    const labelPosition = new Map(this.classifier.labels.map((l, i) => [l, i]));
    this.exampleLabel = Int32Array.from(this.examples, (e) => labelPosition.get(e.label)!);
    this.charSims = new Float64Array(this.examples.length);
    this.wordSims = new Float64Array(this.examples.length);
    // Centroids by feature, for scoring every label in one pass over the message's features.
    const byFeature = new Map<string, Array<[number, number]>>();
    this.classifier.labels.forEach((label, position) => {
      for (const [k, c] of this.centroids.get(label)!) {
        if (!c) continue;
        const list = byFeature.get(k) ?? [];
        list.push([position, c]);
        byFeature.set(k, list);
      }
    });
    for (const [k, list] of byFeature) {
      this.centroidIndex.set(k, { labels: Int32Array.from(list, (e) => e[0]), weights: Float64Array.from(list, (e) => e[1]) });
    }
  }

  /** Training phrasings of every entry and command in both languages, plus the off-topic examples. */
  static fromContent(content: AssistantContent, settings?: LocalRecognizerSettings): LocalRecognizer {
    return new LocalRecognizer(content.lexicon, LocalRecognizer.trainingSet(content), settings);
  }

  static trainingSet(content: AssistantContent): Array<{ label: string; text: string; exact?: boolean }> {
    const training: Array<{ label: string; text: string; exact?: boolean }> = [];
    for (const [name, words] of Object.entries(content.commandWords)) {
      for (const w of [...words.en, ...words.fr]) training.push({ label: `command:${name}`, text: w, exact: true });
    }
    for (const e of content.knowledge) {
      for (const lang of ['en', 'fr'] as const) {
        training.push({ label: `entry:${e.id}`, text: e[lang].title });
        for (const q of e[lang].questions) training.push({ label: `entry:${e.id}`, text: q });
      }
    }
    for (const c of content.commands.intents) {
      for (const u of [...c.en, ...c.fr]) training.push({ label: `command:${c.name}`, text: u });
    }
    for (const q of [...content.outOfScope.en, ...content.outOfScope.fr]) training.push({ label: NONE, text: q });
    return training;
  }

  async recognize(text: string, _language: Language): Promise<Recognition> {
    return this.recognizeSync(text);
  }

  /**
   * Long messages often give context first and ask last ("I'm the bookkeeper of…, do we need…?"):
   * each sentence, and each question joined by "and how…" / "et combien…", is also tried alone, and
   * the clearest reading wins. A command is read from the whole message only: "…where do I give our
   * broker access? Can you help?" asks about delegation. Another part that clearly asks about a
   * different entry is kept as `alsoAsked`.
   */
  recognizeSync(text: string): Recognition {
    const whole = this.recognizeOne(text);
    const parts = text
      .split(/(?<=[.?!;])\s+|\n+|\s+(?=(?:and|also|et|aussi)\s+(?:how|what|when|where|why|who|which|can|do|does|is|are|should|comment|combien|quand|où|ou|pourquoi|qui|quel|quelle|est-ce|puis-je|dois-je)\b)/i)
      .map((s) => s.trim())
      .filter((s) => s.split(/\s+/).length >= 3);
    if (parts.length < 2) return whole;
    let best = whole;
    const answered: Candidate[] = [];
    for (const part of parts) {
      const r = this.recognizeOne(part);
      const top = r.candidates[0];
      if (r.decision === 'none' || !top || top.kind === 'command') continue;
      // Offered as "you also asked" only when that part is a question, clearly placed: "He set himself
      // up as BAM." is context, and a weak reading of a real question would answer one not asked.
      if (r.decision === 'answer' && top.score >= ALSO_ASKED_MIN_SCORE && ASKING_PART.test(part)) answered.push(top);
      if (top.score > (best.decision === 'none' ? 0 : best.candidates[0]?.score ?? 0)) best = r;
    }
    const bestId = best.decision === 'none' ? undefined : best.candidates[0]?.id;
    const alsoAsked = bestId ? answered.find((c) => c.id !== bestId && c.kind === 'entry') : undefined;
    return { ...best, language: whole.language, ...(alsoAsked ? { alsoAsked } : {}) };
  }

  private recognizeOne(message: string): Recognition {
    const language = this.lexicon.guessLanguage(message);
    const text = language === 'en' ? message : this.restoreElisions(message);
    const canonical = this.lexicon.canonicalTokens(text.slice(0, 1000));
    const exactLabel = this.exact.get((text.length <= 200 ? canonical : this.lexicon.canonicalTokens(text.slice(0, 200))).join(' '));
    if (exactLabel === NONE) return { decision: 'none', candidates: [], language, source: 'local', offTopic: true };
    if (exactLabel) {
      const [kind, id] = exactLabel.split(':') as ['entry' | 'command', string];
      return { decision: 'answer', candidates: [{ kind, id, score: 1 }], language, source: 'local' };
    }
    const tokens = this.lexicon.contentOf(canonical).map((t) => this.correctTypo(t));
    if (tokens.length === 0) return { decision: 'none', candidates: [], language, source: 'local' };
    const query = this.weigh(this.features(tokens));

    const labels = this.classifier.labels;
    const sims = this.charSims.fill(0);
    const wordSims = this.wordSims.fill(0);
    for (const [k, w] of query) {
      const postings = this.index.get(k);
      if (!postings) continue;
      const target = k.startsWith('c:') ? sims : wordSims;
      const { ids, weights } = postings;
      for (let p = 0; p < ids.length; p++) target[ids[p]!]! += w * weights[p]!;
    }
    const ww = this.settings.wordWeight;
    // Each label's nearest phrasing.
    const nearestOf = new Float64Array(labels.length);
    for (let i = 0; i < sims.length; i++) {
      const s = ww * wordSims[i]! + (1 - ww) * sims[i]!;
      const l = this.exampleLabel[i]!;
      if (s > nearestOf[l]!) nearestOf[l] = s;
    }
    const onTopic = tokens.some((t) => this.lexicon.isDomainToken(t));
    const probabilities = this.classifier.predict(wordFeatures(query));
    const cw = this.settings.classifierWeight;
    // Each label's centroid similarity, words and characters apart, summed in the message's feature order.
    const centroidWords = new Float64Array(labels.length);
    const centroidChars = new Float64Array(labels.length);
    for (const [k, w] of query) {
      const entry = this.centroidIndex.get(k);
      if (!entry) continue;
      const target = k.startsWith('c:') ? centroidChars : centroidWords;
      for (let j = 0; j < entry.labels.length; j++) target[entry.labels[j]!]! += w * entry.weights[j]!;
    }
    const scored: Array<{ label: string; score: number }> = [];
    for (let position = 0; position < labels.length; position++) {
      const label = labels[position]!;
      const similarity = 0.7 * nearestOf[position]! + 0.3 * (ww * centroidWords[position]! + (1 - ww) * centroidChars[position]!);
      let score = (1 - cw) * similarity + cw * probabilities[position]!;
      if (!onTopic && label.startsWith('entry:')) score *= this.settings.offTopicPenalty;
      // Commands are short ("menu", "show my progress"); a long question sharing one word with them is not one.
      if (label.startsWith('command:') && tokens.length > 4) score *= 4 / tokens.length;
      scored.push({ label, score });
    }
    scored.sort((a, b) => b.score - a.score);
    // Off-topic beat every real label. Without CARM words, suggesting the runner-up topics would only
    // look random; with them ("mfa not working"), the closest topics are still worth offering.
    if (scored[0]?.label === NONE) {
      const suggestions = onTopic ? this.toCandidates(scored.slice(1, 4)).filter((c) => c.kind === 'entry') : [];
      return { decision: 'none', candidates: suggestions, language, source: 'local', offTopic: true };
    }
    const candidates = this.toCandidates(scored.slice(0, 6));
    return { decision: decide(candidates, this.settings), candidates, language, source: 'local' };
  }

  /**
   * French typed without apostrophes: "jai besoin daide pour minscrire" → "j ai besoin d aide pour m
   * inscrire". An unknown word is split after its elided article or pronoun only when the rest is a
   * word the phrasings use.
   */
  private restoreElisions(text: string): string {
    const words = foldText(text).split(' ');
    let changed = false;
    const restored = words.map((word) => {
      const elided = /^(qu|[cdjlmnst])([aeiouyh][a-z]*)$/.exec(word);
      if (!elided || this.knownWords.has(word) || !this.knownWords.has(elided[2]!)) return word;
      changed = true;
      return `${elided[1]} ${elided[2]}`;
    });
    return changed ? restored.join(' ') : text;
  }

  private toCandidates(scored: Array<{ label: string; score: number }>): Candidate[] {
    return scored
      .filter((s) => s.label !== NONE)
      .map((s) => {
        const [kind, id] = s.label.split(':') as ['entry' | 'command', string];
        return { kind, id, score: Math.min(1, Math.round(s.score * 1000) / 1000) };
      });
  }

  /** Word unigrams, bigrams and character trigrams (tagged "c:"), as raw counts. */
  private features(tokens: string[]): SparseVector {
    const f: SparseVector = new Map();
    const add = (k: string, w = 1) => f.set(k, (f.get(k) ?? 0) + w);
    tokens.forEach((t, i) => {
      add(`w:${t}`);
      if (i > 0) add(`b:${tokens[i - 1]} ${t}`, 0.5);
      const padded = `#${t}#`;
      for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`);
    });
    return f;
  }

  private weighRaw(features: SparseVector): SparseVector {
    const v: SparseVector = new Map();
    for (const [k, c] of features) {
      const idf = this.idf.get(k);
      if (idf !== undefined) v.set(k, (1 + Math.log(c)) * idf);
    }
    return v;
  }

  private weigh(features: SparseVector): SparseVector {
    return this.splitNorm(this.weighRaw(features));
  }

  /** Normalizes word features and character features separately, so each cosine is in 0..1. */
  private splitNorm(v: SparseVector): SparseVector {
    const words: SparseVector = new Map();
    const chars: SparseVector = new Map();
    for (const [k, w] of v) (k.startsWith('c:') ? chars : words).set(k, w);
    return new Map([...norm(words), ...norm(chars)]);
  }

  /** Replaces an unknown word by the most common known word one or two edits away. */
  private correctTypo(token: string): string {
    if (this.vocabulary.has(token) || token.length < 4 || /\d/.test(token)) return token;
    const cached = this.typoCache.get(token);
    if (cached !== undefined) return cached;
    const max = token.length >= 8 ? 2 : 1;
    let best = token;
    let bestCount = 0;
    let bestDistance = max + 1;
    for (let len = token.length - max; len <= token.length + max; len++) {
      for (const word of this.vocabularyByLength.get(len) ?? []) {
        const d = editDistance(token, word, max);
        const count = this.vocabulary.get(word)!;
        if (d < bestDistance || (d === bestDistance && d <= max && count > bestCount)) {
          best = word;
          bestCount = count;
          bestDistance = d;
        }
      }
    }
    const result = bestDistance <= max ? best : token;
    if (this.typoCache.size < 10000) this.typoCache.set(token, result);
    return result;
  }
}
