import { isDeepStrictEqual } from 'node:util';
import type { Storage, StoreItem } from 'botbuilder';
import { OnboardingProgress, newOnboardingProgress } from './onboardingProgress.js';
import type { Logger } from '../logger.js';
import { deepFreeze } from '../util/deepFreeze.js';
import { LruMap } from '../util/lruMap.js';

/** Identifies one person on one channel (Teams and the web page have different user ids). */
export interface UserRef {
  channelId: string;
  userId: string;
}

const MAX_ATTEMPTS = 8;
const MAX_BACKOFF_MS = 250;

export interface ProgressRepositoryOptions {
  /**
   * True when this process is the store's only writer (the JSON store holds a lock on its data
   * directory): records it has read or written are then served from memory. With shared storage
   * (Blob) a record is read once per turn, and only the validation of an unchanged record is skipped.
   */
  exclusiveStore?: boolean;
  /** Records kept in memory (the most recently used). */
  cacheSize?: number;
  logger?: Logger;
}

/** A record as last seen: null when the user has none; eTag unknown right after our own write. */
interface Remembered {
  progress: Readonly<OnboardingProgress> | null;
  eTag?: string;
}

/**
 * Per-user onboarding progress with atomic read-modify-write. Updates of one user are queued in
 * this process, and each write carries the eTag it read, so even two processes (Blob storage) never
 * lose an update: a conflict re-reads and re-applies the change.
 */
export class ProgressRepository {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly remembered: LruMap<string, Remembered>;
  /**
   * Counts the starts and ends of this process's writes: a read that overlapped one is not
   * remembered (it may predate the write).
   */
  private writeEvents = 0;
  /** The write event of each recently written record; older ones happened at or before `forgottenWrites`. */
  private readonly lastWrite: LruMap<string, number>;
  private forgottenWrites = 0;
  /** What each turn has read (keyed by the turn's context), with the write event it was read after. */
  private readonly turnReads = new WeakMap<object, Map<string, { progress: Readonly<OnboardingProgress> | null; after: number }>>();
  private readonly exclusive: boolean;
  private readonly logger?: Logger;

  constructor(private readonly storage: Storage, options: ProgressRepositoryOptions = {}) {
    this.exclusive = options.exclusiveStore ?? false;
    this.remembered = new LruMap(options.cacheSize ?? 5000);
    this.lastWrite = new LruMap(options.cacheSize ?? 5000, (_key, event) => {
      this.forgottenWrites = Math.max(this.forgottenWrites, event);
    });
    this.logger = options.logger;
  }

  static key(user: UserRef): string {
    return `onboarding-progress/${encodeURIComponent(user.channelId)}/${encodeURIComponent(user.userId)}`;
  }

  /**
   * The user's progress, read-only (change it with `update`). Given the turn (its TurnContext), reads
   * of the same record in that turn are served from its first one unless this process has written
   * the record since: on shared storage (Blob) a step turn would otherwise read it five or six times.
   */
  async get(user: UserRef, turn?: object): Promise<OnboardingProgress | undefined> {
    const key = ProgressRepository.key(user);
    const known = this.exclusive ? this.remembered.get(key) : this.remembered.peek(key);
    if (known && this.exclusive) return known.progress ?? undefined;
    const seen = turn ? this.turnReads.get(turn)?.get(key) : undefined;
    if (seen && seen.after >= (this.lastWrite.peek(key) ?? this.forgottenWrites)) return seen.progress ?? undefined;
    const writes = this.writeEvents;
    const progress = await this.read(key, known, writes);
    if (turn) {
      let reads = this.turnReads.get(turn);
      if (!reads) this.turnReads.set(turn, (reads = new Map()));
      reads.set(key, { progress: progress ?? null, after: writes });
    }
    return progress;
  }

  private async read(key: string, known: Remembered | undefined, writes: number): Promise<OnboardingProgress | undefined> {
    const found = (await this.storage.read([key]))[key];
    const current = writes === this.writeEvents;
    if (!found) {
      if (current) this.remembered.set(key, { progress: null });
      return undefined;
    }
    const eTag = typeof found.eTag === 'string' ? found.eTag : undefined;
    // Unchanged since we last read or validated it: no need to validate again.
    if (known?.progress && eTag !== undefined && known.eTag === eTag) return known.progress;
    const progress = this.parse(key, found);
    if (progress && current) this.remembered.set(key, { progress: deepFreeze(progress), eTag });
    return progress;
  }

