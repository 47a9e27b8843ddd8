import type { Language } from '../content/schema.js';

/** What a message may be: a knowledge entry, or a command such as "show my progress". */
export interface Candidate {
  kind: 'entry' | 'command';
  id: string;
  /** Calibrated confidence, 0..1. */
  score: number;
}

/** answer: act on the top candidate; clarify: ask "Did you mean…"; none: honest fallback. */
export type Decision = 'answer' | 'clarify' | 'none';

export interface Recognition {
  decision: Decision;
  candidates: Candidate[];
  /** The language the message seems to be written in, when clear. */
  language?: Language;
  source: 'local' | 'clu';
  /** A second question in the same message ("…and how much is the bond?"), answered clearly on its own. */
  alsoAsked?: Candidate;
  /** The message reads as off-topic (the local recognizer's off-topic class won), not merely unclear. */
  offTopic?: boolean;
}

export interface UtteranceRecognizer {
  recognize(text: string, language: Language): Promise<Recognition>;
}

export interface DecisionThresholds {
  /** At or above: answer. */
  answer: number;
  /** Below: not sure (fallback with suggestions). */
  floor: number;
  /** When the runner-up is this close to the top, ask which one was meant. */
  margin: number;
}

export function decide(candidates: Candidate[], t: DecisionThresholds): Decision {
  const [top, second] = candidates;
  if (!top || top.score < t.floor) return 'none';
  if (second && second.score >= t.floor && top.score - second.score < t.margin) return 'clarify';
  return top.score >= t.answer ? 'answer' : 'clarify';
}
