/**
 * A Map that never holds more than `max` entries: setting a new key when full evicts the entry set
 * longest ago. Every per-isolate cache (pseudonyms, @upstash/ratelimit's ephemeral cache, known
 * quarantines, the memory store) is one of these, so an attacker rotating identities can make us
 * forget, but never run the isolate out of memory.
 *
 * It is a real Map subclass because @upstash/ratelimit takes its `ephemeralCache` only as
 * `instanceof Map`.
 *
 * @example
 * const cache = new BoundedMap<string, number>(10_000);
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #max: number;

  constructor(max: number) {
    super();
    this.#max = Math.max(1, Math.floor(max));
  }

  get max(): number {
    return this.#max;
  }

  override set(key: K, value: V): this {
    if (super.has(key)) {
      // Re-inserting moves the key to the young end, so eviction is least-recently-set.
      super.delete(key);
    } else if (this.size >= this.#max) {
      const oldest = this.keys().next();
      if (!oldest.done) super.delete(oldest.value);
    }
    return super.set(key, value);
  }
}

/**
 * A bounded map whose entries carry their own expiry. Expired entries are swept when the map is
 * full (amortized: at most once per `max / 4` insertions), before the oldest live entry is evicted.
 */
export class ExpiringMap<K, V> {
  readonly #entries: BoundedMap<K, { value: V; expiresAt: number }>;
  readonly #now: () => number;
  #insertsSinceSweep = 0;

  constructor(max: number, now: () => number = Date.now) {
    this.#entries = new BoundedMap(max);
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Milliseconds the entry has left, or 0 when absent or expired. */
  ttl(key: K): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    const left = entry.expiresAt - this.#now();
    if (left <= 0) {
      this.#entries.delete(key);
      return 0;
    }
    return left;
  }

  set(key: K, value: V, ttlMs: number): void {
    this.#insertsSinceSweep++;
    if (this.#entries.size >= this.#entries.max && this.#insertsSinceSweep >= this.#entries.max / 4)
      this.sweep();
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs });
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  /** Live entries with their time left. */
  *entries(): IterableIterator<[K, V, number]> {
    const now = this.#now();
    for (const [key, entry] of this.#entries)
      if (entry.expiresAt > now) yield [key, entry.value, entry.expiresAt - now];
  }

  /** Drops every expired entry. */
  sweep(): void {
    this.#insertsSinceSweep = 0;
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }
}
