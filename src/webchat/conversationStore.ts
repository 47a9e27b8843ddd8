import type { Activity } from 'botbuilder';

/** What a stream subscriber receives: the new activities and the watermark after them. */
export interface ActivitySet {
  activities: Partial<Activity>[];
  watermark: string;
}

export type Subscriber = (set: ActivitySet) => void;

export interface ConversationStoreOptions {
  /** Activities kept per conversation; older ones drop off (a page that far behind starts again). */
  maxHistory?: number;
  /** Conversations kept; the least recently active idle ones are forgotten first. */
  maxConversations?: number;
  /** A conversation with no request and no open stream for this long is forgotten. */
  idleMs?: number;
  now?: () => number;
}

/**
 * One web chat conversation: its history, numbered in order (the watermark is the number of the
 * last activity a client has), and the open streams to push new activities to.
 */
export class WebChatConversation {
  /** Number of the first activity still in `history` (older ones were trimmed). */
  private first = 1;
  private readonly history: Partial<Activity>[] = [];
  private readonly subscribers = new Set<Subscriber>();
  lastActive: number;

  constructor(
    readonly id: string,
    /** The user the conversation's tokens are bound to. */
    readonly userId: string,
    /** The number the next activity gets; a conversation revived after a restart continues after the client's watermark. */
    private next: number,
    private readonly maxHistory: number,
    now: number
  ) {
    this.first = next;
    this.lastActive = now;
  }

  get watermark(): string {
    return String(this.next - 1);
  }

  get streams(): number {
    return this.subscribers.size;
  }

  /** Gives the activity its id, keeps it, and pushes it to every open stream. Returns the id. */
  append(activity: Partial<Activity>): string {
    const number = this.next++;
    const id = `${this.id}|${String(number).padStart(7, '0')}`;
    const stored = { ...activity, id };
    this.history.push(stored);
    if (this.history.length > this.maxHistory) {
      this.history.shift();
      this.first++;
    }
    const set: ActivitySet = { activities: [stored], watermark: this.watermark };
    for (const subscriber of this.subscribers) subscriber(set);
    return id;
  }

  /** Activities after a watermark (all when none is given). */
  since(watermark?: number): ActivitySet {
    const after = watermark === undefined ? 0 : watermark;
    const start = Math.max(0, after + 1 - this.first);
    return { activities: this.history.slice(start), watermark: this.watermark };
  }

  subscribe(subscriber: Subscriber): () => void {
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }
}

/** The open web chat conversations, in memory: a restart forgets histories, not users (their progress is in the store). */
export class ConversationStore {
  private readonly conversations = new Map<string, WebChatConversation>();
  private readonly maxHistory: number;
  private readonly maxConversations: number;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(options: ConversationStoreOptions = {}) {
    // About 1 GB at worst (200 activities of a few KB in 2,000 conversations); a forgotten
    // conversation comes back empty on its next request, its token still valid.
    this.maxHistory = options.maxHistory ?? 200;
    this.maxConversations = options.maxConversations ?? 2000;
    this.idleMs = options.idleMs ?? 6 * 3600 * 1000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.conversations.size;
  }

  get(id: string): WebChatConversation | undefined {
    const conversation = this.conversations.get(id);
    if (conversation) conversation.lastActive = this.now();
    return conversation;
  }

  /**
   * Opens a conversation. A token that outlived a restart names a conversation no longer here: it is
   * opened again empty, numbered after the client's watermark so the client's position stays valid.
   */
  create(id: string, userId: string, continueAfter = 0): WebChatConversation {
    this.sweep();
    const conversation = new WebChatConversation(id, userId, continueAfter + 1, this.maxHistory, this.now());
    this.conversations.set(id, conversation);
    return conversation;
  }

  /** Forgets idle conversations, and the least recently active ones beyond the cap. */
  sweep(): void {
    const now = this.now();
    for (const [id, c] of this.conversations) {
      if (c.streams === 0 && now - c.lastActive > this.idleMs) this.conversations.delete(id);
    }
    if (this.conversations.size < this.maxConversations) return;
    const idle = [...this.conversations.values()].filter((c) => c.streams === 0).sort((a, b) => a.lastActive - b.lastActive);
    for (const c of idle.slice(0, this.conversations.size - this.maxConversations + 1)) this.conversations.delete(c.id);
  }
}
