import { randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis as UpstashRedis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

// These tests prove the bridge runs @upstash/ratelimit's shebang'd Lua on plain Redis 7 and maps
// its EVALSHA hashes: without either, every `limit()` call throws instead of admitting anything.

let redisServer: RedisServer;
let bridge: UpstashBridge;
let redis: UpstashRedis;

beforeAll(async () => {
  redisServer = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: redisServer.url });
  redis = new UpstashRedis({
    url: bridge.url,
    token: bridge.token,
    retry: { retries: 0 },
    enableTelemetry: false,
  });
});
afterAll(async () => {
  await bridge?.close();
  await redisServer?.stop();
});

function limiter(algorithm: ConstructorParameters<typeof Ratelimit>[0]["limiter"]): Ratelimit {
  return new Ratelimit({
    redis,
    limiter: algorithm,
    prefix: `test:${randomUUID()}`,
    // Hit Redis on every call, and keep the library's fail-open timeout out of the way.
    ephemeralCache: false,
    timeout: 0,
    analytics: false,
  });
}

/** Calls `limit` sequentially and returns how many were admitted; throws on any non-Redis answer. */
async function admitted(rl: Ratelimit, calls: number, identifier = "tenant:acme"): Promise<number> {
  let count = 0;
  for (let i = 0; i < calls; i++) {
    const result = await rl.limit(identifier);
    expect(result.reason).toBeUndefined(); // not "timeout" (fail-open) nor a cache answer
    if (result.success) count++;
  }
  return count;
}

describe("@upstash/ratelimit through the Upstash bridge on a real Redis", () => {
  it("admits exactly `limit` requests with a fixed window", async () => {
    expect(await admitted(limiter(Ratelimit.fixedWindow(5, "1 h")), 9)).toBe(5);
  });

  it("admits exactly `limit` requests with a sliding window", async () => {
    expect(await admitted(limiter(Ratelimit.slidingWindow(4, "1 h")), 9)).toBe(4);
  });

  it("admits exactly the bucket size with a token bucket", async () => {
    expect(await admitted(limiter(Ratelimit.tokenBucket(1, "1 h", 3)), 9)).toBe(3);
  });

  it("keeps separate identifiers separate", async () => {
    const rl = limiter(Ratelimit.fixedWindow(2, "1 h"));
    expect(await admitted(rl, 3, "user:a")).toBe(2);
    expect(await admitted(rl, 3, "user:b")).toBe(2);
  });

  it("runs each later call as one EVALSHA once the first fell back to EVAL", async () => {
    await redis.scriptFlush();
    const rl = limiter(Ratelimit.fixedWindow(100, "1 h"));
    bridge.resetCounts();
    await admitted(rl, 5);
    // First call: EVALSHA (NOSCRIPT) then EVAL; the next four: one EVALSHA each.
    expect(bridge.counts.commands).toBe(6);
  });
});
