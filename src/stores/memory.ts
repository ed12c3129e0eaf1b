/**
 * The embedded store (`redis: memoryStore()`), for `containment dev` and tests without Redis.
 *
 * PER ISOLATE: counters, trips and quarantines live in this isolate's memory only. Two isolates
 * (two regions, two serverless instances, a restart) each count from zero, so a limit of 20 can
 * admit 20 per isolate. `status()` says so. Never use it to enforce limits in production.
 *
 * The algorithms are the Redis store's Lua scripts (limit-scripts.ts) step for step (same admit/deny
 * decisions, reset times and refunds), so a rule behaves the same in `containment dev` as against Redis. Everything is bounded:
 * counters expire with their window and the maps evict the oldest entry when full.
 */

import { ExpiringMap } from "../core/bounded.js";
import { StoreUnavailable } from "../core/errors.js";
import type { Keyring } from "../core/identity.js";
import { randomId } from "../core/random-id.js";
import type { Decision } from "../model/decision.js";
import type {
  CheckResult,
  CheckTicket,
  Limiter,
  LimiterConfig,
  LimitResult,
  RateLimitStore,
  StoreStatus,
  TripRequest,
  TripResult,
} from "../model/rate-limit-store.js";
import type { DecisionSink } from "../model/sink.js";
import { COUNTER_PREFIX } from "../rules/rate-limit/keys.js";
import { type CheckPlan, checkPlan, TOMBSTONE_MS } from "./limit-scripts.js";
import {
  countField,
  type EventFields,
  eventFieldsOf,
  minuteOf,
  type SourceEvent,
  sourceEventFields,
} from "./mirror/event-fields.js";
import type { MirrorOptions, MirrorStats } from "./mirror/options.js";
import type { StoreProvider } from "./storage.js";

export interface MemoryStoreOptions {
  /** Entries per map (counters, trips, quarantines). Default 10 000. */
  maxEntries?: number;
  now?: () => number;
}

interface TokenState {
  tokens: number;
  refilledAt: number;
}

/**
 * @example
 * const store = new MemoryStore(); // what `redis: memoryStore()` builds
 */
export class MemoryStore implements RateLimitStore {
  readonly kind = "memory";
  readonly #now: () => number;
  readonly #counters: ExpiringMap<string, number>;
  readonly #buckets: ExpiringMap<string, TokenState>;
  readonly #trips: ExpiringMap<string, number>;
  readonly #quarantines: ExpiringMap<string, string>;
  readonly #marks: ExpiringMap<string, "counted" | "refunded">;

  constructor(options: MemoryStoreOptions = {}) {
    const max = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#counters = new ExpiringMap(max, this.#now);
    this.#buckets = new ExpiringMap(max, this.#now);
    this.#trips = new ExpiringMap(max, this.#now);
    this.#quarantines = new ExpiringMap(max, this.#now);
    this.#marks = new ExpiringMap(max, this.#now);
  }

  /** Entries held (for tests of the bounds). */
  get size(): number {
    return this.#counters.size + this.#buckets.size + this.#trips.size + this.#quarantines.size;
  }

