import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { restRedis } from "../../src/ops/redis-rest.js";
import { mirrorReader } from "../../src/stores/mirror/reader.js";
import { HARNESSES, type Harness, startHarness } from "../support/harness.js";
import {
  awayFromWindowEdge,
  dumpRedis,
  inWaves,
  type RedisFixture,
  startRedisFixture,
  until,
} from "./redis-fixture.js";

let redis: RedisFixture;
let harness: Harness | undefined;

beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
});
beforeEach(async () => {
  await redis.io.flushall();
  // Per-minute keys (top lists, traffic) are asserted one minute at a time: start each test at
  // least 20 s before the minute ends, so its decisions cannot land in two minutes.
  await awayFromWindowEdge(60_000, 20_000);
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const RULES = {
  version: 1,
  // Tenants are recorded by name only when declared (docs/recorded-format.md#privacy).
  tenants: Object.fromEntries(
    ["acme", "globex", "initech", "umbrella", "hooli"].map((name) => [name, { origins: [] }]),
  ),
  rules: [
    {
      id: "export-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/export/**" },
      limit: 3,
      window: "1m",
      algorithm: "fixed-window",
      by: ["tenant", "user", "ip"],
      quarantine: { after: 2, for: "1m" },
    },
    {
      id: "freeze",
      kind: "kill-switch",
      match: { path: "/api/:tenant/frozen" },
      status: 503,
      incident: "INC-7",
    },
    { id: "no-store", kind: "headers", match: { path: "/api/**" }, set: { "cache-control": "no-store" } },
  ],
};

async function counted(prefix = "containment:"): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const key of await redis.io.keys(`${prefix}counts:*`)) {
    for (const [field, n] of Object.entries(await redis.io.hgetall(key)))
      out[field] = (out[field] ?? 0) + Number(n);
  }
  return out;
}

/** Decisions the `events` stream stands for: single events count one, aggregates their `count`. */
async function eventTotal(): Promise<number> {
  const events = await mirrorReader({ client: restRedis(redis.connection) }).events({ limit: 10_000 });
  return events.reduce((total, event) => total + event.count, 0);
}

