/**
 * Redis for the edge: @upstash/redis over HTTP and @upstash/ratelimit on top.
 *
 * The client comes from `@upstash/redis/cloudflare`: the package root (`nodejs`) reads `process`
 * for telemetry and env, which workerd without nodejs_compat does not have; the cloudflare entry is
 * plain fetch. Retries are off: the client's default (5 retries, ~4 s of backoff) would blow every
 * deadline, and a retried INCR after a reset connection can count twice. Auto-pipelining is off:
 * it batches commands of concurrent requests into one fetch, and workerd forbids one request to
 * await I/O begun by another. We batch explicitly, per request, instead (`Batch` below).
 */
import { MultiRegionRatelimit, Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis/cloudflare";
import { BoundedMap, ExpiringMap } from "../core/bounded.js";
import { ConfigInvalid, StoreUnavailable } from "../core/errors.js";
import type {
  CheckResult,
  Limiter,
  LimiterConfig,
  LimitResult,
  RateLimitStore,
  StoreStatus,
  TripRequest,
  TripResult,
} from "../model/store.js";
import { isStoreProvider, type StoreProvider } from "./storage.js";

/** One Upstash (or Upstash-compatible) REST database. */
export interface RedisConnection {
  url: string;
  token: string;
}

/** `ContainmentOptions.redis`: one database, several (multi-region rate limits), or a store value (`memoryStore()`). */
export type RedisOption = RedisConnection | readonly RedisConnection[] | StoreProvider;

/**
 * The databases to use: the option, else `UPSTASH_REDIS_REST_URL`/`_TOKEN`, else Vercel KV's
 * `KV_REST_API_URL`/`_TOKEN`. Undefined when none is configured.
 */
export function redisConnections(
  option: RedisOption | undefined,
  env: Readonly<Record<string, string | undefined>>,
): RedisConnection[] | StoreProvider | undefined {
  if ((option as unknown) === "memory") {
    // The string form relied on a registration at import time, which bundlers drop.
    throw new ConfigInvalid(
      'redis: "memory" is no longer accepted: pass redis: memoryStore() from "edge-containment/memory"',
    );
  }
  if (isStoreProvider(option)) return option;
  if (option !== undefined) {
    const list = Array.isArray(option)
      ? [...(option as readonly RedisConnection[])]
      : [option as RedisConnection];
    return list.length > 0 ? list : undefined;
  }
  const url = env.UPSTASH_REDIS_REST_URL ?? env.KV_REST_API_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN ?? env.KV_REST_API_TOKEN;
  return url && token ? [{ url, token }] : undefined;
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

type Pipeline = ReturnType<Redis["pipeline"]>;

interface PendingCommand {
  apply(pipeline: Pipeline): void;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Commands of ONE request, sent as one `/pipeline` call; each caller gets its own result or error. */
class Batch {
  readonly #commands: PendingCommand[] = [];

  get size(): number {
    return this.#commands.length;
  }

  add<T>(apply: (pipeline: Pipeline) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#commands.push({ apply, resolve: resolve as (value: unknown) => void, reject });
    });
  }

  async send(client: Redis): Promise<void> {
    if (this.#commands.length === 0) return;
    const pipeline = client.pipeline();
    for (const command of this.#commands) command.apply(pipeline);
    try {
      const results = await pipeline.exec({ keepErrors: true });
      this.#commands.forEach((command, index) => {
        const reply = results[index];
        if (!reply) command.reject(new StoreUnavailable("pipeline answered fewer replies than commands"));
        else if (reply.error) command.reject(new StoreUnavailable(`redis replied: ${reply.error}`));
        else command.resolve(reply.result);
      });
    } catch (error) {
      const failed = new StoreUnavailable("redis request failed", { cause: error });
      for (const command of this.#commands) command.reject(failed);
    }
  }
}

/**
 * What @upstash/ratelimit sees as its Redis. While `capture` runs, the library's EVALSHA goes into
 * the caller's batch instead of its own fetch, so the limit and our quarantine lookups share one
 * round trip. This relies on `Ratelimit.limit()` calling `evalsha` synchronously (it does: no await
 * precedes it); if a future version awaits first, the call simply goes out on its own (correct,
 * one request more). Outside `capture` (e.g. the library's EVAL fallback on NOSCRIPT) calls go
 * straight to the client.
 */
class CapturingRedis {
  #batch: Batch | undefined;

  constructor(readonly client: Redis) {}

  capture<T>(batch: Batch, run: () => T): T {
    this.#batch = batch;
    try {
      return run();
    } finally {
      this.#batch = undefined;
    }
  }

  evalsha(sha: string, keys: string[], args: unknown[]): Promise<unknown> {
    const batch = this.#batch;
    if (!batch) return this.client.evalsha(sha, keys, args);
    this.#batch = undefined;
    return batch.add((pipeline) => pipeline.evalsha(sha, keys, args));
  }

  eval(script: string, keys: string[], args: unknown[]): Promise<unknown> {
    const batch = this.#batch;
    if (!batch) return this.client.eval(script, keys, args);
    this.#batch = undefined;
    return batch.add((pipeline) => pipeline.eval(script, keys, args));
  }

  get(key: string): Promise<unknown> {
    return this.client.get(key);
  }

  set(key: string, value: unknown): Promise<unknown> {
    return this.client.set(key, value);
  }
}

/**
 * One Lua call per trip: count it, start the trip window on the first, and at `after` trips set
 * the quarantine (NX: a quarantine already running is not extended) and reset the count; answers
 * [trips, quarantined?, the quarantine's ms left].
 * Plain Lua without a shebang, so it runs on Upstash and on plain Redis alike.
 */
const TRIP_SCRIPT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3], 'NX')
  redis.call('DEL', KEYS[1])
  return {n, 1, redis.call('PTTL', KEYS[2])}
