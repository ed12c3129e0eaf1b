import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Keyring, truncateIp } from "../../src/core/identity.js";
import { parseIp } from "../../src/core/ip.js";
import type { Decision } from "../../src/model/decision.js";
import { rateLimitKeys } from "../../src/rules/rate-limit/keys.js";
import { rateLimitHeaders } from "../../src/rules/rate-limit/rule.js";
import { memoryStore } from "../../src/stores/memory.js";
import { eventFieldsOf } from "../../src/stores/mirror/event-fields.js";
import { redisConnection } from "../../src/stores/redis.js";

const HEX16 = /^[0-9a-f]{16}$/;

describe("identity keys", () => {
  const keyring = new Keyring("deployment-salt");
  const ip = parseIp("203.0.113.7");

  it("pseudonymizes every identity with the salt, per kind, as 16 hex digits", async () => {
    const user = await keyring.pseudonym("user", "alice");
    expect(user).toMatch(HEX16);
    // Computed independently of the code under test: SHA-256 of `salt NUL kind:value`, first 16 hex.
    const expected = createHash("sha256")
      .update("deployment-salt\u0000user:alice")
      .digest("hex")
      .slice(0, 16);
    expect(user).toBe(expected);
    expect(await keyring.pseudonym("tenant", "alice")).not.toBe(user);
    expect(await new Keyring("other-salt").pseudonym("user", "alice")).not.toBe(user);
  });

  it("orders dimensions tenant, user, ip whatever order `by` names them", async () => {
    const key = await keyring.key(["ip", "user", "tenant"], { tenant: "ACME", user: "alice", ip });
    const [tenant, user, address] = [
      await keyring.pseudonym("tenant", "acme"),
      await keyring.pseudonym("user", "alice"),
      await keyring.pseudonym("ip", "203.0.113.7"),
    ];
    expect(key).toEqual({
      counter: `tenant=${tenant},user=${user},ip=${address}`,
      dimension: "tenant+user+ip",
      id: `${tenant}.${user}.${address}`,
      userFellBack: false,
    });
    expect(JSON.stringify(key)).not.toMatch(/alice|acme|203\.0/);
  });

  it("keys a user without a verified subject by the client network, and says so", async () => {
    const key = await keyring.key(["tenant", "user"], { tenant: "acme", ip });
    const address = await keyring.pseudonym("ip", "203.0.113.7");
    expect(key.counter).toBe(`tenant=${await keyring.pseudonym("tenant", "acme")},user~ip=${address}`);
    expect(key.dimension).toBe("tenant+ip");
    expect(key.userFellBack).toBe(true);
    // `user` falling back and `ip` asked for too: the network counts once.
    expect((await keyring.key(["user", "ip"], { ip })).dimension).toBe("ip");
  });

  it("puts every request without a client IP in one shared unknown bucket, and without a tenant in `-`", async () => {
    expect(await keyring.key(["tenant", "ip"], {})).toMatchObject({
      counter: "tenant=-,ip=unknown",
      dimension: "tenant+ip",
      id: "-.unknown",
    });
  });

  it("counts a route alone as one counter for everyone", async () => {
    expect(await keyring.key(["route"], { ip })).toMatchObject({ counter: "all", dimension: "route" });
  });

  it("buckets IPv6 by /64 and folds IPv4-mapped addresses, with configurable prefixes", async () => {
    const a = await keyring.key(["ip"], { ip: parseIp("2001:db8:1:2::1") });
    const b = await keyring.key(["ip"], { ip: parseIp("2001:db8:1:2:ffff:ffff:ffff:ffff") });
    const c = await keyring.key(["ip"], { ip: parseIp("2001:db8:1:3::1") });
    expect(a.id).toBe(b.id);
    expect(a.id).not.toBe(c.id);
    expect((await keyring.key(["ip"], { ip: parseIp("::ffff:203.0.113.7") })).id).toBe(
      (await keyring.key(["ip"], { ip })).id,
    );
    const wide = new Keyring("deployment-salt", { ipv4Prefix: 24, ipv6Prefix: 48 });
    expect(wide.bucket(parseIp("203.0.113.200") as NonNullable<typeof ip>)).toBe("203.0.113.0/24");
    expect((await wide.key(["ip"], { ip: parseIp("2001:db8:1:3::1") })).id).toBe(
      (await wide.key(["ip"], { ip: parseIp("2001:db8:1:ffff::1") })).id,
    );
  });

  it("lays out Redis keys as documented", () => {
    expect(
      rateLimitKeys.counter("export-limit", "sliding-window", "tenant=ab", "/api/:tenant/export/**"),
    ).toBe("export-limit:sw:tenant=ab:/api/:tenant/export/**");
    expect(rateLimitKeys.trips("export-limit", "tenant+user", "ab.cd")).toBe(
      "trips:export-limit:tenant+user:ab.cd",
    );
    expect(rateLimitKeys.quarantine("tenant+user", "ab.cd")).toBe("quarantine:tenant+user:ab.cd");
    expect(rateLimitKeys.quarantine("ip", "ef", "export-limit")).toBe("quarantine:ip:ef:export-limit");
  });
});

