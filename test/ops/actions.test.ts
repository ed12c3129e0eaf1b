import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { applyExtend, planExtend } from "../../src/ops/actions/extend.js";
import { applyKill, planKill } from "../../src/ops/actions/kill.js";
import { applyLift, planLift } from "../../src/ops/actions/lift.js";
import { diffRules } from "../../src/ops/actions/rules.js";
import { memoryJournal } from "../../src/ops/audit/index.js";
import { loadOpsConfig } from "../../src/ops/config.js";
import { createOpsContext, type OpsContext } from "../../src/ops/context.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";

let ec: EdgeConfigServer;
let redis: RedisFixture;
let n = 0;

beforeAll(async () => {
  ec = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
  await ec?.close();
});

function ctx(options: { plan?: string; now?: () => number } = {}): OpsContext {
  const env = {
    EDGE_CONFIG_ID: ec.id,
    VERCEL_TOKEN: ec.apiToken,
    VERCEL_API_URL: ec.apiUrl,
    CONTAINMENT_REDIS_PREFIX: `a${++n}:`,
    ...(options.plan ? { CONTAINMENT_PLAN: options.plan } : {}),
  };
  const config = loadOpsConfig({ env, cwd: "/nonexistent-for-test" });
  return createOpsContext(config, {
    redis: restRedis(redis.connection),
    journal: memoryJournal(),
    warn: () => {},
    ...(options.now ? { now: options.now } : {}),
  });
}

describe("actions against the Vercel API stand-in and a real Redis", () => {
  it("refuses an extend that races a lift instead of bringing the switch back", async () => {
    const c = ctx();
    await applyKill(
      c,
      await planKill(c, { pattern: "/api/race/**", reason: "r", incident: "INC-R", forMs: 60_000 }),
    );
    const extend = await planExtend(c, { id: "api-race", forMs: 3_600_000 });
    await applyLift(c, await planLift(c, { id: "api-race" }), "lifted meanwhile");
    await expect(applyExtend(c, extend, "too late")).rejects.toMatchObject({
      code: "ERR_CONFLICT",
      exitCode: 7,
    });
    expect(ec.items()["containment_kill_api-race"]).toBeUndefined();
  });

  it("continues a switch's versions after a lift, so an isolate still on the old id@1 never confirms the new one", async () => {
    const c = ctx();
    const kill = (reason: string) =>
      planKill(c, { pattern: "/api/again/**", reason, incident: "INC-A" }).then((plan) => applyKill(c, plan));
    expect(await kill("first")).toMatchObject({ id: "api-again", version: 1, created: true });
    await applyLift(c, await planLift(c, { id: "api-again" }), "too early");
    expect(await kill("again")).toMatchObject({ id: "api-again", version: 2, created: true });
    expect(ec.items()["containment_kill_api-again"]).toMatchObject({ version: 2, reason: "again" });
    await applyLift(c, await planLift(c, { id: "api-again" }), "done");
  });

  it("extends from the current expiry and bumps the version", async () => {
    const now = Date.parse("2026-12-01T10:00:00Z");
    const c = ctx({ now: () => now });
    await applyKill(
      c,
      await planKill(c, { pattern: "/api/ext/**", reason: "r", incident: "INC-E", forMs: 3_600_000 }),
    );
    const result = await applyExtend(c, await planExtend(c, { id: "api-ext", forMs: 1_800_000 }), null);
    expect(result).toMatchObject({ version: 2, expiresAt: "2026-12-01T11:30:00.000Z" });
    await applyLift(c, await planLift(c, { id: "api-ext" }), null);
  });

  it("refuses a switch the plan's store size cannot hold, before writing anything", async () => {
    const c = ctx({ plan: "hobby" });
    const patches = ec.patches.length;
    await expect(
      planKill(c, {
        pattern: "/api/big/**",
        reason: "x".repeat(400),
        incident: "INC-S",
        message: "m".repeat(200),
        tenants: Array.from({ length: 600 }, (_, i) => `tenant-number-${i}`),
      }),
    ).rejects.toThrow(/over the hobby plan's 8192-byte/);
    expect(ec.patches.length).toBe(patches);
  });

  it("previews what a switch would have blocked from format-1 traffic aggregates (minutes before shapes)", async () => {
    const now = Date.now();
    const c = ctx({ now: () => now });
    const minute = Math.floor(now / 60_000);
    const key = `${c.config.prefix}traffic:${minute}`;
    await redis.io.hset(key, {
      "/api/:tenant/patients/:id/export|GET|acme|allow": "4000",
      "/api/:tenant/patients/:id/export|GET|globex|allow": "210",
      "/api/:tenant/patients/:id/export|POST|acme|allow": "7",
      "/api/:tenant/reports|GET|acme|allow": "99",
    });
    const plan = await planKill(c, {
      pattern: "/api/:tenant/patients/*/export",
      reason: "r",
      incident: "INC-P",
      methods: ["GET"],
    });
    expect(plan.preview).toMatchObject({ source: "shapes", requests: 4210, upper: 4210, tenants: 2 });
    expect(plan.everyRoute).toBe(false);
    const scoped = await planKill(c, {
      pattern: "/api/:tenant/patients/*/export",
      reason: "r",
      incident: "INC-P",
      tenants: ["acme"],
    });
    expect(scoped.preview).toMatchObject({ requests: 4007, tenants: 1 });
    const all = await planKill(c, { pattern: "/**", reason: "r", incident: "INC-P" });
    expect(all.everyRoute).toBe(true);
    expect(all.preview.requests).toBe(4316);
  });
});

describe("pure pieces", () => {
  it("diffs rules added, removed and changed field by field", () => {
    const live = {
      version: 1,
      mode: "enforce",
      rules: [
        { id: "a", kind: "headers", match: { path: "/a" }, set: { x: "1" } },
        { id: "b", kind: "headers", match: { path: "/b" }, set: {} },
      ],
    };
    const next = {
      version: 1,
      mode: "monitor",
      rules: [
        { id: "a", kind: "headers", match: { path: "/a/**" }, set: { x: "1" } },
        { id: "c", kind: "headers", match: { path: "/c" }, set: {} },
      ],
    };
    const diff = diffRules(live, next);
    expect(diff).toMatchObject({ added: ["c"], removed: ["b"], same: false });
    expect(diff.changed).toEqual([
      { id: "a", fields: [{ path: "match.path", before: "/a", after: "/a/**" }] },
    ]);
    expect(diff.document).toEqual([{ path: "mode", before: "enforce", after: "monitor" }]);
    expect(diffRules(live, live).same).toBe(true);
  });
});
