import { describe, expect, it } from "vitest";
import { BoundedMap, ExpiringMap } from "../../src/core/bounded.js";
import { Keyring } from "../../src/core/identity.js";
import type { Decision } from "../../src/model/decision.js";
import type { LimiterConfig } from "../../src/model/rate-limit-store.js";
import { MemoryDecisionLog, MemoryStore } from "../../src/stores/memory.js";

function clock(start = Date.parse("2026-11-23T19:00:00Z")) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number): void => {
      now += ms;
    },
  };
}

function config(fields: Partial<LimiterConfig>): LimiterConfig {
  return { name: "r", algorithm: "fixed-window", limit: 3, windowMs: 60_000, refill: 3, ...fields };
}

async function run(
  store: MemoryStore,
  limiterConfig: LimiterConfig,
  times: number,
  key = "k",
): Promise<boolean[]> {
  const limiter = store.limiter(limiterConfig);
  const out: boolean[] = [];
  for (let i = 0; i < times; i++) out.push((await limiter.check(key, [])).limit?.success ?? false);
  return out;
}

describe("the in-memory store", () => {
  it("admits a fixed window's limit, then denies until the next window", async () => {
    const time = clock();
    const store = new MemoryStore({ now: time.now });
    const cfg = config({ algorithm: "fixed-window", limit: 3 });
    expect(await run(store, cfg, 5)).toEqual([true, true, true, false, false]);
    const denied = await store.limiter(cfg).check("k", []);
    expect(denied.limit).toMatchObject({
      success: false,
      remaining: 0,
      limit: 3,
      reset: Math.ceil((time.now() + 1) / 60_000) * 60_000,
    });
    time.advance(60_000);
    expect(await run(store, cfg, 1)).toEqual([true]);
    expect(await run(store, cfg, 1, "other")).toEqual([true]);
  });

  it("weights the previous window in a sliding window, like @upstash/ratelimit", async () => {
    const time = clock(Date.parse("2026-11-23T19:00:00Z"));
    const store = new MemoryStore({ now: time.now });
    const cfg = config({ algorithm: "sliding-window", limit: 4 });
    expect(await run(store, cfg, 5)).toEqual([true, true, true, true, false]);
    // A quarter into the next window, 3/4 of the previous 4 still count: one more fits.
    time.advance(75_000);
    expect(await run(store, cfg, 2)).toEqual([true, false]);
    // Half-way: 4 * 0.5 = 2 from before, plus the 1 admitted: one more fits.
    time.advance(15_000);
    expect(await run(store, cfg, 2)).toEqual([true, false]);
  });

  it("spends a token bucket and refills `refill` tokens per window", async () => {
    const time = clock();
    const store = new MemoryStore({ now: time.now });
    const cfg = config({ algorithm: "token-bucket", limit: 3, refill: 1, windowMs: 1_000 });
    expect(await run(store, cfg, 4)).toEqual([true, true, true, false]);
    time.advance(1_000);
    expect(await run(store, cfg, 2)).toEqual([true, false]);
    time.advance(10_000);
    expect(await run(store, cfg, 4)).toEqual([true, true, true, false]);
  });

  it("quarantines at the Nth trip within the window, and the quarantine expires", async () => {
    const time = clock();
    const store = new MemoryStore({ now: time.now });
    const trip = {
      tripKey: "trips:r:ip:x",
      quarantineKey: "quarantine:ip:x:r",
      after: 3,
      windowMs: 10_000,
      forMs: 60_000,
      record: "{}",
    };
    expect(await store.trip(trip)).toEqual({ trips: 1, quarantined: false });
    expect(await store.trip(trip)).toEqual({ trips: 2, quarantined: false });
    expect(await store.trip(trip)).toEqual({ trips: 3, quarantined: true });
    const limiter = store.limiter(config({}));
    expect(await limiter.check("k", ["quarantine:ip:x:r"])).toEqual({
      quarantine: { key: "quarantine:ip:x:r", ttlMs: 60_000 },
      source: "cache",
    });
    expect(store.quarantines()).toEqual([{ key: "quarantine:ip:x:r", record: "{}", ttlMs: 60_000 }]);
    time.advance(60_000);
    expect((await limiter.check("k", ["quarantine:ip:x:r"])).quarantine).toBeUndefined();
  });

  it("forgets trips that are further apart than the window", async () => {
    const time = clock();
    const store = new MemoryStore({ now: time.now });
    const trip = { tripKey: "t", quarantineKey: "q", after: 2, windowMs: 1_000, forMs: 5_000, record: "{}" };
    await store.trip(trip);
    time.advance(1_001);
    expect(await store.trip(trip)).toEqual({ trips: 1, quarantined: false });
  });

  it("stays bounded however many identities it sees", async () => {
    const time = clock();
    const store = new MemoryStore({ now: time.now, maxEntries: 100 });
    const limiter = store.limiter(config({ algorithm: "sliding-window" }));
    for (let i = 0; i < 5_000; i++) await limiter.check(`id-${i}`, []);
    expect(store.size).toBeLessThanOrEqual(100);
    const bucket = store.limiter(config({ algorithm: "token-bucket" }));
    for (let i = 0; i < 5_000; i++) await bucket.check(`id-${i}`, []);
    expect(store.size).toBeLessThanOrEqual(200);
  });

  it("says in its status that it counts per isolate", () => {
    expect(new MemoryStore().status()).toMatchObject({
      kind: "memory",
      scope: "per-isolate",
      note: expect.stringContaining("per isolate"),
    });
  });
});

