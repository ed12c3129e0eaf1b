import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  closeIncident,
  getIncident,
  type IncidentContext,
  listIncidents,
  openIncident,
  readConfirmations,
  readIncidentQuarantines,
  recordConfirmation,
  snapshotIncident,
} from "../../src/ops/incidents.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";

let redis: RedisFixture;
let ctx: IncidentContext;
let now = Date.parse("2026-12-01T21:00:00Z");
const minute = (at: number) => Math.floor(at / 60_000);

beforeAll(async () => {
  redis = await startRedisFixture();
  const client = restRedis(redis.connection);
  ctx = { client, prefix: "containment:", now: () => now };
});
afterAll(async () => {
  await redis?.close();
});
beforeEach(async () => {
  await redis.io.flushall();
  now = Date.parse("2026-12-01T21:00:00Z");
});

describe("incidents in Redis", () => {
  it("opens an incident with its discovery time, roles and data classes, and lists it", async () => {
    const opened = await openIncident(ctx, {
      id: "INC-7",
      title: "Exports of acme",
      discovered: now - 600_000,
      dataClasses: ["phi", "pii"],
      hipaaRole: "covered-entity",
      gdprRole: "processor",
      dpaTerm: "24h",
      actor: "alice",
    });
    expect(await getIncident(ctx, "INC-7")).toEqual(opened);
    expect(opened).toMatchObject({
      discovered: now - 600_000,
      opened: now,
      dataClasses: ["phi", "pii"],
      dpaTerm: "24h",
    });
    expect((await listIncidents(ctx)).map((i) => i.id)).toEqual(["INC-7"]);
  });

  it("stores the declared exposure scope with the incident, and refuses a scope that is not one", async () => {
    const opened = await openIncident(ctx, {
      id: "INC-8",
      title: "Patient exports",
      scopeRoutes: ["/api/:tenant/patients/**", "/api/:tenant/records/*"],
      scopeTenants: ["acme", "globex", "acme"],
      scopeMethods: ["GET", "POST"],
    });
    expect(await getIncident(ctx, "INC-8")).toEqual(opened);
    expect(opened).toMatchObject({
      scopeRoutes: ["/api/:tenant/patients/**", "/api/:tenant/records/*"],
      scopeTenants: ["acme", "globex"],
      scopeMethods: ["GET", "POST"],
    });
    expect((await getIncident(ctx, "INC-8"))?.scopeTenants).toEqual(["acme", "globex"]);
    await expect(openIncident(ctx, { id: "I-2", title: "x", scopeRoutes: ["api/x"] })).rejects.toThrow(
      /--scope-route "api\/x" must start with \/: give a path pattern/,
    );
    await expect(openIncident(ctx, { id: "I-2", title: "x", scopeRoutes: ["/a,b"] })).rejects.toThrow(
      /may not contain a comma/,
    );
    await expect(openIncident(ctx, { id: "I-2", title: "x", scopeTenants: ["a b"] })).rejects.toThrow(
      /--scope-tenant "a b"/,
    );
    await expect(openIncident(ctx, { id: "I-2", title: "x", scopeMethods: ["get"] })).rejects.toThrow(
      /--scope-method "get"/,
    );
    expect(await getIncident(ctx, "I-2")).toBeUndefined();
  });

  it("refuses an id that exists, keeping the first discovery time", async () => {
    await openIncident(ctx, { id: "INC-7", title: "first", discovered: now - 1000 });
    await expect(openIncident(ctx, { id: "INC-7", title: "second", discovered: now })).rejects.toThrow(
      /exists already/,
    );
    expect((await getIncident(ctx, "INC-7"))?.title).toBe("first");
  });

  it("refuses bad input with one line naming the flag, writing nothing", async () => {
    await expect(openIncident(ctx, { id: "bad id", title: "x" })).rejects.toThrow(/incident id must be/);
    await expect(openIncident(ctx, { id: "I-1", title: "x", dataClasses: ["PHI!"] })).rejects.toThrow(
      /data class/,
    );
    await expect(openIncident(ctx, { id: "I-1", title: "x", discovered: now + 3_600_000 })).rejects.toThrow(
      /--discovered/,
    );
    expect(await redis.io.keys("*")).toEqual([]);
  });

  // A day of look-back is read live and copied several times: seconds on a loaded machine.
  it("copies the window's aggregates into incident keys without expiry, and keeps them when the originals expire", {
    timeout: 120_000,
  }, async () => {
    const m = minute(now);
    await redis.io.hset(`containment:counts:${m - 2}`, "exports|block", "4");
    await redis.io.expire(`containment:counts:${m - 2}`, 600);
    await redis.io.hset(`containment:traffic:${m - 2}`, "/api/:tenant/export|GET|acme|block", "4");
    await redis.io.zadd(`containment:top:${m - 2}:tenant`, 4, "acme");
    await redis.io.xadd(
      "containment:events",
      `${now - 100_000}-0`,
      "ts",
      String(now - 100_000),
      "outcome",
      "block",
    );
    await redis.io.set(
      "containment:quarantine:user:9a8b:export-limit",
      JSON.stringify({ rule: "export-limit", at: now - 90_000, until: now + 60_000 }),
      "PX",
      60_000,
    );
    await openIncident(ctx, { id: "INC-8", title: "t", discovered: now - 60_000 });

    expect(await redis.io.hgetall(`containment:incident:INC-8:counts:${m - 2}`)).toEqual({
      "exports|block": "4",
    });
    expect(await redis.io.ttl(`containment:incident:INC-8:counts:${m - 2}`)).toBe(-1);
    expect(await redis.io.zrange(`containment:incident:INC-8:top:${m - 2}:tenant`, 0, -1)).toEqual(["acme"]);
    expect(await redis.io.xlen("containment:incident:INC-8:events")).toBe(1);
    expect(await readIncidentQuarantines(ctx, "INC-8")).toEqual([
      { dimension: "user", id: "9a8b", rule: "export-limit", firstSeen: now - 90_000, until: now + 60_000 },
    ]);

    // More traffic, then the original expires: a later snapshot refreshes, and never erases, the copy.
    await redis.io.hincrby(`containment:counts:${m - 2}`, "exports|block", 2);
    await redis.io.xadd(
      "containment:events",
      `${now - 50_000}-0`,
      "ts",
      String(now - 50_000),
      "outcome",
      "block",
    );
    await snapshotIncident(ctx, "INC-8");
    expect(await redis.io.hget(`containment:incident:INC-8:counts:${m - 2}`, "exports|block")).toBe("6");
    expect(await redis.io.xlen("containment:incident:INC-8:events")).toBe(2);
    await redis.io.del(`containment:counts:${m - 2}`);
    await snapshotIncident(ctx, "INC-8");
    expect(await redis.io.hget(`containment:incident:INC-8:counts:${m - 2}`, "exports|block")).toBe("6");
    expect(await redis.io.xlen("containment:incident:INC-8:events")).toBe(2);
  });

  it("closes once, recording the time, and keeps the first confirmation per region", async () => {
    await openIncident(ctx, { id: "INC-9", title: "t" });
    await recordConfirmation(ctx, "INC-9", {
      switchId: "exports",
      version: 1,
      state: "present",
      region: "fra1",
      at: now + 4000,
    });
    await recordConfirmation(ctx, "INC-9", {
      switchId: "exports",
      version: 1,
      state: "present",
      region: "fra1",
      at: now + 9000,
    });
    expect(await readConfirmations(ctx, "INC-9")).toEqual([
      { switchId: "exports", version: 1, state: "present", region: "fra1", at: now + 4000 },
    ]);
    now += 120_000;
    expect((await closeIncident(ctx, "INC-9", { actor: "bob" })).closed).toBe(now);
    await expect(closeIncident(ctx, "INC-9")).rejects.toThrow(/closed at .* already/);
    await expect(closeIncident(ctx, "NOPE")).rejects.toThrow(/no incident NOPE/);
  });
});
