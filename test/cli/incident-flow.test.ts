import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rulesetDigest } from "../../src/core/digest.js";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { devRulesDescription } from "../../src/model/edge-config-items.js";
import type { Json } from "../../src/model/json.js";
import { readAnchor, readAudit, verifyAudit } from "../../src/ops/audit/index.js";
import { VercelApi } from "../../src/ops/edge-config-api.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { serializeReport } from "../../src/stores/mirror/isolate-report.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { responderEnv, runCli } from "../support/cli.js";
import { type Harness, startHarness } from "../support/harness.js";

let ec: EdgeConfigServer;
let redis: RedisFixture;
let edge: Harness;
let cwd: string;
const PREFIX = "flow:";

function env(extra: Record<string, string> = {}): Record<string, string> {
  return responderEnv(ec, redis.connection, { CONTAINMENT_REDIS_PREFIX: PREFIX, ...extra });
}
const cli = (args: string[], extra?: Record<string, string>) => runCli(args, { env: env(extra), cwd });
const audit = () => readAudit({ redis: restRedis(redis.connection), prefix: PREFIX });
const api = () => new VercelApi({ base: ec.apiUrl, token: ec.apiToken, edgeConfigId: ec.id });

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-cli-"));
  ec = await startEdgeConfigServer({
    items: { containment: { version: 1, rules: [] } },
    users: { "bob-token": { id: "user_bob", username: "bob", email: "bob@example.com" } },
  });
  redis = await startRedisFixture();
  edge = await startHarness("workerd", { edgeConfig: ec.connectionString, options: { refreshMs: 0 } });
});
afterAll(async () => {
  await edge?.close();
  await redis?.close();
  await ec?.close();
});

