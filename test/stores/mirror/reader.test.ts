import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { restRedis } from "../../../src/ops/redis-rest.js";
import { serializeReport } from "../../../src/stores/mirror/isolate-report.js";
import { mirrorReader } from "../../../src/stores/mirror/reader.js";
import { type RedisFixture, startRedisFixture } from "../../integration/redis-fixture.js";

let redis: RedisFixture;
beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
});
beforeEach(async () => {
  await redis.io.flushall();
});

const P = "containment:";
const report = {
  v: 1 as const,
  region: "fra1",
  isolate: "a1b2c3",
  seq: 42,
  at: 1_700_000_000_000,
  digest: "0123456789abcdef",
  switches: ["freeze@2"],
  fast: [],
};

describe("the mirror reader", () => {
  it("reads counts, traffic with its overflow, and top lists summed over minutes", async () => {
    await redis.io.hset(`${P}counts:100`, { "freeze|block": 3, "-|allow": 7 });
    await redis.io.hset(`${P}counts:101`, { "freeze|block": 2 });
    await redis.io.hset(`${P}traffic:101`, { "/api/:tenant/export|GET|acme|block": 2, "~overflow": 5 });
    await redis.io.zadd(`${P}top:100:tenant`, 3, "acme", 1, "globex");
    await redis.io.zadd(`${P}top:101:tenant`, 2, "acme");
    const reader = mirrorReader({ client: restRedis(redis.connection) });
    const counts = await reader.counts({ from: 100, to: 101 });
    expect(counts).toContainEqual({ minute: 100, rule: "freeze", outcome: "block", n: 3 });
    expect(counts).toContainEqual({ minute: 100, rule: "-", outcome: "allow", n: 7 });
    expect(counts).toContainEqual({ minute: 101, rule: "freeze", outcome: "block", n: 2 });
    const traffic = await reader.traffic({ from: 100, to: 101 });
    expect(traffic.rows).toEqual([
      { minute: 101, route: "/api/:tenant/export", method: "GET", tenant: "acme", outcome: "block", n: 2 },
    ]);
    expect(traffic.overflow).toEqual({ 101: 5 });
    // Route shapes: format 2 where a minute has them, format 1's traffic for older minutes.
    await redis.io.hset(`${P}shapes:100`, { "*|/api/acme/export/:id|GET|acme|allow": 4 });
    expect(await reader.shapes({ from: 100, to: 101 })).toEqual([
      {
        minute: 100,
        host: "*",
        shape: "/api/acme/export/:id",
        method: "GET",
        tenant: "acme",
        outcome: "allow",
        n: 4,
        format: 2,
      },
      {
        minute: 101,
        host: "*",
        shape: "/api/:tenant/export",
        method: "GET",
        tenant: "acme",
        outcome: "block",
        n: 2,
        format: 1,
      },
      {
        minute: 101,
        host: "*",
        shape: "~other",
        method: "*",
        tenant: "~undeclared",
        outcome: "*",
        n: 5,
        format: 1,
      },
    ]);
    expect(await reader.top({ from: 100, to: 101 }, "tenant")).toEqual([
      { member: "acme", n: 5 },
      { member: "globex", n: 1 },
    ]);
  });

  it("verifies enforcement reports: only a matching MAC is a confirmation", async () => {
    const secret = "report-secret";
    await redis.io.set(`${P}isolate:fra1:a1b2c3`, await serializeReport(report, secret), "EX", 300);
    await redis.io.set(
      `${P}isolate:iad1:u1`,
      await serializeReport({ ...report, region: "iad1", isolate: "u1" }, undefined),
    );
    const forged = JSON.parse(await serializeReport({ ...report, region: "sfo1", isolate: "f1" }, secret));
    forged.switches = [];
    await redis.io.set(`${P}isolate:sfo1:f1`, JSON.stringify(forged));
    await redis.io.set(`${P}isolate:hnd1:m1`, "{not json");
    await redis.io.zadd(
      `${P}isolates`,
      1,
      "fra1:a1b2c3",
      2,
      "iad1:u1",
      3,
      "sfo1:f1",
      4,
      "hnd1:m1",
      5,
      "gru1:gone",
    );
    const trust = async (secretHeld: string | undefined) =>
      Object.fromEntries(
        (
          await mirrorReader({
            client: restRedis(redis.connection),
            ...(secretHeld ? { reportSecret: secretHeld } : {}),
          }).isolates()
        ).map((r) => [r.member, r.trust]),
      );
    expect(await trust(secret)).toEqual({
      "fra1:a1b2c3": "verified",
      "iad1:u1": "unsigned",
      "sfo1:f1": "bad-mac",
      "hnd1:m1": "malformed",
      "gru1:gone": "expired",
    });
    expect((await trust(undefined))["fra1:a1b2c3"]).toBe("no-secret");
    expect((await trust("another-secret"))["fra1:a1b2c3"]).toBe("bad-mac");
    const since = await mirrorReader({ client: restRedis(redis.connection) }).isolates({ sinceMs: 3 });
    expect(since.map((r) => r.member)).toEqual(["sfo1:f1", "hnd1:m1", "gru1:gone"]);
  });

  it("states each isolate's gap from its sequence number and what was accounted", async () => {
    await redis.io.hset(`${P}mirror:seq`, { "fra1:a": 120, "iad1:b": 50 });
    await redis.io.hset(`${P}mirror:accounted`, { "fra1:a": 100, "iad1:b": 50 });
    await redis.io.hset(`${P}mirror:contact`, { "fra1:a": 9 });
    await redis.io.set(`${P}mirror:drops`, 4);
    await redis.io.set(`${P}mirror:drops:events`, 6);
    const reader = mirrorReader({ client: restRedis(redis.connection) });
    expect(await reader.ledger()).toEqual([
      { member: "fra1:a", region: "fra1", isolate: "a", seq: 120, accounted: 100, gap: 20, lastContact: 9 },
      { member: "iad1:b", region: "iad1", isolate: "b", seq: 50, accounted: 50, gap: 0, lastContact: 0 },
    ]);
    expect(await reader.drops()).toEqual({ decisions: 4, events: 6, shapes: 0 });
  });

  it("reads events with aggregates, rejected pushes and quarantines", async () => {
    await redis.io.xadd(`${P}events`, "*", "ts", "1000", "id", "r1", "rule", "freeze", "outcome", "block");
    await redis.io.xadd(
      `${P}events`,
      "*",
      "ts",
      "2000",
      "agg",
      "1",
      "count",
      "40",
      "first",
      "1500",
      "last",
      "2000",
      "rule",
      "freeze",
    );
    await redis.io.xadd(
      `${P}events`,
      "*",
      "ts",
      "3000",
      "kind",
      "source",
      "outcome",
      "rules-invalid",
      "reason",
      "bad doc",
      "region",
      "fra1",
    );
    await redis.io.set(
      `${P}quarantine:tenant+user:ab.cd:export-limit`,
      JSON.stringify({ rule: "export-limit" }),
      "PX",
      60_000,
    );
    await redis.io.set(`${P}quarantine:ip:ef`, "by hand");
    const reader = mirrorReader({ client: restRedis(redis.connection) });
    const events = await reader.events({ ascending: true });
    expect(events.map((e) => [e.count, e.aggregate, e.first, e.last])).toEqual([
      [1, false, 1000, 1000],
      [40, true, 1500, 2000],
      [1, false, 3000, 3000],
    ]);
    expect((await reader.events({ limit: 1 }))[0]?.fields.outcome).toBe("rules-invalid");
    expect(await reader.rejectedPushes()).toEqual([
      { at: 3000, region: "fra1", event: "rules-invalid", message: "bad doc" },
    ]);
    const quarantines = (await reader.quarantines()).sort((a, b) => (a.key < b.key ? -1 : 1));
    expect(quarantines[0]).toMatchObject({
      key: "quarantine:ip:ef",
      dimension: "ip",
      id: "ef",
      ttlMs: -1,
      record: "by hand",
    });
    expect(quarantines[1]).toMatchObject({
      dimension: "tenant+user",
      id: "ab.cd",
      rule: "export-limit",
      record: { rule: "export-limit" },
    });
    expect(quarantines[1]?.ttlMs).toBeGreaterThan(0);
  });

  it("refuses a minute range too long to read at once", async () => {
    const reader = mirrorReader({ client: restRedis(redis.connection) });
    await expect(reader.counts({ from: 0, to: 100_000 })).rejects.toThrow(/at most 1440 minutes/);
  });
});
