/**
 * What rate-limit rules need from a store: count, look up quarantines, record trips. Two
 * implementations: Redis through @upstash/redis and @upstash/ratelimit (redis.ts, shared by every
 * isolate and region), and an in-memory one (memory.ts, per isolate, for `containment dev`).
 *
 * Keys given to a store are relative (`quarantine:ip:1f2e…`); the store adds the Redis prefix.
 */

export type Algorithm = "fixed-window" | "sliding-window" | "token-bucket";

/** How an algorithm is named in counter keys and in the store's scripts. */
export const ALGORITHM_CODE: Readonly<Record<Algorithm, "fw" | "sw" | "tb">> = {
  "fixed-window": "fw",
  "sliding-window": "sw",
  "token-bucket": "tb",
};

export interface LimiterConfig {
  /** The rule id (for reports). */
  readonly name: string;
  readonly algorithm: Algorithm;
  /** Requests per window; the bucket size for token bucket. */
  readonly limit: number;
  readonly windowMs: number;
  /** Token bucket: tokens added per window. */
  readonly refill: number;
}

export interface LimitResult {
  readonly success: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** When the counter resets (or the next token arrives), ms since epoch. */
  readonly reset: number;
}

export interface CheckResult {
  /** Absent when a quarantine already known in this isolate answered before any counting. */
  readonly limit?: LimitResult;
  /** The first of the asked quarantine keys that is set, with its time left. */
  readonly quarantine?: { readonly key: string; readonly ttlMs: number };
  /** `cache`: answered in the isolate, no Redis call was made. */
  readonly source: "store" | "cache";
}

/**
 * Names one check so it can be taken back: `id` is unique per check, `at` is the checker's clock
 * when it checked (it picks the window, so the refund finds the same counter).
 */
export interface CheckTicket {
  readonly id: string;
  readonly at: number;
}

export interface Limiter {
  /**
   * Counts one request against `key` and checks the quarantine keys, in one Redis round trip where
   * the store can. Rejects when the store is unreachable or erroring; callers put a deadline on it.
   */
  check(key: string, quarantineKeys: readonly string[], ticket?: CheckTicket): Promise<CheckResult>;
  /**
   * Takes back the check `ticket` named (its answer was not used: the deadline passed and the fail
   * mode answered). Exact and idempotent: only what that check counted is returned, at most once;
   * a refund that arrives before its check keeps the check from counting. Resolves true when
   * something was returned.
   */
  refund(key: string, ticket: CheckTicket): Promise<boolean>;
}

export interface TripRequest {
  /** Counter of trips for one identity of one rule; expires `windowMs` after the first trip. */
  readonly tripKey: string;
  readonly quarantineKey: string;
  readonly after: number;
  readonly windowMs: number;
  /** How long a quarantine lasts. */
  readonly forMs: number;
  /** The quarantine key's value: JSON evidence (rule, scope, when; pseudonyms only). */
  readonly record: string;
}

export interface TripResult {
  readonly trips: number;
  /** This trip reached `after` and the quarantine is now set. */
  readonly quarantined: boolean;
}

export interface StoreStatus {
  readonly kind: "redis" | "memory";
  /** `per-isolate`: counts and quarantines are not shared between isolates, regions or restarts. */
  readonly scope: "global" | "per-isolate";
  readonly prefix: string;
  /** Redis databases behind the store: 1 for Redis, 0 in memory. */
  readonly databases: number;
  readonly note: string;
}

export interface RateLimitStore {
  readonly kind: StoreStatus["kind"];
  /** Called once per rule at compile time. */
  limiter(config: LimiterConfig): Limiter;
  /** Counts a trip; at `after` trips sets the quarantine key with its TTL. */
  trip(request: TripRequest): Promise<TripResult>;
  status(): StoreStatus;
}