describe("the bounded maps behind every cache", () => {
  it("evicts the least recently set entry when full", () => {
    const map = new BoundedMap<string, number>(3);
    map.set("a", 1).set("b", 2).set("c", 3);
    map.set("a", 10);
    map.set("d", 4);
    expect([...map.keys()]).toEqual(["c", "a", "d"]);
    expect(map instanceof Map).toBe(true);
  });

  it("expires entries and sweeps expired ones before evicting live ones", () => {
    const time = clock();
    const map = new ExpiringMap<string, number>(4, time.now);
    map.set("short-1", 1, 10);
    map.set("short-2", 2, 10);
    map.set("long-1", 3, 1_000);
    map.set("long-2", 4, 1_000);
    time.advance(20);
    expect(map.get("short-1")).toBeUndefined();
    map.set("long-3", 5, 1_000);
    map.set("long-4", 6, 1_000);
    expect(map.get("long-1")).toBe(3);
    expect(map.ttl("long-1")).toBe(980);
    expect(map.size).toBeLessThanOrEqual(4);
  });
});

describe("the in-memory decision log", () => {
  const decision: Decision = {
    requestId: "req-1",
    at: Date.parse("2026-11-23T19:00:30Z"),
    method: "GET",
    path: "/api/acme/export/:id",
    route: "/api/:tenant/export/**",
    host: "app.example.com",
    region: "fra1",
    rulesetDigest: "0123456789abcdef",
    tenant: "acme",
    user: "user-42@acme.example",
    ip: "203.0.113.7",
    latencyMs: 3.21,
    notes: [],
    outcome: "rate-limited",
    rule: "export-limit",
    kind: "rate-limit",
    reason: "limit-exceeded",
    status: 429,
  };

  it("keeps events with the mirror's privacy rules and counts per minute", async () => {
    const keyring = new Keyring("salt");
    const log = new MemoryDecisionLog(keyring);
    log.record(decision);
    log.record({ ...decision, outcome: "allow", reason: "passed" } as Decision);
    await log.flush();
    const [event] = log.events();
    expect(event).toMatchObject({
      rule: "export-limit",
      outcome: "rate-limited",
      status: "429",
      tenant: "acme",
      ip: "203.0.113.0/24",
      route: "/api/:tenant/export/**",
    });
    expect(event?.user).toBe(await keyring.pseudonym("user", "user-42@acme.example"));
    expect(JSON.stringify(log.events())).not.toContain("user-42");
    expect(JSON.stringify(log.events())).not.toContain("203.0.113.7");
    expect(log.counts()).toEqual({
      [String(Math.floor(decision.at / 60_000))]: { "export-limit|rate-limited": 1, "export-limit|allow": 1 },
    });
  });

  it("holds at most maxEvents events", async () => {
    const log = new MemoryDecisionLog(new Keyring("salt"), { maxEvents: 10 });
    for (let i = 0; i < 25; i++) log.record({ ...decision, requestId: `r${i}` });
    await log.flush();
    for (let i = 25; i < 30; i++) log.record({ ...decision, requestId: `r${i}` });
    await log.flush();
    expect(log.events().map((e) => e.id)).toEqual([
      "r20",
      "r21",
      "r22",
      "r23",
      "r24",
      "r25",
      "r26",
      "r27",
      "r28",
      "r29",
    ]);
    expect(log.stats()).toMatchObject({ recorded: 30, dropped: 15 });
  });
});
