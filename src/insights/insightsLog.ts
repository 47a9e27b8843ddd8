import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Language } from '../content/schema.js';

/** What the content team learns from: which entries are asked, rated, or missing. No personal data. */
export type InsightEvent =
  | { type: 'answered'; entryId: string; language: Language; via: 'text' | 'button' }
  | { type: 'clarified'; candidates: string[]; language: Language }
  | { type: 'unanswered'; question: string; language: Language }
  | { type: 'feedback'; entryId: string; helpful: boolean; language: Language };

/** Strips what could identify a person or business before a question is kept. */
export function scrubQuestion(text: string): string {
  return text
    .slice(0, 300)
    // Fullwidth digits and invisible separators (zero-width space, word joiner…) would hide a number
    // from the patterns below while a reader still sees it.
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .replace(/[\w.+-]+@[\w-]+\.[\w.-]+/g, '[email]')
    // A program account (BN15) first: the general rule below would take only its nine digits.
    .replace(/\b\d{3}[\s-]?\d{3}[\s-]?\d{3}\s*[a-z]{2}\s*\d{4}\b/gi, '[number]')
    .replace(/\+?\d[\d\s().-]{5,}\d/g, '[number]');
}

/**
 * Appends events as JSON lines under DATA_DIR; losing the last few on a crash is acceptable. Lines
 * that arrive while a write is under way go out together in the next one.
 */
export class InsightsLog {
  private queue: Promise<void> = Promise.resolve();
  private ready: Promise<unknown>;
  private pending: string[] = [];

  constructor(private readonly file: string) {
    this.ready = mkdir(dirname(file), { recursive: true });
  }

  record(event: InsightEvent): void {
    const e = event.type === 'unanswered' ? { ...event, question: scrubQuestion(event.question) } : event;
    this.pending.push(JSON.stringify({ at: new Date().toISOString(), ...e }) + '\n');
    if (this.pending.length > 1) return;
    this.queue = this.queue
      .then(() => {
        const lines = this.pending.splice(0).join('');
        return this.ready.then(() => appendFile(this.file, lines));
      })
      .catch(() => undefined);
  }

  async flush(): Promise<void> {
    await this.queue;
  }

  static async readAll(file: string): Promise<Array<InsightEvent & { at: string }>> {
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .flatMap((line) => {
        try {
          return [JSON.parse(line)];
        } catch {
          return [];
        }
      });
  }
}