end
return {n, 0, 0}`;

export interface UpstashStoreOptions {
  connections: readonly RedisConnection[];
  /** Key prefix, default `containment:`. */
  prefix?: string;
  /** Report hook for setup notes (e.g. token bucket on several databases). */
  report?: (event: string, detail?: Readonly<Record<string, unknown>>) => void;
  now?: () => number;
  /** Entries of the ephemeral (over-limit) cache and of known quarantines, each. Default 10 000. */
  cacheSize?: number;
}

/**
 * The Redis store. Caches live here, not in the compiled rules, so they survive a rules flip:
 * `ephemeral` holds identities known to be over their limit until their reset (no Redis call for
 * them, @upstash/ratelimit's `ephemeralCache`), `quarantined` identities known to be quarantined
 * until the quarantine's TTL.
 */
export class UpstashStore implements RateLimitStore {
  readonly kind = "redis";
  readonly prefix: string;
  readonly clients: readonly Redis[];
  readonly #capturing: CapturingRedis;
  readonly #ephemeral: BoundedMap<string, number>;
  readonly #quarantined: ExpiringMap<string, true>;
  readonly #now: () => number;
  readonly #report: NonNullable<UpstashStoreOptions["report"]>;

  constructor(options: UpstashStoreOptions) {
    if (options.connections.length === 0)
      throw new ConfigInvalid("the Redis store needs at least one database");
    this.prefix = options.prefix ?? "containment:";
    this.clients = options.connections.map(createRedisClient);
    this.#capturing = new CapturingRedis(this.primary);
    this.#now = options.now ?? Date.now;
    this.#ephemeral = new BoundedMap(options.cacheSize ?? 10_000);
    this.#quarantined = new ExpiringMap(options.cacheSize ?? 10_000, this.#now);
    this.#report = options.report ?? (() => {});
  }

  get primary(): Redis {
    return this.clients[0] as Redis;
  }

  limiter(config: LimiterConfig): Limiter {
    const window = `${config.windowMs} ms` as const;
    const prefix = `${this.prefix}rl`;
    const common = { prefix, ephemeralCache: this.#ephemeral, timeout: 0, analytics: false } as const;
    const multi = this.clients.length > 1;
    let ratelimit: Ratelimit | MultiRegionRatelimit;
    if (multi && config.algorithm !== "token-bucket") {
      const limiter =
        config.algorithm === "fixed-window"
          ? MultiRegionRatelimit.fixedWindow(config.limit, window)
          : MultiRegionRatelimit.slidingWindow(config.limit, window);
      // Same class as the package root's Redis; only the declared entry differs.
      const redis = [...this.clients] as unknown as ConstructorParameters<
        typeof MultiRegionRatelimit
      >[0]["redis"];
      ratelimit = new MultiRegionRatelimit({ ...common, redis, limiter });
    } else {
      if (multi) {
        this.#report("store-single-region", {
          rule: config.name,
          message:
            "token-bucket has no multi-region form in @upstash/ratelimit; it counts on the first database only",
        });
      }
      const limiter =
        config.algorithm === "fixed-window"
          ? Ratelimit.fixedWindow(config.limit, window)
          : config.algorithm === "sliding-window"
            ? Ratelimit.slidingWindow(config.limit, window)
            : Ratelimit.tokenBucket(config.refill, window, config.limit);
      // enableProtection stays off: it downloads IP deny lists from the internet on the hot path.
      ratelimit = new Ratelimit({
        ...common,
        redis: this.#capturing as unknown as Redis,
        limiter,
        enableProtection: false,
      });
    }
    const batched = !(ratelimit instanceof MultiRegionRatelimit);
    return {
      check: (key, quarantineKeys) =>
        this.#check(ratelimit, batched, config, `${prefix}:${key}`, key, quarantineKeys),
    };
  }

  async #check(
    ratelimit: Ratelimit | MultiRegionRatelimit,
    batched: boolean,
    config: LimiterConfig,
    fullKey: string,
    key: string,
    quarantineKeys: readonly string[],
  ): Promise<CheckResult> {
    for (const quarantineKey of quarantineKeys) {
      const ttlMs = this.#quarantined.ttl(quarantineKey);
      if (ttlMs > 0) return { quarantine: { key: quarantineKey, ttlMs }, source: "cache" };
    }
    const blockedUntil = this.#ephemeral.get(fullKey);
    if (blockedUntil !== undefined && blockedUntil > this.#now()) {
      return {
        limit: { success: false, limit: config.limit, remaining: 0, reset: blockedUntil },
        source: "cache",
      };
    }

    let response: ReturnType<Ratelimit["limit"]>;
    let ttls: Promise<number[]>;
    if (batched) {
      const batch = new Batch();
      response = this.#capturing.capture(batch, () => ratelimit.limit(key));
      const lookups = quarantineKeys.map((quarantineKey) =>
        batch.add<number>((pipeline) => pipeline.pttl(this.prefix + quarantineKey)),
      );
      ttls = Promise.all(lookups);
      // Both are awaited below; until then a rejection must not count as unhandled.
      response.catch(() => {});
      ttls.catch(() => {});
      await batch.send(this.primary);
    } else {
      response = ratelimit.limit(key);
      // Several databases: the limit survives one of them being down, so the quarantine lookup on
      // the first must not fail the check; it is an escalation, skipped during a partial outage.
      ttls = this.#pttls(quarantineKeys).catch((error: unknown) => {
        this.#report("store-error", { message: `quarantine lookup failed: ${String(error).slice(0, 200)}` });
        return [];
      });
    }
    const [result, found] = await Promise.all([response, ttls]);
    if (result.reason === "timeout") throw new StoreUnavailable("ratelimit timed out"); // never fail open

    const limit: LimitResult = {
      success: result.success,
      limit: result.limit,
      remaining: result.remaining,
      reset: result.reset,
    };
    const pending = result.pending;
    for (const [index, ttl] of found.entries()) {
      // -1: a key without expiry (set by hand); treat as quarantined and look again in a minute.
      if (ttl > 0 || ttl === -1) {
        const quarantineKey = quarantineKeys[index] as string;
        const ttlMs = ttl > 0 ? ttl : 60_000;
        this.#quarantined.set(quarantineKey, true, ttlMs);
        return { limit, quarantine: { key: quarantineKey, ttlMs }, source: "store", pending };
      }
    }
    return { limit, source: "store", pending };
  }

  async #pttls(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const pipeline = this.primary.pipeline();
    for (const key of keys) pipeline.pttl(this.prefix + key);
    return (await pipeline.exec()) as number[];
  }

  async trip(request: TripRequest): Promise<TripResult> {
    const reply = (await this.primary.eval(
      TRIP_SCRIPT,
      [this.prefix + request.tripKey, this.prefix + request.quarantineKey],
      [String(request.windowMs), String(request.after), String(request.forMs), request.record],
    )) as [number, number, number];
    const quarantined = Number(reply[1]) === 1;
    // The quarantine may have been set earlier by another isolate: cache it for what it has left.
    const ttlMs = Number(reply[2]) > 0 ? Number(reply[2]) : request.forMs;
    if (quarantined) this.#quarantined.set(request.quarantineKey, true, ttlMs);
    return { trips: Number(reply[0]), quarantined };
  }

  status(): StoreStatus {
    return {
      kind: "redis",
      scope: "global",
      prefix: this.prefix,
      databases: this.clients.length,
      note:
        this.clients.length > 1
          ? "rate limits shared by all isolates through several Redis databases (MultiRegionRatelimit)"
          : "rate limits shared by all isolates through Redis",
    };
  }
}
