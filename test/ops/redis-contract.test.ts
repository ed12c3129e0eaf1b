/**
 * One contract, two clients: the same cases run against `restRedis` (@upstash/redis, through the
 * dev Upstash bridge as the REST stand-in) and `tcpRedis` (ioredis, straight to redis-server), on
 * one real redis-server. Every reply must have the same shape and the same bytes from both.
 */
import { Redis as IoRedis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import type { ResponderRedis } from "../../src/model/responder-redis.js";
import { isOpsError, type OpsError } from "../../src/ops/errors.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { tcpRedis } from "../../src/ops/redis-tcp.js";
import { freePort, type RedisServer, startRedisServer } from "../support/redis-server.js";

let server: RedisServer;
let bridge: UpstashBridge;
let io: IoRedis;
const clients: Record<string, ResponderRedis> = {};

beforeAll(async () => {
  server = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: server.url });
  io = new IoRedis(server.url, { maxRetriesPerRequest: 1 });
  clients.rest = restRedis({ url: bridge.url, token: bridge.token });
  clients.tcp = await tcpRedis(server.url);
});

afterAll(async () => {
  await clients.tcp?.close();
  io.disconnect();
  await bridge?.close();
  await server?.stop();
});

beforeEach(async () => {
  await io.flushall();
});

async function failure(work: Promise<unknown>): Promise<OpsError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isOpsError(error)) throw new Error(`expected an OpsError, got ${String(error)}`);
  return error;
}

