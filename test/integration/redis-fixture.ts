/**
 * A real redis-server behind the Upstash bridge, optionally through the delaying TCP proxy, plus a
 * direct ioredis connection to look at what the firewall wrote.
 */
import { Redis as IoRedis } from "ioredis";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import { type DelayProxy, startDelayProxy } from "../support/delay-proxy.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

export interface RedisFixture {
  server: RedisServer;
  bridge: UpstashBridge;
  proxy?: DelayProxy;
  /** Direct connection to the real Redis (not through the bridge: not counted). */
  io: IoRedis;
  /** What the firewall's `redis` option takes. */
  connection: { url: string; token: string };
  close(): Promise<void>;
}

export interface RedisFixtureOptions {
  delayProxy?: boolean;
  /** More redis-server arguments (persistence, maxmemory, …). */
  serverArgs?: string[];
  /** The bridge logs in as ACL user `edge` (all permissions until a test takes some away). */
  aclUser?: boolean;
}

export const EDGE_USER = { name: "edge", password: "edge-password" };

export async function startRedisFixture(options: RedisFixtureOptions = {}): Promise<RedisFixture> {
  const server = await startRedisServer(options.serverArgs ? { args: options.serverArgs } : {});
  const io = new IoRedis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  io.on("error", () => {});
  if (options.aclUser)
    await io.call("ACL", "SETUSER", EDGE_USER.name, "on", `>${EDGE_USER.password}`, "~*", "&*", "+@all");
  const proxy = options.delayProxy ? await startDelayProxy({ targetPort: server.port }) : undefined;
  const redisUrl = proxy
    ? proxy.url
    : options.aclUser
      ? `redis://${EDGE_USER.name}:${EDGE_USER.password}@127.0.0.1:${server.port}`
      : server.url;
  const bridge = await startUpstashBridge({ redisUrl });
  return {
    server,
    bridge,
    ...(proxy ? { proxy } : {}),
    io,
    connection: { url: bridge.url, token: bridge.token },
    async close() {
      io.disconnect();
      await bridge.close();
      await proxy?.close();
      if (server.running) await server.stop();
    },
  };
}

/** Polls until `check` returns true (or throws after `timeoutMs`). */
export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Returns once at least `marginMs` are left in the current `windowMs` window of the wall clock
 * (waiting for the next window otherwise), so what a test sends next cannot straddle two
 * fixed windows however slow the machine is.
 */
export async function awayFromWindowEdge(windowMs: number, marginMs: number): Promise<void> {
  const left = () => windowMs - (Date.now() % windowMs);
  if (left() >= marginMs) return;
  const window = Math.floor(Date.now() / windowMs);
  await until(() => Math.floor(Date.now() / windowMs) > window, windowMs + 5_000, "the next window");
}

/** Every key and every value in Redis, as one text to search for things that must not be there. */
export async function dumpRedis(io: IoRedis): Promise<string> {
  const parts: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await io.scan(cursor, "COUNT", 1000);
    cursor = next;
    for (const key of keys) {
      parts.push(key);
      const type = await io.type(key);
      if (type === "string") parts.push(String(await io.get(key)));
      else if (type === "hash") parts.push(JSON.stringify(await io.hgetall(key)));
      else if (type === "zset") parts.push(JSON.stringify(await io.zrange(key, 0, -1, "WITHSCORES")));
      else if (type === "stream") parts.push(JSON.stringify(await io.xrange(key, "-", "+")));
      else if (type === "list") parts.push(JSON.stringify(await io.lrange(key, 0, -1)));
      else if (type === "set") parts.push(JSON.stringify(await io.smembers(key)));
      else parts.push(`<${type}>`);
    }
  } while (cursor !== "0");
  return parts.join("\n");
}

/** Runs `count` tasks with at most `concurrency` at a time. */
export async function inWaves<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}
