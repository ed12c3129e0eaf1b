/**
 * Redis for the edge: @upstash/redis over HTTP, running this project's rate-limit scripts
 * (limit-scripts.ts: why they are ours and not @upstash/ratelimit's).
 *
 * The client comes from `@upstash/redis/cloudflare`: the package root (`nodejs`) reads `process`
 * for telemetry and env, which workerd without nodejs_compat does not have; the cloudflare entry is
 * plain fetch. Retries are off: the client's default (5 retries, ~4 s of backoff) would blow every
 * deadline, and a retried INCR after a reset connection can count twice. Auto-pipelining is off:
 * it batches commands of concurrent requests into one fetch, and workerd forbids one request to
 * await I/O begun by another. One check is one script call (count + quarantine lookup), so there
 * is nothing to batch.
 */

import { Redis } from "@upstash/redis/cloudflare";
import { BoundedMap, ExpiringMap } from "../core/bounded.js";
import { ConfigInvalid, StoreUnavailable } from "../core/errors.js";
import { randomId } from "../core/random-id.js";
import { DEFAULT_REDIS_PREFIX } from "../model/defaults.js";
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
import { ALGORITHM_CODE } from "../model/rate-limit-store.js";
import { COUNTER_PREFIX } from "../rules/rate-limit/keys.js";
import { CHECK_SCRIPT, checkPlan, REFUND_SCRIPT, TOMBSTONE_MS, TRIP_SCRIPT } from "./limit-scripts.js";
import { type LuaScript, luaScript } from "./script-runner.js";
import { isStoreProvider, type StoreProvider } from "./storage.js";

/** One Upstash (or Upstash-compatible) REST database. */
export interface RedisConnection {
  url: string;
  token: string;
}

/** `ContainmentOptions.redis`: one Upstash database, or a store value (`memoryStore()`). */
export type RedisOption = RedisConnection | StoreProvider;

/**
 * The database to use: the option, else `UPSTASH_REDIS_REST_URL`/`_TOKEN`, else Vercel KV's
 * `KV_REST_API_URL`/`_TOKEN`. Undefined when none is configured.
 */
export function redisConnection(
  option: RedisOption | undefined,
  env: Readonly<Record<string, string | undefined>>,
): RedisConnection | StoreProvider | undefined {
  if ((option as unknown) === "memory") {
    // The string form relied on a registration at import time, which bundlers drop.
    throw new ConfigInvalid(
      'redis: "memory" is no longer accepted: pass redis: memoryStore() from "edge-containment/memory"',
    );
  }
  if (isStoreProvider(option)) return option;
  if (Array.isArray(option)) {
    // Rate limits, quarantines and the mirror live in one database; a list only ever used its first.
    throw new ConfigInvalid("redis: takes one database { url, token }, not a list");
  }
  if (option !== undefined) return option;
  const url = env.UPSTASH_REDIS_REST_URL ?? env.KV_REST_API_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN ?? env.KV_REST_API_TOKEN;
  return url && token ? { url, token } : undefined;
}

/**
 * An edge-safe @upstash/redis client: no retries (callers hold deadlines), no telemetry, no
 * auto-pipelining (see the file comment).
 *
 * @example
 * const redis = createRedisClient({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
 */
export function createRedisClient(connection: RedisConnection): Redis {
  return new Redis({
    url: connection.url,
    token: connection.token,
    retry: { retries: 0 },
    enableTelemetry: false,
    enableAutoPipelining: false,
    latencyLogging: false,
  });
}

export interface UpstashStoreOptions {
  connection: RedisConnection;
  /** Key prefix, default `containment:`. */
  prefix?: string;
  now?: () => number;
  /** Entries of the over-limit cache and of known quarantines, each. Default 10 000. */
  cacheSize?: number;
  /** Answer known over-limit and quarantined identities in the isolate. Default true (false: every check asks Redis). */
  cache?: boolean;
}

/** How long an isolate answers a known quarantine without asking Redis again (see #rememberQuarantine). */
const QUARANTINE_RECHECK_MS = 5_000;

type ScriptReply = [number | string, number | string, number | string];

/** Every failure of a Redis call is a StoreUnavailable (with the cause), whatever the client threw. */
async function redisCall<T>(call: Promise<T>): Promise<T> {
  try {
    const reply = await call;
    if (!Array.isArray(reply) && typeof reply !== "number")
      throw new StoreUnavailable(`redis answered a script with ${typeof reply}`);
    return reply;
  } catch (error) {
    if (error instanceof StoreUnavailable) throw error;
    throw new StoreUnavailable("redis request failed", { cause: error });
  }
}

/**
 * The Redis store. Caches live here, not in the compiled rules, so they survive a rules flip:
 * `overLimit` holds identities known to be over their limit until their reset (no Redis call for
 * them), `quarantined` identities known to be quarantined, for a few seconds at a time (a release
 * must reach every isolate).
 */
export class UpstashStore implements RateLimitStore {
  readonly kind = "redis";
  readonly prefix: string;
  readonly primary: Redis;
  readonly #check: LuaScript;
  readonly #refund: LuaScript;
  readonly #trip: LuaScript;
  readonly #overLimit: BoundedMap<string, number>;
  /** Quarantine key → when it ends; each entry is kept at most QUARANTINE_RECHECK_MS. */
  readonly #quarantined: ExpiringMap<string, number>;
  readonly #now: () => number;
  readonly #cache: boolean;