describe.each(["rest", "tcp"])("ResponderRedis over %s", (name) => {
  const redis = () => clients[name] as ResponderRedis;

  it("answers PING, and strings exactly as stored (no JSON parsing, no numbers)", async () => {
    expect(await redis().ping()).toBe("PONG");
    await io.set("json", '{ "b": 1,  "a": [2] }');
    await io.set("digits", "007");
    await io.set("ok", "OK");
    await io.set("unicode", "Zürich ✓ 東京");
    expect(await redis().get("json")).toBe('{ "b": 1,  "a": [2] }');
    expect(await redis().get("digits")).toBe("007");
    expect(await redis().get("ok")).toBe("OK");
    expect(await redis().get("unicode")).toBe("Zürich ✓ 東京");
    expect(await redis().get("missing")).toBeNull();
    expect(await redis().mget(["json", "missing", "digits"])).toEqual(['{ "b": 1,  "a": [2] }', null, "007"]);
  });

  it("reads a hash as a record of strings, and a missing hash as null", async () => {
    expect(await redis().hgetall("h")).toBeNull();
    expect(await redis().hset("h", { a: '{"x":1}', "2": "007", b: "" })).toBe(3);
    expect(await redis().hgetall("h")).toEqual({ a: '{"x":1}', "2": "007", b: "" });
    expect(await redis().hsetnx("h", "a", "other")).toBe(false);
    expect(await redis().hsetnx("h", "c", "new")).toBe(true);
    expect(await redis().hdel("h", "a", "nope")).toBe(1);
    expect(await io.hgetall("h")).toEqual({ "2": "007", b: "", c: "new" });
  });

  it("adds and lists set members", async () => {
    expect(await redis().sadd("s", "x", "y", "x")).toBe(2);
    expect((await redis().smembers("s")).sort()).toEqual(["x", "y"]);
    expect(await redis().smembers("none")).toEqual([]);
  });

  it("ranges a sorted set with scores, by rank and by score, infinities included", async () => {
    await io.zadd("z", 2, "b", 1.5, "a", "+inf", "top", "-inf", "bottom");
    expect(await redis().zrangeWithScores("z", 0, -1)).toEqual([
      ["bottom", Number.NEGATIVE_INFINITY],
      ["a", 1.5],
      ["b", 2],
      ["top", Number.POSITIVE_INFINITY],
    ]);
    expect(await redis().zrangeWithScores("z", "(1.5", "+inf", { byScore: true })).toEqual([
      ["b", 2],
      ["top", Number.POSITIVE_INFINITY],
    ]);
    expect(await redis().zrangeWithScores("none", 0, -1)).toEqual([]);
  });

  it("adds stream entries with their id and fields in order, and ranges them both ways", async () => {
    // Integer-like field names first: an object would reorder them.
    expect(await redis().xadd("st", "5-1", ["b", "2", "10", "x", "a", '{"j":1}'])).toBe("5-1");
    expect(await redis().xadd("st", "7-0", ["only", ""])).toBe("7-0");
    expect(await redis().xrange("st", "-", "+", 10)).toEqual([
      ["5-1", ["b", "2", "10", "x", "a", '{"j":1}']],
      ["7-0", ["only", ""]],
    ]);
    expect(await redis().xrange("st", "(5-1", "+", 10)).toEqual([["7-0", ["only", ""]]]);
    expect(await redis().xrevrange("st", "+", "-", 1)).toEqual([["7-0", ["only", ""]]]);
    expect(await redis().xrange("none", "-", "+", 10)).toEqual([]);
    expect(await redis().xlen("st")).toBe(2);
    expect(await redis().xlen("none")).toBe(0);
  });

  it("scans with a pattern until the cursor is 0", async () => {
    await io.mset("q:1", "a", "q:2", "b", "other", "c");
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis().scan(cursor, "q:*", 1);
      expect(typeof next).toBe("string");
      found.push(...keys);
      cursor = next;
    } while (cursor !== "0");
    expect(found.sort()).toEqual(["q:1", "q:2"]);
  });

  it("copies, persists, expires and deletes", async () => {
    await io.set("src", "v", "PX", 60_000);
    expect(await redis().copy("src", "dst")).toBe(true);
    expect(await redis().copy("missing", "dst2")).toBe(false);
    expect(await redis().pttl("dst")).toBeGreaterThan(0);
    expect(await redis().persist("dst")).toBe(true);
    expect(await redis().pttl("dst")).toBe(-1);
    expect(await redis().pttl("missing")).toBe(-2);
    expect(await redis().pexpire("dst", 30_000)).toBe(true);
    expect(await redis().pexpire("missing", 30_000)).toBe(false);
    expect(await redis().del("dst", "src", "missing")).toBe(2);
  });

  it("returns a script's nested tables with integers as numbers and strings as stored", async () => {
    await io.set("k", '{"a":1}');
    const reply = await redis().eval(
      "return {1, '2', {3, {'four', redis.call('GET', KEYS[1])}}, ARGV[1], -7, redis.call('GET', 'nope') or ''}",
      ["k"],
      ["0010"],
    );
    expect(reply).toEqual([1, "2", [3, ["four", '{"a":1}']], "0010", -7, ""]);
    expect(await redis().eval("return redis.call('SET', KEYS[1], ARGV[1])", ["x"], ["y"])).toBe("OK");
    expect(await redis().eval("return nil", [], [])).toBeNull();
    expect(await redis().eval("return 42", [], [])).toBe(42);
    const time = await redis().eval("return redis.call('TIME')", [], []);
    expect(Array.isArray(time) && time.every((part) => typeof part === "string")).toBe(true);
  });

  it("turns a failing script into one line without its source or arguments", async () => {
    await io.hset("hash", "f", "v");
    const error = await failure(
      redis().eval("return redis.call('INCR', KEYS[1])", ["hash"], ["secret-argument-value"]),
    );
    expect(error.code).toBe("ERR_UNAVAILABLE");
    expect(error.message).toMatch(/failed EVAL \(WRONGTYPE/);
    expect(error.message).not.toMatch(/redis\.call|secret-argument-value|INCR|\n/);
  });
});

describe("calls made together", () => {
  it.each(["rest", "tcp"])(
    "over %s, fail alone: one refused command does not fail its neighbours",
    async (name) => {
      const redis = clients[name] as ResponderRedis;
      await io.set("str", "v");
      const [ok, wrong, other] = await Promise.allSettled([
        redis.get("str"),
        redis.hgetall("str"),
        redis.xlen("none"),
      ]);
      expect(ok).toEqual({ status: "fulfilled", value: "v" });
      expect(wrong.status === "rejected" && isOpsError(wrong.reason) && wrong.reason.message).toMatch(
        /failed HGETALL \(WRONGTYPE/,
      );
      expect(other).toEqual({ status: "fulfilled", value: 0 });
    },
  );

  it("over REST, share one request (as many HGETALLs as a day of minutes in a report)", async () => {
    bridge.resetCounts();
    const replies = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => clients.rest?.hgetall(`m:${i}`)),
    );
    expect(replies.every((reply) => reply === null)).toBe(true);
    expect(bridge.counts).toEqual({ requests: 1, commands: 1_000, byCommand: { hgetall: 1_000 } });
  });
});

