import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

// A business number (BN9), optionally with its program account (BN15), in any common spacing, with
// fullwidth digits, and with invisible separators (zero-width space, word joiner, no-break space…).
const D = '[0-9\\uFF10-\\uFF19]';
const SEP = '[ \\-\\u00A0\\u200B-\\u200D\\u2060\\uFEFF]?';
const BUSINESS_NUMBER = new RegExp(`(?<!${D})${D}{3}${SEP}${D}{3}${SEP}${D}{3}(?:${SEP}[Rr][Mm]${SEP}${D}{4})?(?!${D})`, 'g');

/** Masks every business number in a log line; kept separate so tests can prove it. */
export function redactBusinessNumbers(line: string): string {
  return line.replace(BUSINESS_NUMBER, '[BN redacted]');
}

/** Structured JSON logs; every line passes through the business-number scrubber before it leaves. */
export function createLogger(level: string, sink: { write(line: string): unknown } = process.stdout): Logger {
  const destination: DestinationStream = { write: (line: string) => sink.write(redactBusinessNumbers(line)) };
  return pino({ level, base: { service: 'carm-assistant' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
