import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

// A business number (BN9), optionally with its program account (BN15), in any common spacing.
const BUSINESS_NUMBER = /(?<![\d])\d{3}[ -]?\d{3}[ -]?\d{3}(?:[ -]?[Rr][Mm][ -]?\d{4})?(?![\d])/g;

/** Masks every business number in a log line; kept separate so tests can prove it. */
export function redactBusinessNumbers(line: string): string {
  return line.replace(BUSINESS_NUMBER, '[BN redacted]');
}

/** Structured JSON logs; every line passes through the business-number scrubber before it leaves. */
export function createLogger(level: string, sink: { write(line: string): unknown } = process.stdout): Logger {
  const destination: DestinationStream = { write: (line: string) => sink.write(redactBusinessNumbers(line)) };
  return pino({ level, base: { service: 'carm-assistant' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