  constructor(options: UpstashStoreOptions) {
    this.prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.primary = createRedisClient(options.connection);
    this.#check = luaScript(this.primary, CHECK_SCRIPT);
    this.#refund = luaScript(this.primary, REFUND_SCRIPT);
    this.#trip = luaScript(this.primary, TRIP_SCRIPT);
    this.#now = options.now ?? Date.now;
    this.#cache = options.cache ?? true;
    this.#overLimit = new BoundedMap(options.cacheSize ?? 10_000);
    this.#quarantined = new ExpiringMap(options.cacheSize ?? 10_000, this.#now);
  }

  limiter(config: LimiterConfig): Limiter {
    const prefix = `${this.prefix}${COUNTER_PREFIX}`;
    return {
      check: (key, quarantineKeys, ticket) =>
        this.#checkOne(config, prefix + key, quarantineKeys, ticket ?? { id: randomId(), at: this.#now() }),
      refund: (key, ticket) => this.#refundOne(config, prefix + key, ticket),
    };
  }

  /** Answers from the isolate's caches when it can: a known quarantine, a known over-limit identity. */
  #cached(
    config: LimiterConfig,
    fullKey: string,
    quarantineKeys: readonly string[],
  ): CheckResult | undefined {
    for (const quarantineKey of quarantineKeys) {
      const ttlMs = (this.#quarantined.get(quarantineKey) ?? 0) - this.#now();
      if (ttlMs > 0) return { quarantine: { key: quarantineKey, ttlMs }, source: "cache" };
    }
    const blockedUntil = this.#overLimit.get(fullKey);
    if (blockedUntil === undefined) return undefined;
    if (blockedUntil <= this.#now()) {
      this.#overLimit.delete(fullKey);
      return undefined;
    }
    return {
      limit: { success: false, limit: config.limit, remaining: 0, reset: blockedUntil },
      source: "cache",
    };
  }

  async #checkOne(
    config: LimiterConfig,
    fullKey: string,
    quarantineKeys: readonly string[],
    ticket: CheckTicket,
  ): Promise<CheckResult> {
    const cached = this.#cache ? this.#cached(config, fullKey, quarantineKeys) : undefined;
    if (cached) return cached;
    const plan = checkPlan(config, fullKey, ticket.at);
    const keys = [plan.marks, ...plan.counters, ...quarantineKeys.map((key) => this.prefix + key)];
    const args = [
      ALGORITHM_CODE[config.algorithm],
      String(config.limit),
      String(config.windowMs),
      String(config.refill),
      String(ticket.at),
      String(plan.counters.length),
      String(quarantineKeys.length),
      ticket.id,
      String(plan.ttlMs),
    ];
    const [first, second, third] = ((await redisCall(this.#check.run(keys, args))) as ScriptReply).map(
      Number,
    ) as [number, number, number];
    if (first === -1) {
      const quarantineKey = quarantineKeys[second - 1] as string;
      // -1: a key without expiry (set by hand); treat as quarantined and look again in a minute.
      const ttlMs = third > 0 ? third : 60_000;
      this.#rememberQuarantine(quarantineKey, ttlMs);
      return { quarantine: { key: quarantineKey, ttlMs }, source: "store" };
    }
    if (first === -2) throw new StoreUnavailable("this check was already taken back");
    const reset = config.algorithm === "token-bucket" ? third : plan.reset;
    const limit: LimitResult = { success: first === 1, limit: config.limit, remaining: second, reset };
    if (!limit.success) this.#overLimit.set(fullKey, reset);
    return { limit, source: "store" };
  }

  async #refundOne(config: LimiterConfig, fullKey: string, ticket: CheckTicket): Promise<boolean> {
    const plan = checkPlan(config, fullKey, ticket.at);
    const args = [ALGORITHM_CODE[config.algorithm], ticket.id, String(config.limit), String(TOMBSTONE_MS)];
    const reply = await redisCall(this.#refund.run([plan.marks, plan.counters[0] as string], args));
    // The identity may have a place again: forget that it was over its limit.
    if (Number(reply) === 1) this.#overLimit.delete(fullKey);
    return Number(reply) === 1;
  }

  async trip(request: TripRequest): Promise<TripResult> {
    const reply = (await redisCall(
      this.#trip.run(
        [this.prefix + request.tripKey, this.prefix + request.quarantineKey],
        [String(request.windowMs), String(request.after), String(request.forMs), request.record],
      ),
    )) as ScriptReply;
    const quarantined = Number(reply[1]) === 1;
    // The quarantine may have been set earlier by another isolate: cache it for what it has left.
    const ttlMs = Number(reply[2]) > 0 ? Number(reply[2]) : request.forMs;
    if (quarantined) this.#rememberQuarantine(request.quarantineKey, ttlMs);
    return { trips: Number(reply[0]), quarantined };
  }

  /**
   * Known for a few seconds only, not for the quarantine's whole TTL: a responder's `quarantine
   * release` deletes the key, and every isolate must see that within seconds, not in 15 minutes.
   */
  #rememberQuarantine(key: string, ttlMs: number): void {
    this.#quarantined.set(key, this.#now() + ttlMs, Math.min(ttlMs, QUARANTINE_RECHECK_MS));
  }

  status(): StoreStatus {
    return {
      kind: "redis",
      scope: "global",
      prefix: this.prefix,
      databases: 1,
      note: "rate limits shared by all isolates through Redis",
    };
  }
}
