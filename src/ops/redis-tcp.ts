/**
 * ResponderRedis over `redis://` or `rediss://` (TLS) with ioredis, an optional peer loaded on use:
 * the URL's user and password are the responder's ACL credential (docs/security.md) and go only to
 * that server, in AUTH.
 *
 * Deadlines, and no loops: a connect timeout, a timeout per command, no reconnect (a closed
 * connection fails the commands waiting on it; the next call opens a new one), no retried or
 * replayed commands (an append sent twice would chain twice). No ready check and no CLIENT SETINFO:
 * the responder's ACL user may not run INFO or CLIENT, and ioredis would warn on stderr.
 */
import type { Redis as IoRedis, RedisOptions } from "ioredis";
import { redactSecrets } from "../core/redact.js";
import type { ResponderRedis } from "../model/responder-redis.js";
import { configError } from "./errors.js";
import { type FailureContext, redisFailure } from "./redis-failure.js";
import {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type RedisDeadlines,
  type RedisSettings,
} from "./redis-options.js";
import * as reply from "./redis-replies.js";

export interface TcpRedisOptions extends RedisDeadlines {
  settings?: RedisSettings;
}

const TCP_SETTINGS: RedisSettings = { url: "REDIS_URL", credential: "the user and password in REDIS_URL" };

async function loadIoRedis(): Promise<typeof IoRedis> {
  try {
    return (await import("ioredis")).Redis;
  } catch {
    throw configError(
      "a redis:// or rediss:// URL needs the optional package ioredis: npm install ioredis (or use UPSTASH_REDIS_REST_URL/TOKEN)",
    );
  }
}

interface Target {
  /** The URL without user, password and database: ioredis would send AUTH and SELECT itself. */
  bare: string;
  username: string;
  password: string;
  db: string;
}

function parseTarget(url: string): Target {
  const parsed = new URL(url);
  const decode = (part: string) => decodeURIComponent(part);
  const target = {
    username: decode(parsed.username),
    password: decode(parsed.password),
    db: parsed.pathname.replace(/^\//, ""),
  };
  parsed.username = "";
  parsed.password = "";
  parsed.pathname = "";
  return { ...target, bare: parsed.toString() };
}

/**
 * AUTH (and SELECT) before any command, each awaited. ioredis' own AUTH does not hold back the
 * queued commands: when it is refused they have already run, as the `default` user, which on a
 * server with an open default user means a wrong password still reads and writes.
 */
async function login(client: IoRedis, target: Target): Promise<void> {
  await client.connect();
  if (target.password !== "")
    await client.call("AUTH", ...(target.username === "" ? [] : [target.username]), target.password);
  else if (target.username !== "") await client.call("AUTH", target.username, "");
  if (target.db !== "") await client.call("SELECT", target.db);
}

/**
 * @example
 * const redis = await tcpRedis("rediss://containment-responder:…@redis.internal:6380");
 * try { await redis.xlen("containment:audit"); } finally { await redis.close(); }
 */
export async function tcpRedis(url: string, options: TcpRedisOptions = {}): Promise<ResponderRedis> {
  const Redis = await loadIoRedis();
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const ctx: FailureContext = {
    endpoint: redactSecrets(url),
    settings: options.settings ?? TCP_SETTINGS,
    commandTimeoutMs,
    tls: url.startsWith("rediss:"),
  };
  const settings: RedisOptions = {
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    commandTimeout: commandTimeoutMs,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableReadyCheck: false,
    disableClientInfo: true,
  };
  const target = parseTarget(url);
  let current: { client: IoRedis; ready: Promise<void> } | undefined;
  const open = (): { client: IoRedis; ready: Promise<void> } => {
    if (current !== undefined && current.client.status !== "end") return current;
    const client = new Redis(target.bare, settings);
    ctx.lastConnectionError = undefined;
    // Why a connection failed reaches only this listener; the waiting commands just see it close.
    client.on("error", (error: unknown) => {
      ctx.lastConnectionError = error;
    });
    const opened = { client, ready: login(client, target) };
    opened.ready.catch(() => {
      client.disconnect();
      if (current === opened) current = undefined;
    });
    current = opened;
    return opened;
  };
  // Upper-case names: ioredis keys its reply transformers by lower-case ones (hgetall → object),
  // and the raw reply is what redis-replies.ts shapes for both clients alike.
  const call = async <T>(args: Array<string | number>, shape: (reply: unknown) => T): Promise<T> => {
    const [name, ...rest] = args as [string, ...Array<string | number>];
    const command = name.toUpperCase();
    try {
      const { client, ready } = open();
      await ready;
      return shape(await client.call(command, ...rest));
    } catch (error) {
      throw redisFailure(error, command, ctx, false);
    }
  };
  return {
    ping: () => call(["PING"], reply.text),
    get: (key) => call(["GET", key], reply.textOrNull),
    mget: (keys) => call(["MGET", ...keys], reply.textsOrNull),
    del: (...keys) => call(["DEL", ...keys], reply.integer),
    pttl: (key) => call(["PTTL", key], reply.integer),
    pexpire: (key, ms) => call(["PEXPIRE", key, ms], reply.flag),
    persist: (key) => call(["PERSIST", key], reply.flag),
    copy: (source, target) => call(["COPY", source, target, "REPLACE"], reply.flag),
    hgetall: (key) => call(["HGETALL", key], reply.record),
    hset: (key, fields) => call(["HSET", key, ...Object.entries(fields).flat()], reply.integer),
    hsetnx: (key, field, value) => call(["HSETNX", key, field, value], reply.flag),
    hdel: (key, ...fields) => call(["HDEL", key, ...fields], reply.integer),
    sadd: (key, ...members) => call(["SADD", key, ...members], reply.integer),
    smembers: (key) => call(["SMEMBERS", key], reply.texts),
    zrangeWithScores: (key, start, stop, opts = {}) =>
      call(["ZRANGE", key, start, stop, ...(opts.byScore ? ["BYSCORE"] : []), "WITHSCORES"], reply.scored),
    xadd: (key, id, fields) => call(["XADD", key, id, ...fields], reply.text),
    xrange: (key, start, end, count) => call(["XRANGE", key, start, end, "COUNT", count], reply.entries),
    xrevrange: (key, end, start, count) =>
      call(["XREVRANGE", key, end, start, "COUNT", count], reply.entries),
    xlen: (key) => call(["XLEN", key], reply.integer),
    scan: (cursor, match, count) => call(["SCAN", cursor, "MATCH", match, "COUNT", count], reply.scanStep),
    eval: (script, keys, args) => call(["EVAL", script, keys.length, ...keys, ...args], reply.evalReply),
    close: async () => {
      current?.client.disconnect();
      current = undefined;
    },
  };
}