describe("evidence", () => {
  it("truncates addresses to /24 and /48", () => {
    expect(truncateIp("203.0.113.7")).toBe("203.0.113.0/24");
    expect(truncateIp("::ffff:203.0.113.7")).toBe("203.0.113.0/24");
    expect(truncateIp("2001:db8:aaaa:bbbb::1")).toBe("2001:db8:aaaa:0:0:0:0:0/48");
    expect(truncateIp(undefined)).toBeUndefined();
    expect(truncateIp("not an ip")).toBeUndefined();
  });

  it("turns a decision into event fields with users pseudonymized and addresses truncated", async () => {
    const keyring = new Keyring("salt");
    const decision: Decision = {
      requestId: "r1",
      at: 1_795_000_000_000,
      method: "POST",
      path: "/api/acme/export/:id",
      route: "/api/:tenant/export/**",
      host: "app.example.com",
      region: "fra1",
      rulesetDigest: "0123456789abcdef",
      tenant: "acme",
      user: "auth0|alice",
      ip: "2001:db8:aaaa:bbbb::1",
      latencyMs: 2.345,
      notes: [
        { rule: "watch", kind: "rate-limit", reason: "limit-exceeded", wouldBe: "rate-limited", status: 429 },
      ],
      outcome: "error",
      rule: "export-limit",
      kind: "rate-limit",
      reason: "store-unavailable",
      failMode: "closed",
      status: 503,
    };
    expect(await eventFieldsOf(decision, keyring)).toEqual({
      ts: "1795000000000",
      id: "r1",
      rule: "export-limit",
      kind: "rate-limit",
      outcome: "error",
      status: "503",
      method: "POST",
      path: "/api/acme/export/:id",
      route: "/api/:tenant/export/**",
      host: "app.example.com",
      tenant: "acme",
      user: await keyring.pseudonym("user", "auth0|alice"),
      ip: "2001:db8:aaaa:0:0:0:0:0/48",
      region: "fra1",
      digest: "0123456789abcdef",
      latency: "2.3",
      reason: "store-unavailable",
      failMode: "closed",
      notes: "watch:rate-limited:limit-exceeded",
    });
  });
});

describe("RateLimit headers", () => {
  it("give limit, remaining, seconds to reset and the policy", () => {
    expect(
      rateLimitHeaders(
        { success: true, limit: 20, remaining: 7, reset: 1_000_000 + 12_400 },
        60_000,
        1_000_000,
      ),
    ).toEqual({
      "ratelimit-limit": "20",
      "ratelimit-remaining": "7",
      "ratelimit-reset": "13",
      "ratelimit-policy": "20;w=60",
    });
    expect(
      rateLimitHeaders({ success: false, limit: 5, remaining: -1, reset: 900 }, 1_500, 1_000)[
        "ratelimit-remaining"
      ],
    ).toBe("0");
  });
});

describe("the Redis connection", () => {
  it("comes from the option, else the Upstash env, else Vercel KV's; a list is refused", () => {
    expect(redisConnection({ url: "https://a", token: "t" }, {})).toEqual({ url: "https://a", token: "t" });
    expect(() =>
      redisConnection(
        [
          { url: "https://a", token: "t" },
          { url: "https://b", token: "u" },
        ] as never,
        {},
      ),
    ).toThrow(/takes one database \{ url, token \}, not a list/);
    const store = memoryStore();
    expect(redisConnection(store, {})).toBe(store);
    expect(() => redisConnection("memory" as never, {})).toThrow(
      /memoryStore\(\) from "edge-containment\/memory"/,
    );
    expect(
      redisConnection(undefined, { UPSTASH_REDIS_REST_URL: "https://u", UPSTASH_REDIS_REST_TOKEN: "x" }),
    ).toEqual({ url: "https://u", token: "x" });
    expect(redisConnection(undefined, { KV_REST_API_URL: "https://k", KV_REST_API_TOKEN: "y" })).toEqual({
      url: "https://k",
      token: "y",
    });
    expect(redisConnection(undefined, {})).toBeUndefined();
  });
});
