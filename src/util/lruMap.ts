/**
 * A map that keeps its recently used entries: at least the last `capacity` used, at most twice as
 * many. Entries live in two generations; a used entry moves to the newer one, and when the newer one
 * is full the older one is dropped whole. (Evicting one oldest entry at a time from a Map means
 * iterating from its front, which V8 makes skip every entry deleted there before: several µs per
 * eviction at a few thousand entries.)
 */
export class LruMap<K, V> {
  private recent = new Map<K, V>();
  private older = new Map<K, V>();

  constructor(
    private readonly capacity: number,
    /** Told of each entry dropped to make room (not of deletes or replacements). */
    private readonly onEvict?: (key: K, value: V) => void
  ) {
    if (!(capacity >= 1)) throw new RangeError('LruMap: capacity must be at least 1');
  }

  get size(): number {
    return this.recent.size + this.older.size;
  }

  /** The value, which becomes recently used. */
  get(key: K): V | undefined {
    const value = this.recent.get(key);
    if (value !== undefined) return value;
    const old = this.older.get(key);
    if (old !== undefined) {
      this.older.delete(key);
      this.keep(key, old);
    }
    return old;
  }

  /** The value, leaving its use as it was. */
  peek(key: K): V | undefined {
    return this.recent.get(key) ?? this.older.get(key);
  }

  /** Stores the value as recently used. */
  set(key: K, value: V): void {
    if (this.recent.has(key)) {
      this.recent.set(key, value);
      return;
    }
    this.older.delete(key);
    this.keep(key, value);
  }

  delete(key: K): void {
    this.recent.delete(key);
    this.older.delete(key);
  }

  private keep(key: K, value: V): void {
    if (this.recent.size >= this.capacity) {
      const dropped = this.older;
      this.older = this.recent;
      this.recent = new Map();
      if (this.onEvict) for (const [k, v] of dropped) this.onEvict(k, v);
    }
    this.recent.set(key, value);
  }
}