describe("the incident flow through the CLI, the Vercel API stand-in, a real Redis and the middleware in workerd", {
  timeout: 120_000,
}, () => {
  it("kills a route (the edge blocks it), lifts it (the edge passes it), and leaves a verified audit chain", async () => {
    expect((await edge.fetch("/api/acme/patients/7/export")).status).toBe(200);
    const kill = await cli([
      "kill",
      "/api/:tenant/patients/*/export",
      "--reason",
      "bulk export",
      "--incident",
      "INC-7",
      "--for",
      "2h",
      "--yes",
      "--json",
    ]);
    expect(kill.stderr).not.toMatch(/unexpected/);
    expect(kill.code).toBe(0);
    expect(kill.json).toMatchObject({
      ok: true,
      action: "kill",
      id: "api-patients-export",
      version: 1,
      created: true,
      operation: "create",
    });
    const item =
      ec.items().containment_kill_api_patients_export ?? ec.items()["containment_kill_api-patients-export"];
    expect(item).toMatchObject({
      id: "api-patients-export",
      version: 1,
      incident: "INC-7",
      by: "local-responder",
      match: { path: "/api/:tenant/patients/*/export" },
    });
    // The PATCH used create (never upsert) and moved the audit anchor in the same batch.
    const body = ec.patches.find((p) => JSON.stringify(p.body).includes("containment_kill_"))?.body as {
      items: Array<{ operation: string; key: string }>;
    };
    expect(body.items.map((i) => [i.operation, i.key])).toEqual([
      ["create", "containment_kill_api-patients-export"],
      ["create", "containment_rev_api-patients-export_1"],
      ["create", "containment_audit_head"],
    ]);
    expect((await edge.fetch("/api/acme/patients/7/export")).status).toBe(503);

    const lift = await cli(["lift", "api-patients-export", "--reason", "fixed", "--yes", "--json"]);
    expect(lift.code).toBe(0);
    expect(ec.items()["containment_kill_api-patients-export"]).toBeUndefined();
    expect((await edge.fetch("/api/acme/patients/7/export")).status).toBe(200);

    const records = await audit();
    expect(records.map((r) => `${r.entry.action}:${r.entry.phase}:${r.entry.outcome ?? ""}`)).toEqual([
      "kill:intent:",
      "kill:result:ok",
      "lift:intent:",
      "lift:result:ok",
    ]);
    expect(records[0]?.entry.actor).toEqual({ source: "vercel", id: "user_local", name: "local-responder" });
    const anchor = await readAnchor(api());
    expect(anchor).toMatchObject({ seq: 4 });
    expect(await verifyAudit(records, { anchor })).toMatchObject({ ok: true, count: 4, unanchored: 0 });
    const verify = await cli(["audit", "verify", "--json"]);
    expect(verify.code).toBe(0);
    expect(verify.json).toMatchObject({ ok: true, count: 4 });
  });

  it("loses neither of two kills flipped at the same time by two responders, and says created vs replaced", async () => {
    const [a, b] = await Promise.all([
      cli([
        "kill",
        "/api/reports/**",
        "--reason",
        "a",
        "--incident",
        "INC-8",
        "--yes",
        "--json",
        "--new-route",
      ]),
      cli(
        [
          "kill",
          "/api/invoices/**",
          "--reason",
          "b",
          "--incident",
          "INC-8",
          "--yes",
          "--json",
          "--new-route",
        ],
        {
          VERCEL_TOKEN: "bob-token",
          CONTAINMENT_ACTOR: "bob@oncall",
        },
      ),
    ]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(ec.items()["containment_kill_api-reports"]).toMatchObject({ version: 1 });
    expect(ec.items()["containment_kill_api-invoices"]).toMatchObject({ version: 1, by: "bob" });
    const again = await cli([
      "kill",
      "/api/reports/**",
      "--reason",
      "a, wider",
      "--incident",
      "INC-8",
      "--yes",
      "--json",
      "--new-route",
    ]);
    expect(again.json).toMatchObject({ created: false, detail: "replaced", version: 2, operation: "update" });
    const bobs = (await audit()).filter((r) => r.entry.actor.name === "bob");
    expect(bobs[0]?.entry.claimedActor).toBe("bob@oncall");
    expect((await verifyAudit(await audit(), { anchor: await readAnchor(api()) })).ok).toBe(true);
    const lifted = await cli(["lift", "--incident", "INC-8", "--yes", "--json"]);
    expect(lifted.code).toBe(0);
    expect(Object.keys(ec.items()).filter((k) => k.startsWith("containment_kill_"))).toEqual([]);
  });

  it("changes nothing and exits non-zero with one line on bad input, a refused token, an unknown store, a 429 and a dead network", async () => {
    const before = JSON.stringify(ec.items());
    const patches = ec.patches.length;
    const cases: Array<[string[], Record<string, string>, number, RegExp]> = [
      [["kill", "/api/../x", "--reason", "r", "--incident", "I", "--yes"], {}, 2, /match\.path.*segment/],
      [
        ["kill", "/x", "--reason", "r", "--incident", "I", "--yes", "--bogus"],
        {},
        2,
        /unknown option '--bogus'/,
      ],
      [
        ["kill", "/x", "--reason", "r", "--incident", "I", "--yes"],
        { VERCEL_TOKEN: "wrong" },
        3,
        /refused the token \(403 forbidden/,
      ],
      [
        ["kill", "/x", "--reason", "r", "--incident", "I", "--yes"],
        { EDGE_CONFIG_ID: "ecfg_nope" },
        3,
        /no Edge Config store ecfg_nope/,
      ],
      [
        ["kill", "/x", "--reason", "r", "--incident", "I", "--yes"],
        { VERCEL_API_URL: "http://127.0.0.1:9" },
        4,
        /cannot reach the Vercel API/,
      ],
      [["kill", "/x", "--reason", "r", "--incident", "I"], {}, 6, /not a terminal.*--yes/],
      [["kill", "/**", "--reason", "r", "--incident", "I", "--yes"], {}, 2, /EVERY route.*--all-routes/],
      [["extend", "nothing-here", "--for", "1h", "--yes"], {}, 12, /no kill switch nothing-here/],
    ];
    for (const [args, extra, code, message] of cases) {
      const result = await cli(args, extra);
      expect(result.code, args.join(" ")).toBe(code);
      expect(result.stderr, args.join(" ")).toMatch(message);
    }
    ec.rateLimitNext(2, 120);
    const limited = await cli(["list"]);
    expect(limited.code).toBe(4);
    expect(limited.stderr).toMatch(/rate-limiting.*try again in 120 s/);
    ec.rateLimitNext(0);
    expect(JSON.stringify(ec.items())).toBe(before);
    expect(ec.patches.length).toBe(patches);
  }, 180_000);

  it("status flags a switch written outside containment (no audit entry), and doctor checks each setting live", async () => {
    ec.setItem("containment_kill_by_curl", { match: { path: "/api/curl/**" }, reason: "someone used curl" });
    try {
      const status = await cli(["status", "--json"]);
      expect(status.code).toBe(0);
      const snapshot = (status.json as { status: { unaudited: string[]; switches: Array<{ id: string }> } })
        .status;
      expect(snapshot.unaudited).toContain("containment_kill_by_curl");
      expect(snapshot.switches.map((s) => s.id)).toContain("by_curl");
      const human = await cli(["status"]);
      expect(human.stdout).toMatch(
        /CHANGED WITHOUT AN AUDIT ENTRY: containment_kill_by_curl: no audit entry/,
      );
      // A description claiming `containment dev` wrote the rules is believed only with --local.
      const rules = ec.items().containment as Json;
      ec.setItem("containment", rules, devRulesDescription("rules.json", rulesetDigest(rules)));
      const claimed = (await cli(["status", "--json"])).json as { status: { unaudited: string[] } };
      expect(claimed.status.unaudited).toContain("containment");
    } finally {
      ec.deleteItem("containment_kill_by_curl");
    }
    const doctor = await cli(["doctor", "--json"]);
    const checks = (doctor.json as { checks: Array<{ name: string; ok: boolean; detail: string }> }).checks;
    expect(checks.find((c) => c.name === "Vercel token")).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/user local-responder/),
    });
    expect(checks.find((c) => c.name === "Edge Config store")).toMatchObject({ ok: true });
    expect(checks.find((c) => c.name === "Redis")).toMatchObject({ ok: true });
    expect(checks.find((c) => c.name === "report secret")).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/CONTAINMENT_REPORT_SECRET/),
    });
    expect(doctor.code).toBe(3);
    const refused = await cli(["doctor", "--json"], { VERCEL_TOKEN: "wrong" });
    expect(refused.code).toBe(3);
  });

  it("--wait prints each region as it confirms, and times out (exit 5) naming the region and isolate behind", async () => {
    const secret = "flow-report-secret";
    // Reports dated a minute ahead: only a report made after the write can confirm it, and this
    // test drives the CLI's output, not the isolates (test/cli/regions-wait.test.ts does that).
    const write = async (region: string, isolate: string, switches: string[]) => {
      const at = Date.now() + 60_000;
      const report = { v: 1 as const, region, isolate, seq: 1, at, digest: "d", switches, fast: [] };
      await redis.io.set(
        `${PREFIX}isolate:${region}:${isolate}`,
        await serializeReport(report, secret),
        "EX",
        300,
      );
      await redis.io.zadd(`${PREFIX}isolates`, at, `${region}:${isolate}`);
    };
    // iad1 already enforces version 1 of the switch the kill will create; fra1 never catches up.
    await write("iad1", "i1", ["api-wait@1"]);
    await write("fra1", "f1", []);
    const kill = await cli(
      ["kill", "/api/wait/**", "--reason", "w", "--incident", "INC-W", "--yes", "--wait", "--timeout", "3"],
      { CONTAINMENT_REPORT_SECRET: secret },
    );
    expect(kill.code).toBe(5);
    expect(kill.stdout).toMatch(/confirmed in iad1 after \d+\.\d s \(1 isolate\)/);
    expect(kill.stderr).toMatch(/not confirmed in fra1: f1 \(not enforcing api-wait\)/);
    expect(ec.items()["containment_kill_api-wait"]).toMatchObject({ version: 1 });
    const blind = await cli(["lift", "api-wait", "--yes", "--wait"]);
    expect(blind.stderr).toMatch(/cannot be confirmed: set CONTAINMENT_REPORT_SECRET/);
    expect(blind.code).toBe(5);
    await redis.io.del(`${PREFIX}isolates`);
  }, 120_000);

  it("waits out a short Retry-After once and then succeeds", async () => {
    ec.rateLimitNext(1, 1);
    const listed = await cli(["list", "--json"]);
    expect(listed.code).toBe(0);
    expect(listed.json).toMatchObject({ ok: true, switches: [] });
  });

  it("keeps the kill when Redis is down, journals its entries loudly, and audit sync makes one unbroken chain", async () => {
    const chained = (await audit()).length;
    await redis.bridge.close();
    let kill: Awaited<ReturnType<typeof cli>>;
    try {
      kill = await cli(
        ["kill", "/api/exports/**", "--reason", "r", "--incident", "INC-9", "--yes", "--json"],
        { UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9" },
      );
    } finally {
      // (a fresh bridge on a new port: the closed one cannot be reopened)
    }
    expect(kill.code).toBe(9);
    expect(kill.stderr).toMatch(/AUDIT NOT IN REDIS/);
    expect(ec.items()["containment_kill_api-exports"]).toMatchObject({ version: 1 });
    const { startUpstashBridge } = await import("../../src/dev/upstash-bridge.js");
    const bridge = await startUpstashBridge({ redisUrl: redis.server.url });
    try {
      const sync = await cli(["audit", "sync", "--json"], {
        UPSTASH_REDIS_REST_URL: bridge.url,
        UPSTASH_REDIS_REST_TOKEN: bridge.token,
      });
      expect(sync.json).toMatchObject({ synced: 2 });
      const records = await readAudit({
        redis: restRedis({ url: bridge.url, token: bridge.token }),
        prefix: PREFIX,
      });
      expect(records).toHaveLength(chained + 2);
      expect(records.slice(-2).map((r) => [r.entry.action, r.entry.phase, r.entry.journaled])).toEqual([
        ["kill", "intent", true],
        ["kill", "result", true],
      ]);
      expect((await verifyAudit(records, { anchor: await readAnchor(api()) })).ok).toBe(true);
    } finally {
      await bridge.close();
    }
  });
});
