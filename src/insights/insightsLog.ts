import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeAllSync } from '../util/writeAllSync.js';
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
    .replace(/\+?\d[\d\s().-]{5,}\d/g, '[number]')
    // Amounts of money (what someone owes or paid is theirs, not the content team's).
    .replace(/\$\s?\d[\d\s,.]*\d|\d[\d\s,.]*\s?\$|\b\d{1,3}(?:[ ,]\d{3})*[.,]\d{2}\b/g, '[amount]');
}

/**
 * Appends events as JSON lines under DATA_DIR; losing the last few on a crash is acceptable. Lines
 * that arrive while a write is under way go out together in the next one, through a file kept open
 * (opening and closing it for every answer cost more than the write).
 */
export class InsightsLog {
  private queue: Promise<void> = Promise.resolve();
  private file?: Promise<FileHandle>;
  private pending: string[] = [];
  private closed = false;

  constructor(private readonly path: string) {}

  record(event: InsightEvent): void {
    if (this.closed) return;
    const e = event.type === 'unanswered' ? { ...event, question: scrubQuestion(event.question) } : event;
    this.pending.push(JSON.stringify({ at: new Date().toISOString(), ...e }) + '\n');
    if (this.pending.length > 1) return;
    this.queue = this.queue
      .then(async () => {
        this.file ??= mkdir(dirname(this.path), { recursive: true }).then(() => open(this.path, 'a'));
        const file = await this.file;
        writeAllSync(file.fd, Buffer.from(this.pending.splice(0).join(''), 'utf8'));
      })
      .catch(() => {
        // A file that failed to open is tried again with the next event.
        this.file = undefined;
      });
  }

  /** Resolves once every event recorded so far is written. */
  async flush(): Promise<void> {
    await this.queue;
  }

  /** Writes what is pending and closes the file; later events are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const file = this.file;
    this.file = undefined;
    await file?.then((f) => f.close(), () => undefined);
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
