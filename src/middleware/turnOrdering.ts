import type { Middleware, TurnContext } from 'botbuilder';

/**
 * Drops an activity already received (Teams retries a turn after about 15 s; Direct Line clients
 * retry posts). Remembers ids for `ttlMs`, bounded in count.
 */
export class DuplicateActivityFilter implements Middleware {
  private readonly seen = new Map<string, number>();

  constructor(private readonly ttlMs = 10 * 60 * 1000, private readonly maxEntries = 50_000) {}

  async onTurn(context: TurnContext, next: () => Promise<void>): Promise<void> {
    const a = context.activity;
    if (!a.id) return next();
    const key = `${a.channelId}|${a.conversation?.id}|${a.id}`;
    const now = Date.now();
    const seenAt = this.seen.get(key);
    if (seenAt !== undefined && now - seenAt < this.ttlMs) return;
    this.seen.set(key, now);
    if (this.seen.size > this.maxEntries) {
      for (const [k, at] of this.seen) {
        if (now - at >= this.ttlMs || this.seen.size > this.maxEntries) this.seen.delete(k);
        else break;
      }
    }
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
