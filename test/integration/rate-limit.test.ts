import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigInvalid } from "../../src/core/errors.js";
import { createContainment } from "../../src/engine/firewall.js";
import { HARNESSES, type Harness, startHarness } from "../support/harness.js";
import { awayFromWindowEdge, type RedisFixture, startRedisFixture, until } from "./redis-fixture.js";

// One real redis-server behind the Upstash bridge for the file; each test gets a fresh firewall
// (fresh isolate caches) and an empty Redis.
//
// Time: the firewall in workerd reads the real clock, so these tests never bet on how long a burst
// takes. Counting windows are an hour long and each test starts at least 30 s before the hour ends
// (waiting for the next hour otherwise), so a burst cannot straddle two windows; the short windows
// of the refill and quarantine tests are waited out on conditions read from the clock and Redis.
const HOUR = 3_600_000;

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
  await awayFromWindowEdge(HOUR, 30_000);
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The tests' tenants are declared: Redis names no other (docs/recorded-format.md#privacy). */
function rules(...list: unknown[]): unknown {
  return { version: 1, tenants: { acme: { origins: [] }, globex: { origins: [] } }, rules: list };
}

function exportLimit(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    id: "export-limit",
    kind: "rate-limit",
    match: { path: "/api/:tenant/export/**" },
    window: "1h",
    by: ["tenant", "ip"],
    ...fields,
  };
}

async function start(
  name: "node" | "workerd",
  ruleList: unknown,
  options: Record<string, unknown> = { mirror: false },
): Promise<Harness> {
  harness = await startHarness(name, { rules: ruleList, redis: redis.connection, options });
  return harness;
}

async function statuses(h: Harness, paths: readonly string[], init?: RequestInit): Promise<number[]> {
  const out: number[] = [];
  for (const path of paths) {
    const response = await h.fetch(path, init);
    await response.arrayBuffer();
    out.push(response.status);
  }
  return out;
}

