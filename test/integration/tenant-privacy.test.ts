/**
 * a request's tenant is resolved in one validated function (rules/tenancy.ts
 * resolveTenant), so an identifier in the tenant position of a path never reaches Redis: not in
 * `events`, not in `top:*:tenant`, not in `shapes:*`, not in a rate-limit or quarantine key.
 * (A value inside the tenant id alphabet, such as `555-12-3456`, is an opaque tenant id by
 * definition and is recorded; the alphabet keeps out e-mail addresses and anything encoded.)
 * Identifiers go in every position a decision records (tenant segment, other path segments,
 * query, client address, token subject), through a kill switch, a tenant-scoped kill switch, a
 * rate limit keyed by tenant and a tenant binding, in Node and in workerd.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HARNESSES, type Harness, startHarness } from "../support/harness.js";
import { mintHs } from "../support/jwt.js";
import { dumpRedis, type RedisFixture, startRedisFixture, until } from "./redis-fixture.js";

const SECRET = "p".repeat(40);

const RULES = {
  version: 1,
  // Declared tenants are named in Redis; any other is ~undeclared (docs/recorded-format.md#privacy).
  tenants: { acme: { origins: [] }, globex: { origins: [] } },
  tenancy: { from: "path", param: "org", pattern: "/orgs/:org/**" },
  rules: [
    { id: "export-freeze", kind: "kill-switch", match: { path: "/api/:tenant/export" } },
    { id: "scoped-freeze", kind: "kill-switch", match: { path: "/orgs/:org/files", tenants: ["globex"] } },
    {
      id: "reads",
      kind: "rate-limit",
      match: { path: "/api/:tenant/records" },
      limit: 2,
      window: "1h",
      by: ["tenant", "ip"],
      quarantine: { after: 1, for: "1h" },
    },
    {
      id: "bind",
      kind: "tenant-binding",
      match: { path: "/t/:tenant/**" },
      tenant: { from: "path", param: "tenant" },
      token: { claim: "org_id", secretEnv: "PRIVACY_SECRET", algorithms: ["HS256"] },
    },
  ],
};

let redis: RedisFixture;
beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
});

describe.each(HARNESSES)("no unvalidated tenant reaches Redis (%s)", (name) => {
  let harness: Harness;
  beforeEach(async () => {
    await redis.io.flushall();
    harness = await startHarness(name, {
      rules: RULES,
      redis: redis.connection,
      env: { PRIVACY_SECRET: SECRET },
      options: { mirror: { sampleAllows: 1 } },
    });
  });
  afterEach(() => harness?.close());

  it("records no identifier from any position, while valid tenants are still recorded", async () => {
    const ip = { "x-real-ip": "198.51.100.77" };
    const token = await mintHs(SECRET, {
      org_id: "jane.roe@example.com",
      sub: "mallory@example.com",
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    const requests: Array<[string, RequestInit]> = [
      ["/api/jane%40example.com/export?email=jane%40example.com", { headers: ip }],
      ["/api/jane%2540example.com/export", { headers: ip }],
      ["/api/jane%40example.com/records", { headers: ip }],
      ["/api/jane%40example.com/records", { headers: ip }],
      ["/api/jane%40example.com/records", { headers: ip }],
      ["/orgs/jane%40example.com/files", { headers: ip }],
      ["/orgs/acme/..%2fjane%40example.com/files", { headers: ip }],
      ["/t/jane%40example.com/notes", { headers: { ...ip, authorization: `Bearer ${token}` } }],
      ["/t/acme/..%2fjane%40example.com/notes", { headers: { ...ip, authorization: `Bearer ${token}` } }],
      ["/api/acme/export", { headers: ip }],
    ];
    for (const [path, init] of requests) await (await harness.fetch(path, init)).arrayBuffer();
    await until(
      async () => (await redis.io.xlen("containment:events")) >= requests.length,
      10_000,
      `${requests.length} events`,
    );
    const everything = await dumpRedis(redis.io);
    for (const forbidden of ["jane", "example.com", "%40", "mallory", "198.51.100.77"])
      expect(everything, `Redis must not contain ${JSON.stringify(forbidden)}`).not.toContain(forbidden);
    // No e-mail address in any spelling. A bare "@" is allowed: switch names are `id@version`.
    expect(everything).not.toMatch(/[\w.+-]+(@|%40|%2540)[\w-]+\.[a-z]/i);
    // A declared tenant is still named: responders act on organisations.
    expect(everything).toContain("acme");
  });
});