describe("a dead or refusing Redis fails fast, with one line and no secret", () => {
  it("refused connections: ERR_UNAVAILABLE naming the endpoint, password masked", async () => {
    const port = await freePort();
    const tcp = await tcpRedis(`redis://responder:hunter2-pw@127.0.0.1:${port}`);
    const rest = restRedis({ url: `http://127.0.0.1:${port}`, token: "rest-token-123" });
    for (const [client, endpoint] of [
      [tcp, `redis://responder:***@127.0.0.1:${port}`],
      [rest, `http://127.0.0.1:${port}`],
    ] as const) {
      const started = Date.now();
      const error = await failure(client.get("k"));
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(error.code).toBe("ERR_UNAVAILABLE");
      expect(error.message).toContain(`cannot reach Redis at ${endpoint} (connection refused)`);
      expect(error.message).not.toMatch(/hunter2-pw|rest-token-123/);
    }
    await tcp.close();
  });

  it("a hung server (SIGSTOP): each call ends at its deadline", async () => {
    const hung = await startRedisServer();
    const hungBridge = await startUpstashBridge({ redisUrl: hung.url });
    const tcp = await tcpRedis(hung.url, { commandTimeoutMs: 400, connectTimeoutMs: 400 });
    const rest = restRedis({ url: hungBridge.url, token: hungBridge.token }, { commandTimeoutMs: 400 });
    await tcp.ping();
    await hung.pause();
    try {
      for (const client of [tcp, rest]) {
        const started = Date.now();
        const error = await failure(client.xlen("audit"));
        expect(Date.now() - started).toBeLessThan(2_000);
        expect(error.message).toMatch(/cannot reach Redis at .* \(no answer within 400 ms\)/);
      }
    } finally {
      hung.resume();
      await tcp.close();
      await hungBridge.close();
      await hung.stop();
    }
  });

  it("after Redis comes back, the next TCP call opens a new connection (no reconnect loop meanwhile)", async () => {
    const flaky = await startRedisServer();
    const tcp = await tcpRedis(flaky.url);
    await tcp.ping();
    await flaky.stop();
    expect((await failure(tcp.ping())).code).toBe("ERR_UNAVAILABLE");
    await flaky.start();
    expect(await tcp.ping()).toBe("PONG");
    await tcp.close();
    await flaky.stop();
  });

  it("a wrong password or REST token: ERR_AUTH, without the secret, and nothing runs as another user", async () => {
    await io.call("ACL", "SETUSER", "responder", "on", ">right-password", "~*", "+@all");
    const tcp = await tcpRedis(`redis://responder:wrong-password@127.0.0.1:${server.port}`);
    const rest = restRedis({ url: bridge.url, token: "wrong-token-value" });
    for (const client of [tcp, rest]) {
      // This server's `default` user is open: a command that slipped past the refused AUTH would run.
      const error = await failure(client.hset("written", { by: "wrong-credential" }));
      expect(await io.exists("written")).toBe(0);
      expect(error.code).toBe("ERR_AUTH");
      expect(error.message).toMatch(/refused the credentials/);
      expect(error.message).not.toMatch(/wrong-password|wrong-token-value|right-password/);
    }
    await tcp.close();
  });

  it("a user without the right to a command: ERR_AUTH naming the command, not its arguments", async () => {
    await io.call("ACL", "SETUSER", "reader", "on", ">reader-password", "~*", "+@read");
    const tcp = await tcpRedis(`redis://reader:reader-password@127.0.0.1:${server.port}`);
    const error = await failure(tcp.eval("return redis.call('SET', KEYS[1], 'x')", ["k"], []));
    expect(error.code).toBe("ERR_AUTH");
    expect(error.message).toMatch(/refused EVAL to this user \(NOPERM/);
    expect(error.message).not.toMatch(/reader-password|redis\.call/);
    await tcp.close();
  });
});
