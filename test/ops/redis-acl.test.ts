import { Redis as IoRedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContainment } from "../../src/engine/firewall.js";
import { APPEND_SCRIPT } from "../../src/ops/audit/chain.js";
import { aclRules, type RedisRole } from "../../src/ops/redis-acl.js";
import { EDGE_USER, type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { type Harness, startHarness } from "../support/harness.js";
import { mintHs } from "../support/jwt.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let server: RedisServer;
const clients: IoRedis[] = [];
const P = "containment:";

function as(role: RedisRole): IoRedis {
  const client = new IoRedis({
    port: server.port,
    host: "127.0.0.1",
    username: `containment-${role}`,
    password: `${role}-pw`,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
  });
  client.on("error", () => {});
  clients.push(client);
  return client;
}

const append = (client: IoRedis) =>
  client.eval(APPEND_SCRIPT, 2, `${P}audit`, `${P}audit:head`, "", "{}", "h", String(Date.now()), "1:h", "");

beforeAll(async () => {
  server = await startRedisServer();
  const admin = new IoRedis({ port: server.port, host: "127.0.0.1" });
  for (const role of ["edge", "responder", "reader"] as const)
    await admin.call("ACL", "SETUSER", `containment-${role}`, ...aclRules(role, P, `${role}-pw`));
  admin.disconnect();
});
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server.stop();
});

describe("the three Redis credentials", () => {
  it("lets the edge write the mirror and rate-limit keys and read the fast lane, but never append to the audit chain", async () => {
    const edge = as("edge");
    await edge.xadd(`${P}events`, "*", "rule", "r");
    await edge.hincrby(`${P}counts:1`, "r|block", 1);
    await edge.set(`${P}rl:x`, "1");
    expect(await edge.hgetall(`${P}fastlane`)).toEqual({});
    await expect(edge.hset(`${P}fastlane`, "x", "forged")).rejects.toThrow(/NOPERM/);
    await expect(append(edge)).rejects.toThrow(/NOPERM/);
    await expect(edge.set(`${P}audit:head`, "1:forged")).rejects.toThrow(/NOPERM/);
  });

  it("lets the responders append to the audit chain and publish to the fast lane", async () => {
    const responder = as("responder");
    expect(((await append(responder)) as unknown[])[0]).toBe(1);
    await responder.hset(`${P}fastlane`, "x", "{}");
  });

  it("lets dashboards read everything and write nothing", async () => {
    const reader = as("reader");
    expect(await reader.xlen(`${P}audit`)).toBe(1);
    await expect(reader.set(`${P}events`, "x")).rejects.toThrow(/NOPERM/);
    await expect(append(reader)).rejects.toThrow(/NOPERM/);
  });
});

describe("the edge's ACL, derived from the layouts that write its keys", () => {
  let redis: RedisFixture;
  let harness: Harness | undefined;

  beforeAll(async () => {
    redis = await startRedisFixture({ aclUser: true });
    await redis.io.call("ACL", "SETUSER", EDGE_USER.name, ...aclRules("edge", P, EDGE_USER.password));
  });
  afterAll(async () => {
    await harness?.close();
    await redis?.close();
  });

  it("grants every key a real workload writes (mirror, rate limits, trips, quarantines), so nothing is refused", async () => {
    harness = await startHarness("node", {
      redis: redis.connection,
      rules: {
        version: 1,
        rules: [
          { id: "frozen", kind: "kill-switch", match: { path: "/api/:tenant/frozen" } },
          {
            id: "exports",
            kind: "rate-limit",
            match: { path: "/api/:tenant/export/**" },
            limit: 1,
            window: "1h",
            by: ["ip"],
            failMode: "closed",
            quarantine: { after: 2, for: "10m" },
          },
        ],
      },
    });
    const first = { "x-real-ip": "198.51.100.1" };
    const second = { "x-real-ip": "198.51.100.2" };
    const requests: Array<[string, Record<string, string>]> = [
      ["/api/acme/frozen", first],
      ["/api/acme/export/a", first],
      ["/api/acme/export/b", first],
      ["/api/acme/export/c", first],
      ["/api/acme/export/d", second],
      ["/api/acme/export/e", second],
      ["/", first],
    ];
    const statuses = [];
    for (const [path, headers] of requests) statuses.push((await harness.fetch(path, { headers })).status);
    // Kill switch; the first client admitted, over twice (quarantined); the second over once (one trip).
    expect(statuses).toEqual([503, 200, 429, 429, 200, 429, 200]);
    const paths = requests;
    const accounted = async () =>
      Object.values(await redis.io.hgetall(`${P}mirror:accounted`)).reduce((sum, n) => sum + Number(n), 0);
    await until(async () => (await accounted()) === paths.length, 15_000, "every decision in the mirror");

    const keys = await redis.io.keys(`${P}*`);
    for (const family of [
      "events",
      "counts:",
      "shapes:",
      "mirror:format",
      "isolates",
      "mirror:seq",
      "rl:",
      "trips:",
      "quarantine:",
    ])
      expect(keys.some((key) => key.startsWith(`${P}${family}`))).toBe(true);
    const refused = [];
    for (const key of keys) {
      const answer = await redis.io.call("ACL", "DRYRUN", EDGE_USER.name, "DEL", key);
      if (answer !== "OK") refused.push(key);
    }
    expect(refused).toEqual([]);
  });

  it("grants every key a detector writes (counters, budget, settling guard, detections, its quarantine)", async () => {
    const secret = "acl-test-secret-of-at-least-32-bytes-long";
    const background: Promise<unknown>[] = [];
    const containment = createContainment({
      redis: redis.connection,
      mirror: false,
      env: { CONTAINMENT_SALT: "s", SECRET: secret },
      onReport: () => {},
      rules: {
        version: 1,
        rules: [
          {
            id: "bind",
            kind: "tenant-binding",
            match: { path: "/api/:tenant/**" },
            tenant: { from: "path", param: "tenant" },
            token: { claim: "org", secretEnv: "SECRET", algorithms: ["HS256"] },
          },
          {
            id: "enum",
            kind: "detector",
            detect: "enumeration",
            match: { path: "/api/:tenant/patients/:id" },
            param: "id",
            by: ["tenant", "user"],
            window: "10m",
            threshold: 2,
            action: { quarantine: { path: "/api/:tenant/patients/**", for: "1m" } },
          },
        ],
      },
    });
    const now = Math.floor(Date.now() / 1000);
    const token = await mintHs(secret, { sub: "u", org: "acme", iat: now, exp: now + 600 });
    for (const id of ["1", "2", "3"])
      await containment.decide(
        new Request(`http://localhost/api/acme/patients/${id}`, {
          headers: { authorization: `Bearer ${token}` },
        }),
        { waitUntil: (p) => background.push(p) },
      );
    while (background.length > 0) await Promise.allSettled(background.splice(0));
    const keys = await redis.io.keys(`${P}*`);
    for (const family of [
      "detect:enum:",
      "detect:budget:",
      "detect:epoch:",
      "detect:spike:",
      "detection:",
      "detections",
      "quarantine:",
    ])
      expect(
        keys.some((key) => key.startsWith(`${P}${family}`)),
        family,
      ).toBe(true);
    const refused = [];
    for (const key of keys) {
      const answer = await redis.io.call("ACL", "DRYRUN", EDGE_USER.name, "DEL", key);
      if (answer !== "OK") refused.push(key);
    }
    expect(refused).toEqual([]);
  });
});
