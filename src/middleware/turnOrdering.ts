import type { Middleware, TurnContext } from 'botbuilder';

/**
 * Drops an activity already received (Teams retries a turn after about 15 s; Direct Line clients
 * retry posts). Remembers each id for at least `ttlMs`, or until `maxEntries` / 2 newer ones have
 * arrived. Ids are kept in two generations; the older is dropped whole when the newer is `ttlMs` old
 * or full (evicting from the front of one Map makes V8 skip every entry deleted there, every turn).
 */
export class DuplicateActivityFilter implements Middleware {
  private recent = new Map<string, number>();
  private older = new Map<string, number>();
  private recentSince: number;

  constructor(
    private readonly ttlMs = 10 * 60 * 1000,
    private readonly maxEntries = 50_000,
    private readonly now: () => number = Date.now
  ) {
    this.recentSince = now();
  }

  /** Ids remembered now (for tests and health). */
  get size(): number {
    return this.recent.size + this.older.size;
  }

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const a = context.activity;
    if (!a.id) return next();
    const key = `${a.channelId}|${a.conversation?.id}|${a.id}`;
    const now = this.now();
    const seenAt = this.recent.get(key) ?? this.older.get(key);
    if (seenAt !== undefined && now - seenAt < this.ttlMs) return;
    if (now - this.recentSince >= this.ttlMs || this.recent.size >= this.maxEntries / 2) {
      this.older = this.recent;
      this.recent = new Map();
      this.recentSince = now;
    }
    this.recent.set(key, now);
    return next();
  }
}

/**
 * Runs one conversation's turns one at a time. Conversation state is read at the start of a turn and
 * written at the end with last-writer-wins, so two overlapping turns (a double click) would each see
 * the same open question and both act on it.
 */
export class SerializedConversationTurns implements Middleware {
  private readonly tails = new Map<string, Promise<void>>();

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const key = `${context.activity.channelId}|${context.activity.conversation?.id}`;
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      await next();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