  limiter(config: LimiterConfig): Limiter {
    return {
      check: (key, quarantineKeys, ticket) => {
        for (const quarantineKey of quarantineKeys) {
          const ttlMs = this.#quarantines.ttl(quarantineKey);
          if (ttlMs > 0)
            return Promise.resolve<CheckResult>({
              quarantine: { key: quarantineKey, ttlMs },
              source: "cache",
            });
        }
        const checked = ticket ?? { id: randomId(), at: this.#now() };
        const plan = checkPlan(config, `${COUNTER_PREFIX}${key}`, checked.at);
        const markKey = `${plan.marks}|${checked.id}`;
        if (this.#marks.get(markKey) !== undefined)
          return Promise.reject(new StoreUnavailable("this check was already taken back"));
        const { result, counted, ttlMs } = this.#limit(config, plan, checked.at);
        if (counted) this.#marks.set(markKey, "counted", ttlMs);
        return Promise.resolve<CheckResult>({ limit: result, source: "store" });
      },
      refund: (key, ticket) =>
        Promise.resolve(
          this.#refund(config, checkPlan(config, `${COUNTER_PREFIX}${key}`, ticket.at), ticket),
        ),
    };
  }

  /** Same steps as CHECK_SCRIPT in limit-scripts.ts, so dev and Redis admit the same requests. */
  #limit(
    config: LimiterConfig,
    plan: CheckPlan,
    now: number,
  ): { result: LimitResult; counted: boolean; ttlMs: number } {
    const { limit, windowMs } = config;
    const [counter = "", previous = ""] = plan.counters;
    switch (config.algorithm) {
      case "fixed-window": {
        const used = (this.#counters.get(counter) ?? 0) + 1;
        this.#counters.set(counter, used, plan.ttlMs);
        const result = {
          success: used <= limit,
          limit,
          remaining: used <= limit ? limit - used : 0,
          reset: plan.reset,
        };
        return { result, counted: true, ttlMs: plan.ttlMs };
      }
      case "sliding-window": {
        const inCurrent = this.#counters.get(counter) ?? 0;
        const inPrevious = this.#counters.get(previous) ?? 0;
        // The previous window counts by the share of it still inside the sliding window.
        const weighted = Math.floor((1 - (now % windowMs) / windowMs) * inPrevious);
        if (weighted + inCurrent >= limit)
          return {
            result: { success: false, limit, remaining: 0, reset: plan.reset },
            counted: false,
            ttlMs: 0,
          };
        const used = inCurrent + 1;
        const ttlMs = this.#counters.ttl(counter) || plan.ttlMs;
        this.#counters.set(counter, used, ttlMs);
        const result = {
          success: true,
          limit,
          remaining: Math.max(0, limit - used - weighted),
          reset: plan.reset,
        };
        return { result, counted: true, ttlMs };
      }
      case "token-bucket": {
        const state = this.#buckets.get(counter) ?? { tokens: limit, refilledAt: now };
        const intervals = Math.floor((now - state.refilledAt) / windowMs);
        if (intervals > 0) {
          state.tokens = Math.min(limit, state.tokens + intervals * config.refill);
          state.refilledAt += intervals * windowMs;
        }
        const reset = state.refilledAt + windowMs;
        const success = state.tokens >= 1;
        if (success) state.tokens -= 1;
        // Forgotten once it would be full again: a fresh bucket is the same thing.
        const fullAfter = Math.ceil((limit - state.tokens) / config.refill) * windowMs;
        const ttlMs = Math.max(1, reset - now + fullAfter);
        this.#buckets.set(counter, state, ttlMs);
        return {
          result: { success, limit, remaining: Math.max(0, state.tokens), reset },
          counted: success,
          ttlMs,
        };
      }
    }
  }

  /** Same steps as REFUND_SCRIPT. */
  #refund(config: LimiterConfig, plan: CheckPlan, ticket: CheckTicket): boolean {
    const markKey = `${plan.marks}|${ticket.id}`;
    const state = this.#marks.get(markKey);
    if (state === "refunded") return false;
    const left = this.#marks.ttl(markKey);
    this.#marks.set(markKey, "refunded", left > 0 ? left : TOMBSTONE_MS);
    if (state !== "counted") return false;
    const counter = plan.counters[0] as string;
    if (config.algorithm === "token-bucket") {
      const bucket = this.#buckets.get(counter);
      if (bucket && bucket.tokens < config.limit) bucket.tokens += 1;
      return true;
    }
    const used = this.#counters.get(counter);
    if (used !== undefined && used > 0) this.#counters.set(counter, used - 1, this.#counters.ttl(counter));
    return true;
  }

  trip(request: TripRequest): Promise<TripResult> {
    const trips = (this.#trips.get(request.tripKey) ?? 0) + 1;
    const left = this.#trips.ttl(request.tripKey);
    if (trips < request.after) {
      this.#trips.set(request.tripKey, trips, left > 0 ? left : request.windowMs);
      return Promise.resolve({ trips, quarantined: false });
    }
    this.#trips.delete(request.tripKey);
    if (this.#quarantines.ttl(request.quarantineKey) === 0)
      this.#quarantines.set(request.quarantineKey, request.record, request.forMs);
    return Promise.resolve({ trips, quarantined: true });
  }

  /** The quarantine keys in force, with their evidence (for `containment dev`). */
  quarantines(): Array<{ key: string; record: string; ttlMs: number }> {
    return [...this.#quarantines.entries()].map(([key, record, ttlMs]) => ({ key, record, ttlMs }));
  }

  status(): StoreStatus {
    return {
      kind: "memory",
      scope: "per-isolate",
      prefix: "",
      databases: 0,
      note: "in-memory store: counters and quarantines are per isolate (not shared between isolates, regions or restarts); for containment dev and tests, not production",
    };
  }
}

export interface MemoryDecisionLogOptions {
  /** Events kept (a ring: the oldest go first). Default 1 000. */
  maxEvents?: number;
  /** Minutes of per-minute counts kept. Default 120. */
  maxMinutes?: number;
  /** Share of allowed decisions kept as events (counts include all). Default 1: it is local. */
  sampleAllows?: number;
  random?: () => number;
}

/**
 * The in-memory decision log that stands in for the Redis mirror with `redis: memoryStore()`: the last
 * events (same fields and privacy rules as the `events` stream) and per-minute counts. Per isolate.
 */
export class MemoryDecisionLog implements DecisionSink {
  readonly #keyring: Keyring;
  readonly #maxEvents: number;
  readonly #maxMinutes: number;
  readonly #sampleAllows: number;
  readonly #random: () => number;
  #pending: Array<Decision | SourceEvent> = [];
  readonly #events: EventFields[] = [];
  readonly #counts = new Map<number, Map<string, number>>();
  readonly #stats: MirrorStats = { recorded: 0, buffered: 0, sent: 0, dropped: 0, flushes: 0, failures: 0 };

  constructor(keyring: Keyring, options: MemoryDecisionLogOptions = {}) {
    this.#keyring = keyring;
    this.#maxEvents = Math.max(1, options.maxEvents ?? 1_000);
    this.#maxMinutes = Math.max(1, options.maxMinutes ?? 120);
    this.#sampleAllows = options.sampleAllows ?? 1;
    this.#random = options.random ?? Math.random;
  }

  record(decision: Decision): void {
    this.#stats.recorded++;
    const minute = minuteOf(decision.at);
    let fields = this.#counts.get(minute);
    if (!fields) {
      fields = new Map();
      this.#counts.set(minute, fields);
      for (const old of this.#counts.keys()) {
        if (this.#counts.size <= this.#maxMinutes) break;
        this.#counts.delete(old);
      }
    }
    const field = countField(decision);
    fields.set(field, (fields.get(field) ?? 0) + 1);
    if (decision.outcome === "allow" && !(this.#random() < this.#sampleAllows)) return;
    this.#push(decision);
  }

  recordSource(event: string, detail?: Readonly<Record<string, unknown>>, region = "local"): void {
    const message = typeof detail?.message === "string" ? detail.message : event;
    this.#push({ source: true, at: Date.now(), event, message, region });
  }

  #push(item: Decision | SourceEvent): void {
    // Pending items are shaped (pseudonymized) at flush; bounded like the ring itself.
    if (this.#pending.length >= this.#maxEvents) {
      this.#pending.shift();
      this.#stats.dropped++;
    }
    this.#pending.push(item);
  }

  async flush(): Promise<void> {
    // Take the items first: a concurrent flush (another request) then shapes a disjoint set.
    const items = this.#pending;
    this.#pending = [];
    if (items.length === 0) return;
    this.#stats.flushes++;
    for (const item of items) {
      this.#events.push(
        "source" in item ? sourceEventFields(item) : await eventFieldsOf(item, this.#keyring),
      );
      if (this.#events.length > this.#maxEvents) this.#events.shift();
      this.#stats.sent++;
    }
  }

  /** The most recent events, newest last. */
  events(): readonly EventFields[] {
    return [...this.#events];
  }

  /** `minute → { "rule|outcome": n }`. */
  counts(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [minute, fields] of this.#counts) out[String(minute)] = Object.fromEntries(fields);
    return out;
  }

  stats(): MirrorStats {
    return { ...this.#stats, buffered: this.#pending.length };
  }
}

/**
 * The per-isolate store as a value for `ContainmentOptions.redis`, with an in-memory decision log in
 * place of the Redis mirror. For `containment dev` and tests: counts are per isolate (see above).
 *
 * @example
 * import { memoryStore } from "edge-containment/memory";
 * const containment = createContainment({ rules, redis: memoryStore() });
 */
export function memoryStore(options: Omit<MemoryStoreOptions, "now"> = {}): StoreProvider {
  return {
    kind: "memory",
    create: ({
      keyring,
      now,
      mirror,
    }: {
      keyring: Keyring;
      now: () => number;
      mirror: MirrorOptions | undefined;
    }) => {
      const store = new MemoryStore({ ...options, now });
      if (!mirror) return { store };
      const log = new MemoryDecisionLog(
        keyring,
        mirror.sampleAllows === undefined ? {} : { sampleAllows: mirror.sampleAllows },
      );
      return { store, mirror: log };
    },
  };
}