function sum(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

describe.each(HARNESSES)("decision mirroring to a real Redis (%s)", (name) => {
  it("mirrors every one of 1,000 decisions in a burst, in far fewer Redis requests", {
    timeout: 90_000,
  }, async () => {
    harness = await startHarness(name, {
      rules: RULES,
      redis: redis.connection,
      options: { mirror: { sampleAllows: 1 } },
    });
    const h = harness;
    await h.fetch("/api/acme/warm-up");
    await until(async () => (await redis.io.xlen("containment:events")) === 1, 30_000, "the warm-up event");
    // The isolate reports which ruleset it enforces (CONTRACTS.md format 1; again every 2 s, at once on a flip).
    const [member] = await redis.io.zrange("containment:isolates", 0, -1);
    expect(member).toMatch(/^local:[0-9a-f]{12}$/);
    expect(JSON.parse((await redis.io.get(`containment:isolate:${member}`)) as string)).toMatchObject({
      v: 1,
      region: "local",
      digest: expect.stringMatching(/^[0-9a-f]{16}$/),
      switches: ["freeze@0"],
      fast: [],
    });
    await redis.io.flushall();
    redis.bridge.resetCounts();

    const started = performance.now();
    const statuses = await inWaves(1_000, 50, async (i) => {
      const response = await h.fetch(i % 10 === 0 ? "/api/acme/frozen" : `/api/acme/items/${i}?page=${i}`);
      await response.arrayBuffer();
      return response.status;
    });
    const burstMs = performance.now() - started;
    expect(statuses.filter((s) => s === 503)).toHaveLength(100);

    // The 100 blocks of one kill switch from one network may arrive as aggregates (count, first, last).
    await until(async () => (await eventTotal()) === 1_000, 30_000, "events for 1,000 decisions");
    await until(async () => sum(await counted()) === 1_000, 30_000, "1,000 counted decisions");
    const counts = await counted();
    // Allowed requests carry no deciding rule (the headers rule only adds headers): `-|allow`.
    expect(counts).toEqual({ "freeze|block": 100, "-|allow": 900 });
    expect(await redis.io.get("containment:mirror:drops")).toBeNull();
    const requests = redis.bridge.counts.requests;
    console.log(
      `[${name}] 1,000 decisions in ${burstMs.toFixed(0)} ms (50 concurrent): mirrored 1,000 events in ${requests} Redis requests (${redis.bridge.counts.commands} commands)`,
    );
    expect(requests).toBeLessThanOrEqual(200);
  });

  it("keeps every block and samples allows", async () => {
    harness = await startHarness(name, {
      rules: RULES,
      redis: redis.connection,
      options: { mirror: { sampleAllows: 0 } },
    });
    for (let i = 0; i < 10; i++) await (await harness.fetch(`/api/acme/items/${i}`)).arrayBuffer();
    for (let i = 0; i < 3; i++) await (await harness.fetch("/api/acme/frozen")).arrayBuffer();
    await until(async () => sum(await counted()) === 13, 30_000, "13 counted decisions");
    await until(async () => (await redis.io.xlen("containment:events")) === 3, 30_000, "3 events");
    const events = await redis.io.xrange("containment:events", "-", "+");
    const flat = events[0]?.[1] ?? [];
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1] as string;
    expect(fields).toMatchObject({
      rule: "freeze",
      kind: "kill-switch",
      outcome: "block",
      status: "503",
      method: "GET",
      path: "/api/acme/frozen",
      route: "/api/:tenant/frozen",
      tenant: "acme",
      ip: "203.0.113.0/24",
      region: "local",
      reason: "kill-switch",
      incident: "INC-7",
    });
    const minuteTop = await redis.io.keys("containment:top:*:tenant");
    expect(minuteTop).toHaveLength(1);
    expect(await redis.io.zscore(minuteTop[0] as string, "acme")).toBe("3");
    expect(await redis.io.ttl("containment:events")).toBe(-1);
    for (const key of await redis.io.keys("containment:counts:*"))
      expect(await redis.io.ttl(key)).toBeGreaterThan(86_400);
  });

  it("writes no query string, raw IP or identifying path segment anywhere in Redis", async () => {
    harness = await startHarness(name, {
      rules: RULES,
      redis: redis.connection,
      options: { mirror: { sampleAllows: 1 } },
    });
    const secrets = { "x-real-ip": "198.51.100.23" };
    const v6 = { "x-real-ip": "2001:db8:5:6::abcd" };
    const paths = [
      "/api/acme/export/alice@example.com?token=s3cret-token&email=bob%40example.com",
      "/api/acme/frozen?ssn=123-45-6789",
      "/api/acme/patients/48213977/notes?q=diagnosis",
    ];
    for (const path of paths) {
      for (const init of [{ headers: secrets }, { headers: v6 }]) {
        for (let i = 0; i < 5; i++) await (await harness.fetch(path, init)).arrayBuffer();
      }
    }
    await until(async () => (await eventTotal()) === 30, 30_000, "events for 30 decisions");
    expect(await redis.io.keys("containment:quarantine:*")).not.toHaveLength(0);
    const everything = await dumpRedis(redis.io);
    for (const forbidden of [
      "s3cret",
      "token=",
      "bob",
      "alice",
      "example.com",
      "ssn",
      "123-45-6789",
      "diagnosis",
      "48213977",
      "198.51.100.23",
      "2001:db8:5:6::abcd",
      "2001:db8:5:6:0:0:0:abcd",
      "?",
    ]) {
      expect(everything, `Redis must not contain ${JSON.stringify(forbidden)}`).not.toContain(forbidden);
    }
    // What it does hold: networks, redacted paths, route templates.
    expect(everything).toContain("198.51.100.0/24");
    expect(everything).toContain("2001:db8:5:0:0:0:0:0/48");
    expect(everything).toContain("/api/acme/export/:id");
    expect(everything).toContain("/api/acme/patients/:id/notes");
  });

  it("counts every decision in shapes:<minute> by route shape, method, tenant and outcome, allows included", async () => {
    harness = await startHarness(name, {
      rules: RULES,
      redis: redis.connection,
      options: { mirror: { sampleAllows: 0 } },
    });
    for (let i = 0; i < 7; i++) await (await harness.fetch(`/api/acme/items/${i}`)).arrayBuffer();
    for (let i = 0; i < 2; i++) await (await harness.fetch(`/api/globex/items/${i}`)).arrayBuffer();
    for (let i = 0; i < 3; i++) await (await harness.fetch("/api/acme/frozen")).arrayBuffer();
    await (await harness.fetch("/api/globex/frozen", { method: "HEAD" })).arrayBuffer();
    await until(async () => sum(await counted()) === 13, 30_000, "13 counted decisions");
    const keys = await redis.io.keys("containment:shapes:*");
    expect(keys).toHaveLength(1);
    const shapes = await redis.io.hgetall(keys[0] as string);
    const total = Object.values(shapes).reduce((t, n) => t + Number(n), 0);
    // Every decision, not the 1 % sample of allows the stream keeps (here none: sampleAllows 0).
    expect(total).toBe(13);
    expect(shapes["*|/api/acme/frozen|GET|acme|block"]).toBe("3");
    expect(shapes["*|/api/globex/frozen|HEAD|globex|block"]).toBe("1");
    // By shape, whatever rule matched: identifiers redacted, never a raw one.
    expect(shapes["*|/api/acme/items/:id|GET|~undeclared|allow"]).toBe("7");
    expect(shapes["*|/api/globex/items/:id|GET|~undeclared|allow"]).toBe("2");
    const allows = Object.entries(shapes).filter(([field]) => field.endsWith("|allow"));
    expect(allows.reduce((t, [, n]) => t + Number(n), 0)).toBe(9);
    expect(allows.every(([field]) => !/\/\d+\|/.test(field))).toBe(true);
    expect(await redis.io.xlen("containment:events")).toBe(4);
    expect(await redis.io.ttl(keys[0] as string)).toBeGreaterThan(86_400);
    expect(await redis.io.get("containment:mirror:format")).toBe("2");
    expect(await redis.io.keys("containment:traffic:*")).toEqual([]);
  });

  it("folds a minute's shapes beyond capacity into ~other and ~overflow-reserved, exactly", async () => {
    harness = await startHarness(name, {
      rules: RULES,
      redis: redis.connection,
      options: { mirror: { sampleAllows: 0, reservedShapes: 2, generalShapes: 1 } },
    });
    const tenants = ["acme", "globex", "initech", "umbrella", "hooli"];
    for (const tenant of tenants)
      for (let i = 0; i < 2; i++) await (await harness.fetch(`/api/${tenant}/frozen`)).arrayBuffer();
    for (const path of ["/one", "/two", "/three"]) await (await harness.fetch(path)).arrayBuffer();
    await until(async () => sum(await counted()) === 13, 30_000, "13 counted decisions");
    const [key] = await redis.io.keys("containment:shapes:*");
    const shapes = await redis.io.hgetall(key as string);
    const named = Object.keys(shapes).filter((field) => !field.split("|")[1]?.startsWith("~"));
    expect(named).toHaveLength(3);
    const reserved = named.filter((field) => field.includes("/frozen"));
    expect(reserved.every((field) => shapes[field] === "2")).toBe(true);
    const overflow = Object.entries(shapes).filter(([field]) => field.startsWith("*|~overflow-reserved|"));
    expect(overflow.reduce((t, [, n]) => t + Number(n), 0)).toBe(6);
    const other = Object.entries(shapes).filter(([field]) => field.startsWith("*|~other|"));
    expect(other.reduce((t, [, n]) => t + Number(n), 0)).toBe(2);
    expect(await redis.io.get("containment:mirror:drops:shapes")).toBe("6");
  });

  it("folds events into aggregates when the buffer overflows, dropping none", async () => {
    harness = await startHarness(name, {
      rules: RULES,
      redis: redis.connection,
      options: { mirror: { sampleAllows: 1, bufferSize: 5, minIntervalMs: 2_000 } },
    });
    const h = harness;
    // The first flush goes at once; the next may not start for 2 s, so a burst overflows 5 slots.
    await Promise.all(
      Array.from({ length: 40 }, async (_, i) => (await h.fetch(`/api/acme/items/${i}`)).arrayBuffer()),
    );
    await until(async () => sum(await counted()) === 40, 30_000, "40 counted decisions");
    await until(async () => (await eventTotal()) === 40, 30_000, "events + aggregates = decisions");
    const events = await mirrorReader({ client: restRedis(redis.connection) }).events({ limit: 100 });
    expect(events.some((event) => event.aggregate && event.count > 1)).toBe(true);
    expect(await redis.io.get("containment:mirror:drops")).toBeNull();
    expect(await redis.io.get("containment:mirror:drops:events")).toBeNull();
  });
});
