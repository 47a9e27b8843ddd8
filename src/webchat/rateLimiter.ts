export interface TokenBucketOptions {
  /** Requests allowed at once. */
  capacity: number;
  /** Requests regained per second. */
  refillPerSecond: number;
  /** Clients tracked before full (idle) buckets are dropped. */
  maxClients?: number;
  now?: () => number;
}

/** The answer for one request: allowed, or refused with the seconds to wait. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** A token bucket per client: bursts up to `capacity`, then `refillPerSecond` sustained. */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;

  constructor(private readonly options: TokenBucketOptions) {
    this.now = options.now ?? Date.now;
  }

  take(client: string): RateDecision {
    const now = this.now();
    const { capacity, refillPerSecond } = this.options;
    const bucket = this.buckets.get(client) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * refillPerSecond);
    bucket.at = now;
    this.buckets.delete(client);
    this.buckets.set(client, bucket); // most recently used last, so pruning starts with the oldest
    if (this.buckets.size > (this.options.maxClients ?? 50_000)) this.prune(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerSecond)) };
  }

  private prune(now: number): void {
    const { capacity, refillPerSecond } = this.options;
    const limit = this.options.maxClients ?? 50_000;
    for (const [client, b] of this.buckets) {
      const full = b.tokens + ((now - b.at) / 1000) * refillPerSecond >= capacity;
      if (full || this.buckets.size > limit) this.buckets.delete(client);
      if (this.buckets.size <= limit / 2) break;
    }
  }
}