  /** Notes a write of the record starting or ending: what was read before it may be out of date. */
  private written(key: string): void {
    this.writeEvents++;
    this.lastWrite.set(key, this.writeEvents);
  }

  /** Applies `change` to the user's record (a fresh one if none) and stores it before resolving. */
  update(user: UserRef, change: (progress: OnboardingProgress) => OnboardingProgress | void): Promise<OnboardingProgress> {
    const key = ProgressRepository.key(user);
    return this.inTurn(key, () => this.applyWithRetry(key, change));
  }

  /** Erases the checklist and every value given; a language the person chose stays chosen. */
  reset(user: UserRef): Promise<void> {
    const key = ProgressRepository.key(user);
    return this.inTurn(key, async () => {
      const found = (await this.storage.read([key]))[key];
      if (!found) return;
      const current = this.parse(key, found);
      if (!current) await this.keepAside(key, found);
      const language = current?.language;
      if (language) {
        await this.applyWithRetry(key, () => ({ ...newOnboardingProgress(), language }));
        return;
      }
      this.written(key);
      this.remembered.delete(key);
      try {
        await this.storage.delete([key]);
      } finally {
        this.written(key);
      }
      this.remembered.set(key, { progress: null });
    });
  }

  /** Runs `work` after every earlier change to the same record (in this process). */
  private inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(key, next);
    void next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    }).catch(() => undefined);
    return next;
  }

  private async applyWithRetry(
    key: string,
    change: (progress: OnboardingProgress) => OnboardingProgress | void
  ): Promise<OnboardingProgress> {
    for (let attempt = 1; ; attempt++) {
      const { found, stored } = await this.readForUpdate(key);
      let current = found ? stored : newOnboardingProgress();
      const readable = !!current;
      if (found && !current) {
        await this.keepAside(key, found);
        current = newOnboardingProgress();
      }
      const draft = structuredClone(current as OnboardingProgress);
      const changed = change(draft) ?? draft;
      // A change that changes nothing (a replayed submit) is not written: the record keeps its updatedAt and eTag.
      if (found && readable && isDeepStrictEqual(changed, current)) return current as OnboardingProgress;
      const next = OnboardingProgress.parse({ ...changed, updatedAt: new Date().toISOString() });
      // Whatever happens to the write, what we remembered may no longer be what is stored.
      this.written(key);
      this.remembered.delete(key);
      try {
        try {
          // No record yet: write with '*'; the eTag check only protects records that exist.
          await this.storage.write({ [key]: { ...next, eTag: found?.eTag ?? '*' } });
        } finally {
          this.written(key);
        }
        this.remembered.set(key, { progress: deepFreeze(next) });
        return next;
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !/eTag conflict|precondition|412/i.test(String((error as Error).message ?? error))) throw error;
        this.logger?.debug({ attempt }, 'progress write conflict; retrying');
        // Back off with jitter: retrying at once loses again and again to another process's next update.
        const ceiling = Math.min(MAX_BACKOFF_MS, 5 * 2 ** attempt);
        await new Promise((r) => setTimeout(r, ceiling / 2 + Math.random() * (ceiling / 2)));
      }
    }
  }

  /**
   * The record an update starts from. With a store only this process writes, a record it remembers is
   * the stored one (updates of a user are queued here), so it is neither read nor validated again.
   */
  private async readForUpdate(key: string): Promise<{ found?: StoreItem; stored?: OnboardingProgress }> {
    const known = this.exclusive ? this.remembered.peek(key) : undefined;
    if (known) return known.progress ? { found: { eTag: known.eTag ?? '*' }, stored: known.progress } : {};
    const found = (await this.storage.read([key]))[key];
    return { found, stored: found ? this.parse(key, found) : undefined };
  }

  /** Keeps an unreadable record aside before anything replaces or removes it. */
  private async keepAside(key: string, found: StoreItem): Promise<void> {
    await this.storage.write({ [`${key}#unreadable-${Date.now()}`]: { ...found, eTag: '*' } });
  }

  private parse(key: string, stored: Record<string, unknown>): OnboardingProgress | undefined {
    const { eTag: _eTag, ...rest } = stored;
    const result = OnboardingProgress.safeParse(rest);
    if (result.success) return result.data;
    this.logger?.error({ key, issues: result.error.issues.slice(0, 3) }, 'stored onboarding progress does not validate');
    return undefined;
  }
}
