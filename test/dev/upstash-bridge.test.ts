import { Redis as UpstashRedis } from "@upstash/redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { sha1 } from "../../src/dev/lua-scripts.js";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let redisServer: RedisServer;
let bridge: UpstashBridge;
let redis: UpstashRedis;

beforeAll(async () => {
  redisServer = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: redisServer.url, token: "test-token" });
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
beforeEach(async () => {
  await redis.flushdb();
  bridge.setDelay(0);
});

/** The raw protocol, to check what the client hides. */
async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<[number, unknown]> {
  const res = await fetch(`${bridge.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${bridge.token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return [res.status, await res.json()];
}

describe("the Upstash bridge, used by the real @upstash/redis client on a real redis-server", () => {
  it("sets and gets strings, unicode, JSON values and a literal OK", async () => {
    expect(await redis.set("plain", "value")).toBe("OK");
    expect(await redis.get("plain")).toBe("value");
    await redis.set("unicode", "ünïcødé ✓ 🚨");
    expect(await redis.get("unicode")).toBe("ünïcødé ✓ 🚨");
    await redis.set("json", { tenant: "acme", n: 3 });
    expect(await redis.get("json")).toEqual({ tenant: "acme", n: 3 });
    await redis.set("ok", "OK");
    expect(await redis.get("ok")).toBe("OK");
    expect(await redis.get("missing")).toBeNull();
    expect(await redis.set("plain", "x", { nx: true })).toBeNull();
  });

  it("encodes every string reply but a top-level OK as base64 when asked to", async () => {
    expect(await post("/", ["SET", "k", "v"], { "upstash-encoding": "base64" })).toEqual([
      200,
      { result: "OK" },
    ]);
    expect(await post("/", ["GET", "k"], { "upstash-encoding": "base64" })).toEqual([
      200,
      { result: "dg==" },
    ]);
    expect(await post("/", ["GET", "k"])).toEqual([200, { result: "v" }]);
    expect(await post("/", ["RPUSH", "l", "OK", "a"], { "upstash-encoding": "base64" })).toEqual([
      200,
      { result: 2 },
    ]);
    expect(await post("/", ["LRANGE", "l", "0", "-1"], { "upstash-encoding": "base64" })).toEqual([
      200,
      { result: ["T0s=", "YQ=="] },
    ]);
  });

  it("runs a pipeline and returns one result per command", async () => {
    const p = redis.pipeline();
    p.incr("counter");
    p.incrby("counter", 4);
    p.get("counter");
    p.del("counter");
    expect(await p.exec()).toEqual([1, 5, 5, 1]);
  });

  it("runs a transaction with MULTI/EXEC semantics", async () => {
    const tx = redis.multi();
    tx.set("a", "1");
    tx.incr("a");
    tx.hset("h", { f: "v" });
    tx.hget("h", "f");
    expect(await tx.exec()).toEqual(["OK", 2, 1, "v"]);
  });

  it("passes hash, sorted set and stream replies through with their structure", async () => {
    expect(await redis.hset("h", { a: "1", b: "two" })).toBe(2);
    expect(await redis.hincrby("h", "a", 41)).toBe(42);
    expect(await redis.hgetall("h")).toEqual({ a: 42, b: "two" });

    await redis.zincrby("top", 3, "acme");
    await redis.zincrby("top", 5, "globex");
    expect(await redis.zrange("top", 0, -1, { rev: true, withScores: true })).toEqual([
      "globex",
      5,
      "acme",
      3,
    ]);

    const id = await redis.xadd("events", "*", { rule: "export-limit", outcome: "block" });
    expect(id).toMatch(/^\d+-\d+$/);
    expect(await redis.xlen("events")).toBe(1);
    expect(await redis.xrange("events", "-", "+")).toEqual({
      [id]: { rule: "export-limit", outcome: "block" },
    });

    expect(await redis.expire("h", 60)).toBe(1);
    expect(await redis.ttl("h")).toBeGreaterThan(50);
  });

  it("rejects a wrong token with a 401 JSON error", async () => {
    const wrong = new UpstashRedis({
      url: bridge.url,
      token: "nope",
      retry: { retries: 0 },
      enableTelemetry: false,
    });
    await expect(wrong.get("k")).rejects.toThrow(/Unauthorized/);
    const res = await fetch(bridge.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(["PING"]),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Unauthorized" });
  });

  it("answers Redis errors with status 400 and the Redis message", async () => {
    await redis.set("s", "not a number");
    await expect(redis.incr("s")).rejects.toThrow(/ERR value is not an integer/);
    expect(await post("/", ["INCR", "s"])).toEqual([
      400,
      { error: "ERR value is not an integer or out of range" },
    ]);
    expect(await post("/", ["NOSUCHCOMMAND"])).toEqual([
      400,
      { error: expect.stringMatching(/unknown command/) },
    ]);
  });

  it("reports a failing pipeline command in place and still runs the others", async () => {
    await redis.set("s", "x");
    const [status, body] = await post("/pipeline", [
      ["INCR", "s"],
      ["SET", "t", "1"],
      ["GET", "t"],
    ]);
    expect(status).toBe(200);
    expect(body).toEqual([
      { error: "ERR value is not an integer or out of range" },
      { result: "OK" },
      { result: "1" },
    ]);
  });

  it("aborts a transaction with a malformed command and says which one", async () => {
    const [status, body] = await post("/multi-exec", [
      ["SET", "a", "1"],
      ["SET", "b"],
    ]);
    expect(status).toBe(400);
    expect(body).toEqual({ error: expect.stringMatching(/^EXECABORT.*wrong number of arguments for 'set'/) });
    expect(await redis.get("a")).toBeNull();
  });

  it("refuses commands that would change the shared connection's state", async () => {
    expect(await post("/", ["SELECT", "2"])).toEqual([
      400,
      { error: expect.stringMatching(/not available/) },
    ]);
    expect(await post("/", ["subscribe", "ch"])).toEqual([
      400,
      { error: expect.stringMatching(/not available/) },
    ]);
  });

  it("runs a Lua script carrying an Upstash shebang, and its original SHA with EVALSHA", async () => {
    const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])";
    expect(await redis.eval(script, ["n"], [2])).toBe(2);
    expect(await redis.evalsha(sha1(script), ["n"], [3])).toBe(5);
  });

  it("answers SCRIPT LOAD with the SHA of the script text the client sent", async () => {
    const script = "#!lua flags=allow-key-locking\nreturn ARGV[1]";
    const sha = await redis.scriptLoad(script);
    expect(sha).toBe(sha1(script));
    expect(await redis.scriptExists(sha)).toEqual([1]);
    expect(await redis.evalsha(sha, [], ["echo"])).toBe("echo");
  });

  it("answers NOSCRIPT for an unknown SHA, so the client falls back to EVAL", async () => {
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it("keeps Lua error line numbers after stripping the shebang", async () => {
    const script = '#!lua flags=allow-key-locking\n\nreturn error("boom")';
    await expect(redis.eval(script, [], [])).rejects.toThrow(/user_script:3: boom/);
  });

  it("runs a blocking command on its own connection without stalling other requests", async () => {
    // BLPOP with no timeout: only the push below, through the same bridge, can release it. If the
    // blocking command stalled the bridge, the push would never run and the test would time out.
    const blocked = post("/", ["BLPOP", "queue", "0"]);
    expect(await redis.set("fast", "1")).toBe("OK");
    expect(await redis.rpush("queue", "job")).toBe(1);
    const [status, body] = await blocked;
    expect(status).toBe(200);
    expect(body).toHaveProperty("result");
    expect((body as { result: unknown[] }).result).toHaveLength(2);
  });

  it("adds the configured delay to every request, like a slow Redis", async () => {
    bridge.setDelay(150);
    const started = performance.now();
    await redis.get("k");
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("counts HTTP requests and the Redis commands they carry", async () => {
    bridge.resetCounts();
    await redis.get("k");
    const p = redis.pipeline();
    p.get("a");
    p.get("b");
    await p.exec();
    expect(bridge.counts).toEqual({ requests: 2, commands: 3, byCommand: { get: 3 } });
  });
});

describe("the Upstash bridge when Redis goes away", () => {
  it("fails requests fast with a 503 while Redis is down and recovers when it is back", async () => {
    const own = await startRedisServer();
    const b = await startUpstashBridge({ redisUrl: own.url });
    const client = new UpstashRedis({
      url: b.url,
      token: b.token,
      retry: { retries: 0 },
      enableTelemetry: false,
    });
    try {
      await client.set("k", "v");
      await own.stop();
      // Answered (a hang would time the test out), with the bridge's own 503 rather than a retry loop.
      await expect(client.get("k")).rejects.toThrow(/Redis unavailable/);

      await own.start();
      // Waited on as a condition: the bridge reconnects when it reconnects, however loaded the machine.
      await vi.waitFor(async () => expect(await client.get("k")).toBeNull(), {
        timeout: 15_000,
        interval: 50,
      });
    } finally {
      await b.close();
      await own.stop();
    }
  });

  it("refuses to start when Redis is unreachable", async () => {
    await expect(startUpstashBridge({ redisUrl: "redis://127.0.0.1:1" })).rejects.toThrow(
      /cannot reach Redis/,
    );
  });
});
