/**
 * Two writes planned against the same read of a switch: the second PATCH conflicts (its revision
 * marker exists already) and writes nothing, so the first is never silently overwritten; the
 * dashboard's flip form refuses a replacement that blocks less. Against the Vercel API stand-in
 * and a real redis-server.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { opsActions } from "../../src/dashboard/local/ops-actions.js";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { applyExtend, planExtend } from "../../src/ops/actions/extend.js";
import { applyKill, planKill } from "../../src/ops/actions/kill.js";
import { applyLift, planLift } from "../../src/ops/actions/lift.js";
import { planRulesPush } from "../../src/ops/actions/rules.js";
import { readStatus } from "../../src/ops/actions/status.js";
import { memoryJournal } from "../../src/ops/audit/index.js";
import { loadOpsConfig } from "../../src/ops/config.js";
import { createOpsContext, type OpsContext } from "../../src/ops/context.js";
import { closeIncident, openIncident } from "../../src/ops/incidents.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";

let ec: EdgeConfigServer;
let redis: RedisFixture;
let ctx: OpsContext;
let cwd: string;

beforeAll(async () => {
  ec = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
  redis = await startRedisFixture();
  cwd = mkdtempSync(join(tmpdir(), "switch-cas-"));
  const config = loadOpsConfig({
    env: {
      EDGE_CONFIG_ID: ec.id,
      VERCEL_TOKEN: ec.apiToken,
      VERCEL_API_URL: ec.apiUrl,
      UPSTASH_REDIS_REST_URL: redis.connection.url,
      UPSTASH_REDIS_REST_TOKEN: redis.connection.token,
      CONTAINMENT_REDIS_PREFIX: "cas:",
    },
    cwd,
  });
  ctx = createOpsContext(config, {
    redis: restRedis(redis.connection),
    journal: memoryJournal(),
    notify: async () => [],
    warn: () => {},
  });
});
afterAll(async () => {
  await redis?.close();
  await ec?.close();
});

const base = { pattern: "/api/:tenant/export", reason: "r", incident: "INC-1" };
const item = () =>
  ec.items()["containment_kill_api-export"] as { match: { tenants?: string[] }; version: number };

describe("two responders writing one switch from the same read", { timeout: 60_000 }, () => {
  it("create vs create: the second conflicts and writes nothing", async () => {
    const [a, b] = await Promise.all([
      planKill(ctx, { ...base, tenants: ["acme"] }),
      planKill(ctx, { ...base, tenants: ["acme", "globex"] }),
    ]);
    await applyKill(ctx, a);
    await expect(applyKill(ctx, b)).rejects.toMatchObject({ code: "ERR_CONFLICT" });
    expect(item().match.tenants).toEqual(["acme"]);
  });

  it("update vs update (Vercel's update alone would let the second overwrite the first)", async () => {
    const [a, b] = await Promise.all([
      planKill(ctx, { ...base, tenants: ["acme", "globex"] }),
      planKill(ctx, { ...base, tenants: ["acme", "initech"] }),
    ]);
    expect([a.operation, b.operation]).toEqual(["update", "update"]);
    await applyKill(ctx, a);
    await expect(applyKill(ctx, b)).rejects.toMatchObject({ code: "ERR_CONFLICT" });
    expect(item()).toMatchObject({ version: 2, match: { tenants: ["acme", "globex"] } });
    // Planned again against the store as it is now, the replacement is seen to drop globex.
    const again = await planKill(ctx, { ...base, tenants: ["acme", "initech"] });
    expect(again.narrows).toEqual(["drops tenants globex"]);
  });

  it("extend vs lift: whichever lands second conflicts", async () => {
    const [extend, lift] = await Promise.all([
      planExtend(ctx, { id: "api-export", forMs: 3_600_000 }),
      planLift(ctx, { id: "api-export" }),
    ]);
    await applyLift(ctx, lift, "done");
    await expect(applyExtend(ctx, extend, "more")).rejects.toMatchObject({ code: "ERR_CONFLICT" });
    expect(ec.items()["containment_kill_api-export"]).toBeUndefined();
    // The other order: Vercel's delete alone would remove the switch just extended.
    await applyKill(ctx, await planKill(ctx, { ...base, tenants: ["acme"] }));
    const [extend2, lift2] = await Promise.all([
      planExtend(ctx, { id: "api-export", forMs: 3_600_000 }),
      planLift(ctx, { id: "api-export" }),
    ]);
    await applyExtend(ctx, extend2, "more");
    await expect(applyLift(ctx, lift2, "done")).rejects.toMatchObject({ code: "ERR_CONFLICT" });
    expect(ec.items()["containment_kill_api-export"]).toMatchObject({ expiresAt: expect.any(String) });
    await applyLift(ctx, await planLift(ctx, { id: "api-export" }), "done");
  });

  it("the dashboard's flip form refuses a replacement that blocks less, before confirming", async () => {
    const actions = opsActions(ctx);
    await actions.kill({
      path: "/api/:tenant/export",
      reason: "r",
      incident: "INC-1",
      tenants: ["acme", "globex"],
    });
    await expect(
      actions.kill({
        path: "/api/:tenant/export",
        reason: "r",
        incident: "INC-1",
        tenants: ["acme"],
        dryRun: true,
      }),
    ).rejects.toThrow(/blocks less: drops tenants globex.*--narrow/);
    const wider = await actions.kill({
      path: "/api/:tenant/export",
      reason: "r",
      incident: "INC-1",
      tenants: ["acme", "globex", "initech"],
      dryRun: true,
    });
    expect(wider.summary).toMatch(/Changes: tenants acme,globex → acme,globex,initech/);
  });

  it("rules push refuses a rule added on a route nobody has, naming the nearest, unless --new-route", async () => {
    mkdirSync(join(cwd, ".next"), { recursive: true });
    writeFileSync(
      join(cwd, ".next", "app-path-routes-manifest.json"),
      JSON.stringify({ "/api/[tenant]/export/route": "/api/[tenant]/export" }),
    );
    const doc = {
      version: 1,
      rules: [
        {
          id: "x",
          kind: "headers",
          match: { path: "/api/:tenant/exprot" },
          set: { "cache-control": "no-store" },
        },
      ],
    };
    await expect(planRulesPush(ctx, doc)).rejects.toThrow(
      /did you mean \/api\/:tenant\/export\?.*--new-route/,
    );
    await expect(planRulesPush(ctx, doc, { newRoute: true })).resolves.toMatchObject({
      diff: { added: ["x"] },
    });
  });

  it("status alerts on a switch about to lift itself while its incident is open, not once it is closed", async () => {
    const kill = (incident: string, pattern: string) =>
      planKill(ctx, { pattern, reason: "r", incident, forMs: 10 * 60_000, newRoute: true }).then((p) =>
        applyKill(ctx, p),
      );
    await kill("INC-OPEN", "/api/:tenant/soon");
    await kill("INC-DONE", "/api/:tenant/later");
    const incidents = { client: restRedis(redis.connection), prefix: "cas:" };
    await openIncident(incidents, { id: "INC-DONE", title: "t" });
    await closeIncident(incidents, "INC-DONE");
    const status = await readStatus(ctx);
    expect(status.expiring.map((e) => [e.id, e.incident])).toEqual([["api-soon", "INC-OPEN"]]);
    expect(status.expiring[0]?.leftMs).toBeLessThanOrEqual(10 * 60_000);
  });
});
