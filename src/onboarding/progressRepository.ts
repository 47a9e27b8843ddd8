import { isDeepStrictEqual } from 'node:util';
import type { Storage } from 'botbuilder';
import { OnboardingProgress, newOnboardingProgress } from './onboardingProgress.js';
import type { Logger } from '../logger.js';

/** Identifies one person on one channel (Teams and the web page have different user ids). */
export interface UserRef {
  channelId: string;
  userId: string;
}

const MAX_ATTEMPTS = 8;
const MAX_BACKOFF_MS = 250;

/**
 * Per-user onboarding progress with atomic read-modify-write. Updates of one user are queued in
 * this process, and each write carries the eTag it read, so even two processes (Blob storage) never
 * lose an update: a conflict re-reads and re-applies the change.
 */
export class ProgressRepository {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly storage: Storage, private readonly logger?: Logger) {}

  static key(user: UserRef): string {
    return `onboarding-progress/${encodeURIComponent(user.channelId)}/${encodeURIComponent(user.userId)}`;
  }

  async get(user: UserRef): Promise<OnboardingProgress | undefined> {
    const key = ProgressRepository.key(user);
    const found = (await this.storage.read([key]))[key];
    return found ? this.parse(key, found) : undefined;
  }

  /** Applies `change` to the user's record (a fresh one if none) and stores it before resolving. */
  update(user: UserRef, change: (progress: OnboardingProgress) => OnboardingProgress | void): Promise<OnboardingProgress> {
    const key = ProgressRepository.key(user);
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.applyWithRetry(key, change));
    this.queues.set(key, next);
    void next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    }).catch(() => undefined);
    return next;
  }

  async reset(user: UserRef): Promise<void> {
    const key = ProgressRepository.key(user);
    await this.update(user, () => undefined);
    await this.storage.delete([key]);
  }

  private async applyWithRetry(
    key: string,
    change: (progress: OnboardingProgress) => OnboardingProgress | void
  ): Promise<OnboardingProgress> {
    for (let attempt = 1; ; attempt++) {
      const found = (await this.storage.read([key]))[key];
      let current = found ? this.parse(key, found) : newOnboardingProgress();
      const readable = !!current;
      if (found && !current) {
        // Keep the unreadable record aside before anything replaces it.
        await this.storage.write({ [`${key}#unreadable-${Date.now()}`]: { ...found, eTag: '*' } });
        current = newOnboardingProgress();
      }
      const draft = structuredClone(current as OnboardingProgress);
      const changed = change(draft) ?? draft;
      // A change that changes nothing (a replayed submit) is not written: the record keeps its updatedAt and eTag.
      if (found && readable && isDeepStrictEqual(changed, current)) return current as OnboardingProgress;
      const next = OnboardingProgress.parse({ ...changed, updatedAt: new Date().toISOString() });
      try {
        // No record yet: write with '*'; the eTag check only protects records that exist.
        await this.storage.write({ [key]: { ...next, eTag: found?.eTag ?? '*' } });
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

  private parse(key: string, stored: Record<string, unknown>): OnboardingProgress | undefined {
    const { eTag: _eTag, ...rest } = stored;
    const result = OnboardingProgress.safeParse(rest);
    if (result.success) return result.data;
    this.logger?.error({ key, issues: result.error.issues.slice(0, 3) }, 'stored onboarding progress does not validate');
    return undefined;
  }
}