describe.each(HARNESSES)("rate limits on a real Redis (%s)", (name) => {
  it("admits exactly 20 of 100 concurrent requests against a fixed window of 20", async () => {
    // Exact counting, not deadlines, is under test: in Node the bridge, Redis client and firewall
    // share one event loop, and 100 simultaneous cold requests queue there for longer than 250 ms.
    const h = await start(
      name,
      rules(exportLimit({ limit: 20, algorithm: "fixed-window", timeoutMs: 5_000 })),
    );
    const responses = await Promise.all(
      Array.from({ length: 100 }, () => h.fetch("/api/acme/export/patients")),
    );
    const codes = await Promise.all(
      responses.map(async (r) => {
        await r.arrayBuffer();
        return r.status;
      }),
    );
    expect(codes.filter((c) => c === 200)).toHaveLength(20);
    expect(codes.filter((c) => c === 429)).toHaveLength(80);
    expect(h.upstreamHits()).toBe(20);
  });

  it("limits a sliding window at its limit and counts per tenant", async () => {
    const h = await start(name, rules(exportLimit({ limit: 3, algorithm: "sliding-window" })));
    const acme = await statuses(h, Array(5).fill("/api/acme/export/x"));
    const globex = await statuses(h, Array(2).fill("/api/globex/export/x"));
    expect(acme).toEqual([200, 200, 200, 429, 429]);
    expect(globex).toEqual([200, 200]);
  });

  it("lets a token bucket spend its tokens, then refill one per interval", async () => {
    const h = await start(
      name,
      rules(exportLimit({ limit: 2, refill: 1, window: "5s", algorithm: "token-bucket" })),
    );
    expect(await statuses(h, Array(3).fill("/api/acme/export/x"))).toEqual([200, 200, 429]);
    // Wait until one refill interval has passed since the bucket was last refilled (read from
    // the bucket itself), then spend: one token came back, the next interval is 5 s away.
    const [bucket] = (await redis.io.keys("containment:rl:*")).filter((key) => !key.endsWith(":checks"));
    const refilledAt = Number(await redis.io.hget(bucket as string, "refilledAt"));
    expect(refilledAt).toBeGreaterThan(0);
    await until(() => Date.now() >= refilledAt + 5_000, 15_000, "one refill interval");
    expect(await statuses(h, Array(2).fill("/api/acme/export/x"))).toEqual([200, 429]);
  });

  it("counts every spelling of one route (encoded, trailing slash, HEAD, _next/data) on one counter", async () => {
    const h = await start(name, rules(exportLimit({ limit: 4, algorithm: "fixed-window" })));
    const spellings = [
      "/api/acme/export/data",
      "/api/%61cme/export/%64ata",
      "/api/acme/export/data/",
      "/_next/data/build-1/api/acme/export/data.json",
    ];
    expect(await statuses(h, spellings)).toEqual([200, 200, 200, 200]);
    const head = await h.fetch("/api/acme/export/data", { method: "HEAD" });
    expect(head.status).toBe(429);
    expect(await statuses(h, ["/api/ACME/export/data", "/API/acme/EXPORT/data"])).toEqual([429, 429]);
    // One counter (plus the hash of its check ids, for refunds).
    const keys = (await redis.io.keys("containment:rl:*")).filter((key) => !key.endsWith(":checks"));
    expect(keys).toHaveLength(1);
    expect(keys[0]).toContain(":/api/:tenant/export/**:");
  });

  it("answers a limited request 429 with Retry-After and RateLimit headers, and an allowed one with RateLimit headers", async () => {
    const h = await start(name, rules(exportLimit({ limit: 2, algorithm: "fixed-window" })));
    const first = await h.fetch("/api/acme/export/x");
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-limit")).toBe("2");
    expect(first.headers.get("ratelimit-remaining")).toBe("1");
    expect(Number(first.headers.get("ratelimit-reset"))).toBeGreaterThanOrEqual(0);
    expect(first.headers.get("ratelimit-policy")).toBe("2;w=3600");
    await h.fetch("/api/acme/export/x");
    const limited = await h.fetch("/api/acme/export/x");
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3_600);
    expect(limited.headers.get("ratelimit-remaining")).toBe("0");
    expect(limited.headers.get("ratelimit-limit")).toBe("2");
    expect(await limited.json()).toMatchObject({ rule: "export-limit", error: "Too many requests." });
  });

  it("never counts a CORS preflight", async () => {
    const h = await start(name, rules(exportLimit({ limit: 1, algorithm: "fixed-window" })));
    const preflight = {
      method: "OPTIONS",
      headers: { origin: "https://acme.example.com", "access-control-request-method": "POST" },
    };
    for (let i = 0; i < 3; i++) expect((await h.fetch("/api/acme/export/x", preflight)).status).not.toBe(429);
    expect(await statuses(h, ["/api/acme/export/x", "/api/acme/export/x"])).toEqual([200, 429]);
  });

  it("counts IPv6 clients by /64 and an IPv4-mapped address as its IPv4", async () => {
    const h = await start(name, rules(exportLimit({ limit: 2, algorithm: "fixed-window", by: ["ip"] })));
    const v6 = (ip: string) => ({ headers: { "x-real-ip": ip } });
    expect(await statuses(h, ["/api/acme/export/x"], v6("2001:db8:1:2::1"))).toEqual([200]);
    expect(await statuses(h, ["/api/acme/export/x"], v6("2001:db8:1:2:ffff::9"))).toEqual([200]);
    expect(await statuses(h, ["/api/acme/export/x"], v6("2001:db8:1:2::77"))).toEqual([429]);
    expect(await statuses(h, ["/api/acme/export/x"], v6("2001:db8:1:3::1"))).toEqual([200]);
    expect(await statuses(h, ["/api/acme/export/x", "/api/acme/export/x"], v6("198.51.100.4"))).toEqual([
      200, 200,
    ]);
    expect(await statuses(h, ["/api/acme/export/x"], v6("::ffff:198.51.100.4"))).toEqual([429]);
  });

  it("quarantines an identity after N trips, on that rule's routes only, until the quarantine expires", async () => {
    const windowMs = 3_000;
    const h = await start(
      name,
      rules(
        exportLimit({
          limit: 2,
          window: "3s",
          algorithm: "fixed-window",
          quarantine: { after: 2, for: "6s" },
        }),
        {
          id: "reports",
          kind: "rate-limit",
          match: { path: "/api/:tenant/reports" },
          limit: 100,
          window: "1h",
          by: ["tenant", "ip"],
        },
      ),
    );
    // At least 2 s left in the 3 s window, so the burst below stays inside one.
    await awayFromWindowEdge(windowMs, 2_000);
    const burstWindow = Math.floor(Date.now() / windowMs);
    expect(await statuses(h, Array(4).fill("/api/acme/export/x"))).toEqual([200, 200, 429, 429]);
    const quarantineKeys = await redis.io.keys("containment:quarantine:*");
    expect(quarantineKeys).toEqual([
      expect.stringMatching(/^containment:quarantine:tenant\+ip:[0-9a-f]{16}\.[0-9a-f]{16}:export-limit$/),
    ]);
    const key = quarantineKeys[0] as string;
    const ttl = await redis.io.pttl(key);
    expect(ttl).toBeGreaterThan(3_000);
    expect(ttl).toBeLessThanOrEqual(6_000);
    expect(JSON.parse((await redis.io.get(key)) as string)).toMatchObject({
      rule: "export-limit",
      scope: "rule",
      tenant: "acme",
    });

    // A new window would admit again, but the quarantine holds.
    await until(() => Math.floor(Date.now() / windowMs) > burstWindow, 10_000, "the next window");
    expect(await redis.io.exists(key)).toBe(1);
    const held = await h.fetch("/api/acme/export/x");
    expect(held.status).toBe(429);
    expect(held.headers.get("ratelimit-limit")).toBeNull();
    expect(Number(held.headers.get("retry-after"))).toBeLessThanOrEqual(6);
    expect((await h.fetch("/api/acme/reports")).status).toBe(200);
    expect((await h.fetch("/api/acme/export/x", { headers: { "x-real-ip": "198.51.100.9" } })).status).toBe(
      200,
    );

    await until(async () => (await redis.io.exists(key)) === 0, 15_000, "the quarantine to expire");
    // The isolate's cached copy of the quarantine ends on its own clock, at the same instant.
    await until(
      async () => (await h.fetch("/api/acme/export/x")).status === 200,
      10_000,
      "the identity to be admitted again",
    );
  });

  it("with scope all, blocks a quarantined identity on every route with a rate-limit rule, and nowhere else", async () => {
    const h = await start(
      name,
      rules(
        exportLimit({
          limit: 1,
          algorithm: "fixed-window",
          by: ["ip"],
          quarantine: { after: 1, for: "1m", scope: "all" },
        }),
        {
          id: "reports",
          kind: "rate-limit",
          match: { path: "/api/:tenant/reports" },
          limit: 100,
          window: "1m",
          by: ["tenant"],
        },
      ),
    );
    expect(await statuses(h, ["/api/acme/export/x", "/api/acme/export/x"])).toEqual([200, 429]);
    expect(await redis.io.keys("containment:quarantine:*")).toEqual([
      expect.stringMatching(/^containment:quarantine:ip:[0-9a-f]{16}$/),
    ]);
    const reports = await h.fetch("/api/acme/reports");
    expect(reports.status).toBe(429);
    expect(await reports.json()).toMatchObject({ rule: "reports" });
    // No rate-limit rule there: no Redis call, so no quarantine either.
    expect((await h.fetch("/api/acme/profile")).status).toBe(200);
    // Another client is not affected.
    expect((await h.fetch("/api/acme/reports", { headers: { "x-real-ip": "198.51.100.9" } })).status).toBe(
      200,
    );
  });

  it("refuses a list of databases at setup instead of silently using the first", async () => {
    const second = await startRedisFixture();
    try {
      const list = [redis.connection, second.connection] as never;
      expect(() => createContainment({ rules: rules(exportLimit({ limit: 4 })), redis: list })).toThrow(
        ConfigInvalid,
      );
      expect(await second.io.keys("*")).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it("limits with the in-memory store (per isolate) when told redis: memory, without any Redis", async () => {
    harness = await startHarness(name, {
      rules: rules(exportLimit({ limit: 2, algorithm: "sliding-window" })),
      redis: "memory",
    });
    redis.bridge.resetCounts();
    expect(await statuses(harness, Array(3).fill("/api/acme/export/x"))).toEqual([200, 200, 429]);
    expect(redis.bridge.counts.requests).toBe(0);
  });

  it("makes no Redis call for a route without a rate-limit rule, and one per check on a route with one", async () => {
    const h = await start(
      name,
      rules(exportLimit({ limit: 5, quarantine: { after: 3, for: "1m" } }), {
        id: "h",
        kind: "headers",
        match: { path: "/api/**" },
        set: { "cache-control": "no-store" },
      }),
    );
    await h.fetch("/api/acme/export/warm-up");
    redis.bridge.resetCounts();
    for (let i = 0; i < 20; i++) expect((await h.fetch(`/api/acme/profile/${i}`)).status).toBe(200);
    expect(redis.bridge.counts.requests).toBe(0);
    // The limit and the quarantine lookup are one script call: one request, one command.
    await h.fetch("/api/acme/export/x");
    expect(redis.bridge.counts).toEqual({ requests: 1, commands: 1, byCommand: { evalsha: 1 } });
  });
});
