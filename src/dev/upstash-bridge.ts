/**
 * A local stand-in for Upstash Redis: an HTTP server speaking the Upstash REST protocol in front
 * of a real redis-server, so `@upstash/redis` and `@upstash/ratelimit` run unmodified in tests,
 * `containment dev` and benchmarks.
 *
 *   POST /            ["SET","k","v"]                    → { result } | 400 { error }
 *   POST /pipeline    [["INCR","a"],["GET","a"]]         → [{ result } | { error }, …]
 *   POST /multi-exec  same body, run in MULTI/EXEC       → [{ result } | { error }, …] | 400 { error }
 *
 * Auth is `Authorization: Bearer <token>`, a random secret per run unless a test names one; a
 * bad token answers 401. With `Upstash-Encoding: base64` strings come back base64'd (see
 * upstash-encoding.ts). For `containment dev` and tests only: whoever holds the token runs any
 * command on the Redis behind it, so it listens on 127.0.0.1 and refuses what a web page or
 * another local user can send (local-guard.ts: Host, Origin, JSON bodies only, no CORS).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Redis, type RedisOptions } from "ioredis";
import { timingSafeEqual } from "../core/hash.js";
import { bearerToken, errorMessage, listen, readBody, sendJson, sleep } from "./http-util.js";
import { localRefusal } from "./local-guard.js";
import { LuaScriptRegistry, type PreparedCommand } from "./lua-scripts.js";
import { encodeReply, type RedisReply } from "./upstash-encoding.js";

export interface UpstashBridgeOptions {
  /** The real Redis behind the bridge, e.g. `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /** Default: a random secret for this run. */
  token?: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /**
   * Called with each request's service time (ms, from the bridge reading it to its answer
   * written): the network-and-Redis side of a check, to tell a deadline spent there from one spent
   * in the isolate's own queue (`npm run load`).
   */
  onServed?: (ms: number) => void;
}

export interface UpstashBridge {
  /** What `new Redis({ url })` takes, e.g. `http://127.0.0.1:4124`. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** `requests`: HTTP round trips; `commands`: Redis commands forwarded; `byCommand`: those by name (lower case). */
  readonly counts: { requests: number; commands: number; byCommand: Record<string, number> };
  resetCounts(): void;
  /** Delays every request: a slow Redis, for deadline and fail-mode tests. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/** Commands that would change the shared connection's state for every other request. */
const REFUSED = new Set([
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "monitor",
  "select",
  "quit",
  "reset",
  "hello",
  "auth",
  "client",
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
]);

/** Commands that may block; they get a connection of their own so they can't stall the rest. */
const BLOCKING = new Set([
  "blpop",
  "brpop",
  "brpoplpush",
  "blmove",
  "blmpop",
  "bzpopmin",
  "bzpopmax",
  "bzmpop",
  "wait",
  "waitaof",
]);

const CONNECTION_OPTIONS: RedisOptions = {
  lazyConnect: true,
  // While Redis is down, fail each request at once (a 503) instead of queueing it: tests that kill
  // Redis want to see the outage, not a hang.
  enableOfflineQueue: false,
  // Never replay commands that were in flight when the connection dropped: an INCR sent twice
  // would double-count a rate limit.
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
  // Reconnect quickly once a test restarts Redis.
  retryStrategy: () => 50,
  connectTimeout: 2000,
};

class BadRequest extends Error {}

/** Connects to Redis (or says clearly why it cannot). */
async function connectRedis(redisUrl: string): Promise<Redis> {
  const redis = new Redis(redisUrl, CONNECTION_OPTIONS);
  // Connection errors surface per request (as 503); without a listener ioredis would log each one.
  redis.on("error", () => {});
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `edge-containment: the Upstash bridge cannot reach Redis at ${redisUrl}: ${errorMessage(error)}`,
    );
  }
  return redis;
}

/** The bridge's state and its request handling; `startUpstashBridge` wires it to an HTTP server. */
class Bridge {
  readonly scripts = new LuaScriptRegistry();
  readonly dedicated = new Set<Redis>();
  readonly counts = { requests: 0, commands: 0, byCommand: {} as Record<string, number> };

