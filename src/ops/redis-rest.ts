/**
 * ResponderRedis over Upstash REST with `@upstash/redis` (the `/cloudflare` entry: fetch only, no
 * `process`, so the mounted dashboard runs it at the edge too). The token is the REST token of the
 * responder's (or, for a dashboard, the read-only) credential; it travels only in the
 * Authorization header, to the configured URL.
 *
 * No retries (the client's default retries a dead network for seconds), an abort signal per
 * request, raw replies (`automaticDeserialization: false`), and batching: calls made in the same
 * tick go out as one pipeline request (up to 1 000 commands each), as the explicit pipelines did
 * before. The client's own auto-pipelining leaves out exactly the reads the reports make many of
 * (HGETALL, ZRANGE, XRANGE), which then went out as one request each.
 */
import { type Pipeline, Redis } from "@upstash/redis/cloudflare";
import { redactSecrets } from "../core/redact.js";
import type { ResponderRedis } from "../model/responder-redis.js";
import { configError } from "./errors.js";
import { type FailureContext, redisFailure } from "./redis-failure.js";
import { DEFAULT_COMMAND_TIMEOUT_MS, type RedisDeadlines, type RedisSettings } from "./redis-options.js";
import * as reply from "./redis-replies.js";

export interface RestRedisOptions extends RedisDeadlines {
  settings?: RedisSettings;
}

const REST_SETTINGS: RedisSettings = {
  url: "UPSTASH_REDIS_REST_URL",
  credential: "UPSTASH_REDIS_REST_TOKEN",
};

/**
 * From a URL and token; or around a client the caller made (the mounted dashboard's `redis`
 * option), which must be made with `automaticDeserialization: false` or values that look like
 * JSON come back parsed.
 *
 * @example
 * const redis = restRedis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN });
 * await redis.hgetall("containment:enforcing"); // { "fra1": "…" } or null
 */
export function restRedis(
  connection: { url: string; token: string } | Redis,
  options: RestRedisOptions = {},
): ResponderRedis {
  const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const ctx: FailureContext = {
    endpoint: connection instanceof Redis ? "the Upstash REST endpoint" : redactSecrets(connection.url),
    settings: options.settings ?? REST_SETTINGS,
    commandTimeoutMs: timeoutMs,
  };
  if (connection instanceof Redis) return overUpstash(connection, ctx);
  let client: Redis;
  try {
    client = new Redis({
      url: connection.url,
      token: connection.token,
      retry: { retries: 0 },
      signal: () => AbortSignal.timeout(timeoutMs),
      automaticDeserialization: false,
      enableAutoPipelining: false,
      enableTelemetry: false,
      latencyLogging: false,
    });
  } catch {
    // The client's own message quotes the URL whole.
    throw configError(`${ctx.settings.url} is not an https:// URL the REST client takes: ${ctx.endpoint}`);
  }
  return overUpstash(client, ctx);
}

const MAX_BATCH = 1_000;

interface Queued {
  add(pipeline: Pipeline): void;
  resolve(reply: unknown): void;
  reject(error: unknown): void;
}

/** Queues each call; at the end of the tick, what was queued goes out as pipeline requests. */
function batcher(client: Redis): (add: (pipeline: Pipeline) => void) => Promise<unknown> {
  let queue: Queued[] = [];
  const send = async (batch: Queued[]) => {
    const pipeline = client.pipeline();
    for (const queued of batch) queued.add(pipeline);
    try {
      const replies = await pipeline.exec<Array<{ error?: string; result: unknown }>>({ keepErrors: true });
      batch.forEach((queued, i) => {
        const answer = replies[i];
        if (answer?.error) queued.reject(new Error(answer.error));
        else queued.resolve(answer?.result ?? null);
      });
    } catch (error) {
      for (const queued of batch) queued.reject(error);
    }
  };
  const flush = () => {
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += MAX_BATCH) void send(all.slice(i, i + MAX_BATCH));
  };
  return (add) =>
    new Promise((resolve, reject) => {
      if (queue.length === 0) queueMicrotask(flush);
      queue.push({ add, resolve, reject });
    });
}

function overUpstash(client: Redis, ctx: FailureContext): ResponderRedis {
  const batched = batcher(client);
  const call = async <T>(command: string, work: () => Promise<unknown>, shape: (reply: unknown) => T) => {
    try {
      return shape(await work());
    } catch (error) {
      throw redisFailure(error, command, ctx, true);
    }
  };
  const queue = <T>(command: string, add: (pipeline: Pipeline) => void, shape: (reply: unknown) => T) =>
    call(command, () => batched(add), shape);
  return {
    ping: () => queue("PING", (p) => p.ping(), reply.text),
    get: (key) => queue("GET", (p) => p.get(key), reply.textOrNull),
    mget: (keys) => queue("MGET", (p) => p.mget(...keys), reply.textsOrNull),
    del: (...keys) => queue("DEL", (p) => p.del(...keys), reply.integer),
    pttl: (key) => queue("PTTL", (p) => p.pttl(key), reply.integer),
    pexpire: (key, ms) => queue("PEXPIRE", (p) => p.pexpire(key, ms), reply.flag),
    persist: (key) => queue("PERSIST", (p) => p.persist(key), reply.flag),
    copy: (source, target) => queue("COPY", (p) => p.copy(source, target, { replace: true }), reply.flag),
    hgetall: (key) => queue("HGETALL", (p) => p.hgetall(key), reply.record),
    hset: (key, fields) => queue("HSET", (p) => p.hset(key, { ...fields }), reply.integer),
    hsetnx: (key, field, value) => queue("HSETNX", (p) => p.hsetnx(key, field, value), reply.flag),
    hdel: (key, ...fields) => queue("HDEL", (p) => p.hdel(key, ...fields), reply.integer),
    sadd: (key, ...members) =>
      queue("SADD", (p) => p.sadd(key, members[0] as string, ...members.slice(1)), reply.integer),
    smembers: (key) => queue("SMEMBERS", (p) => p.smembers(key), reply.texts),
    zrangeWithScores: (key, start, stop, opts = {}) =>
      queue(
        "ZRANGE",
        (p) =>
          opts.byScore
            ? p.zrange(key, start as number, stop as number, { byScore: true, withScores: true })
            : p.zrange(key, Number(start), Number(stop), { withScores: true }),
        reply.scored,
      ),
    // XADD and SCAN through `exec` (one request each): the typed XADD takes the fields as an
    // object, whose key order JavaScript changes for integer-like names, and a copied event must
    // keep its fields' order; the typed SCAN reshapes its reply.
    xadd: (key, id, fields) => call("XADD", () => client.exec(["XADD", key, id, ...fields]), reply.text),
    xrange: (key, start, end, count) =>
      queue("XRANGE", (p) => p.xrange(key, start, end, count), reply.entries),
    xrevrange: (key, end, start, count) =>
      queue("XREVRANGE", (p) => p.xrevrange(key, end, start, count), reply.entries),
    xlen: (key) => queue("XLEN", (p) => p.xlen(key), reply.integer),
    scan: (cursor, match, count) =>
      call("SCAN", () => client.exec(["SCAN", cursor, "MATCH", match, "COUNT", count]), reply.scanStep),
    eval: (script, keys, args) => queue("EVAL", (p) => p.eval(script, [...keys], [...args]), reply.evalReply),
    close: async () => {},
  };
}