  count(name: string): void {
    this.counts.commands++;
    const key = name.toLowerCase();
    this.counts.byCommand[key] = (this.counts.byCommand[key] ?? 0) + 1;
  }
  delayMs = 0;

  port = 0;

  constructor(
    readonly redis: Redis,
    readonly redisUrl: string,
    readonly token: string,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counts.requests++;
    const refused = localRefusal(req, this.port);
    if (refused !== undefined) {
      sendJson(res, refused.status, { error: `ERR ${refused.message}` });
      return;
    }
    await sleep(this.delayMs);
    const url = new URL(req.url ?? "/", "http://localhost");
    // The header only: a token in the URL ends up in logs and history (Upstash's `?_token=` is not served).
    if (!timingSafeEqual(bearerToken(req) ?? "", this.token)) {
      sendJson(res, 401, { error: "Unauthorized" });
      return;
    }
    if (req.method !== "POST") {
      sendJson(res, 405, { error: `ERR method ${req.method} is not supported by the local Upstash bridge` });
      return;
    }
    const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const path = url.pathname.replace(/\/+$/, "") || "/";
    try {
      await this.route(path, parseJson(await readBody(req)), base64, res);
    } catch (error) {
      // Upstash answers Redis errors (and malformed commands) with 400 and the Redis message.
      if (error instanceof BadRequest || isReplyError(error))
        sendJson(res, 400, { error: errorMessage(error) });
      else sendJson(res, 503, { error: `ERR Redis unavailable: ${errorMessage(error)}` });
    }
  }

  async route(path: string, body: unknown, base64: boolean, res: ServerResponse): Promise<void> {
    if (path === "/") {
      const command = this.prepare(body);
      const reply = await this.runOne(command, res);
      sendJson(res, 200, { result: encodeReply(mapReply(command, reply), base64) });
      return;
    }
    if (path !== "/pipeline" && path !== "/multi-exec") {
      sendJson(res, 404, { error: `ERR unknown endpoint ${path}` });
      return;
    }
    if (!Array.isArray(body) || body.length === 0)
      throw new BadRequest("ERR expected a non-empty array of commands");
    const commands = body.map((raw) => this.prepare(raw));
    const entries = await this.runBatch(commands, path === "/multi-exec", res);
    sendJson(
      res,
      200,
      entries.map((entry, i) =>
        entry instanceof Error
          ? { error: entry.message }
          : { result: encodeReply(mapReply(commands[i] as PreparedCommand, entry), base64) },
      ),
    );
  }

  prepare(raw: unknown): PreparedCommand {
    if (!Array.isArray(raw) || raw.length === 0)
      throw new BadRequest("ERR a command must be a non-empty JSON array");
    const args = raw.map((arg) =>
      typeof arg === "string" ? arg : typeof arg === "object" ? JSON.stringify(arg) : String(arg),
    );
    const name = (args[0] as string).toLowerCase();
    if (REFUSED.has(name))
      throw new BadRequest(`ERR Command is not available in the local Upstash bridge: '${name}'`);
    return this.scripts.prepare(args);
  }

  async runOne(command: PreparedCommand, res: ServerResponse): Promise<RedisReply> {
    const [name, ...args] = command.args as [string, ...string[]];
    this.count(name);
    if (!isBlocking(command)) return (await this.redis.callBuffer(upper(name), ...args)) as RedisReply;
    return this.withDedicated(
      res,
      async (conn) => (await conn.callBuffer(upper(name), ...args)) as RedisReply,
    );
  }

  async runBatch(
    commands: PreparedCommand[],
    atomic: boolean,
    res: ServerResponse,
  ): Promise<Array<RedisReply | Error>> {
    for (const command of commands) this.count(String(command.args[0]));
    const run = async (conn: Redis) => {
      // ioredis sends MULTI … EXEC in one write, so sharing the connection with other requests is safe.
      const batch = atomic ? conn.multi() : conn.pipeline();
      for (const command of commands) {
        const [name, ...args] = command.args as [string, ...string[]];
        batch.callBuffer(upper(name), ...args);
      }
      const results = await batch.exec().catch((error: unknown) => {
        throw withQueueErrors(error);
      });
      if (results === null) throw new BadRequest("ERR transaction aborted");
      return results.map(([error, reply]): RedisReply | Error => {
        if (error && !isReplyError(error)) throw error;
        return error ?? (reply as RedisReply);
      });
    };
    // Inside MULTI, blocking commands don't block; in a plain pipeline they would stall everyone.
    return !atomic && commands.some(isBlocking) ? this.withDedicated(res, run) : run(this.redis);
  }

  /** Runs on a connection of its own, dropped when done or when the HTTP client gives up. */
  async withDedicated<T>(res: ServerResponse, run: (conn: Redis) => Promise<T>): Promise<T> {
    const conn = new Redis(this.redisUrl, { ...CONNECTION_OPTIONS, retryStrategy: () => null });
    conn.on("error", () => {});
    this.dedicated.add(conn);
    const abandon = () => conn.disconnect();
    res.once("close", abandon);
    try {
      await conn.connect();
      return await run(conn);
    } finally {
      res.off("close", abandon);
      this.dedicated.delete(conn);
      conn.disconnect();
    }
  }
}

/**
 * Starts the bridge; rejects if Redis can't be reached.
 *
 * @example
 * const bridge = await startUpstashBridge({ redisUrl: redis.url });
 * const client = new Redis({ url: bridge.url, token: bridge.token, retry: { retries: 0 } });
 */
export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const redis = await connectRedis(options.redisUrl);
  const bridge = new Bridge(redis, options.redisUrl, options.token ?? randomBytes(32).toString("base64url"));
  const served = options.onServed;
  const listening = await listen((req, res) => {
    if (served) {
      const started = performance.now();
      res.once("finish", () => served(performance.now() - started));
    }
    return bridge.handle(req, res);
  }, options.port ?? 0);
  bridge.port = listening.port;
  return {
    url: listening.url,
    port: listening.port,
    token: bridge.token,
    counts: bridge.counts,
    resetCounts: () => {
      bridge.counts.requests = 0;
      bridge.counts.commands = 0;
      bridge.counts.byCommand = {};
    },
    setDelay: (ms) => {
      bridge.delayMs = Math.max(0, ms);
    },
    close: async () => {
      await listening.close();
      for (const conn of bridge.dedicated) conn.disconnect();
      redis.disconnect();
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest("ERR failed to parse the request body as JSON");
  }
}

function mapReply(command: PreparedCommand, reply: RedisReply): RedisReply {
  return command.mapReply ? command.mapReply(reply) : reply;
}

/**
 * Upper-cased on purpose: ioredis keys its argument and reply transformers by lower-case names
 * (it turns `hgetall` into an object), and the bridge must pass Redis' raw replies through.
 */
function upper(name: string): string {
  return name.toUpperCase();
}

function isBlocking(command: PreparedCommand): boolean {
  const [name, ...args] = command.args;
  const lower = name?.toLowerCase() ?? "";
  if (BLOCKING.has(lower)) return true;
  return (lower === "xread" || lower === "xreadgroup") && args.some((arg) => arg.toLowerCase() === "block");
}

/**
 * EXECABORT alone doesn't say which command was wrong; ioredis keeps the queueing errors in
 * `previousErrors`, so they go into the message the client sees.
 */
function withQueueErrors(error: unknown): unknown {
  const previous = (error as { previousErrors?: unknown } | null)?.previousErrors;
  if (!isReplyError(error) || !Array.isArray(previous) || previous.length === 0) return error;
  error.message = `${error.message} (${previous.map(errorMessage).join("; ")})`;
  return error;
}

/** Redis' own error replies (ioredis' ReplyError), as opposed to connection failures. */
function isReplyError(error: unknown): error is Error {
  return error instanceof Error && error.name === "ReplyError";
}
