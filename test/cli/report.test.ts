/**
 * The report's commands through the real CLI, the Vercel API stand-in and a real Redis: an incident
 * opened with roles and terms, a kill and a lift audited, the report tied to the audit head, the
 * evidence bundle verified, and a tampered chain reported as broken (exit 8).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { isoSeconds } from "../../src/ops/report/clocks.js";
import type { Report } from "../../src/ops/report/model.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { responderEnv, runCli } from "../support/cli.js";

let ec: EdgeConfigServer;
let redis: RedisFixture;
let cwd: string;
const PREFIX = "rep:";
const DISCOVERED = "2026-12-01T20:15:07Z";

const env = (): Record<string, string> =>
  responderEnv(ec, redis.connection, { CONTAINMENT_REDIS_PREFIX: PREFIX });
const cli = (args: string[]) => runCli(args, { env: env(), cwd });
const reportJson = async () => {
  const run = await cli(["report", "--incident", "INC-9", "--format", "json"]);
  return { run, report: JSON.parse(run.stdout) as Report };
};

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-report-"));
  writeFileSync(
    join(cwd, "containment.json"),
    JSON.stringify({ incidentDefaults: { hipaaRole: "covered-entity", gdprRole: "controller" } }),
  );
  ec = await startEdgeConfigServer({
    items: { containment: { version: 1, dataClasses: { "/api/:tenant/export": ["phi"] }, rules: [] } },
  });
  redis = await startRedisFixture();
}, 60_000);
afterAll(async () => {
  await redis?.close();
  await ec?.close();
});

// Each test spawns the CLI a few times (tsx start-up is seconds on a loaded machine).
describe("containment incident, report and evidence", { timeout: 180_000 }, () => {
  it("opens an incident with the roles of containment.json and refuses a second one with the same id", async () => {
    const open = await cli([
      "incident",
      "open",
      "INC-9",
      "--title",
      "Exports",
      "--discovered",
      DISCOVERED,
      "--data",
      "phi",
      "--individuals",
      "812",
      "--scope-route",
      "/api/:tenant/patients/**",
      "--scope-route",
      "/api/:tenant/export/**",
      "--scope-tenant",
      "acme, globex",
      "--scope-method",
      "get,post",
      "--json",
    ]);
    expect(open.stderr).toBe("");
    expect(open.json).toMatchObject({
      ok: true,
      incident: {
        id: "INC-9",
        hipaaRole: "covered-entity",
        gdprRole: "controller",
        individuals: 812,
        scopeRoutes: ["/api/:tenant/patients/**", "/api/:tenant/export/**"],
        scopeTenants: ["acme", "globex"],
        scopeMethods: ["GET", "POST"],
      },
    });
    const unscoped = await cli(["incident", "open", "INC-11", "--title", "x", "--scope-route", "api/x"]);
    expect(unscoped.code).not.toBe(0);
    expect(unscoped.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/--scope-route "api\/x" must start with \/: give a path pattern like/),
    ]);
    const again = await cli(["incident", "open", "INC-9", "--title", "x", "--json"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/exists already/);
    const bad = await cli(["incident", "open", "INC-10", "--title", "x", "--discovered", "yesterday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("reports the clocks exact to the second, the flips with actor and reason, and the verified audit head", async () => {
    expect(
      (
        await cli([
          "kill",
          "/api/:tenant/export",
          "--id",
          "exports",
          "--reason",
          "leak",
          "--incident",
          "INC-9",
          "--yes",
          "--json",
        ])
      ).code,
    ).toBe(0);
    expect((await cli(["lift", "exports", "--reason", "fixed", "--yes", "--json"])).code).toBe(0);
    const { run, report } = await reportJson();
    expect(run.code).toBe(0);
    const d = Date.parse(DISCOVERED);
    expect(report.clocks.map((c) => [c.id, c.deadline])).toEqual([
      ["hipaa-164.404", isoSeconds(d + 60 * 86_400_000)],
      ["hipaa-164.408", isoSeconds(d + 60 * 86_400_000)],
      ["hipaa-164.406", isoSeconds(d + 60 * 86_400_000)],
      ["gdpr-33.1", "2026-12-04T20:15:07Z"],
      ["gdpr-34", null],
    ]);
    const kill = report.timeline.find((t) => t.kind === "kill");
    expect(kill).toMatchObject({ reason: "leak", target: "containment_kill_exports" });
    expect(report.timeline.map((t) => t.kind)).toEqual(
      expect.arrayContaining(["discovered", "incident-opened", "kill", "lift"]),
    );
    expect(report.containment.flips.map((f) => f.action)).toEqual(["kill", "lift"]);
    const verify = await cli(["audit", "verify", "--json"]);
    expect(verify.code).toBe(0);
    expect(report.audit).toMatchObject({ verified: true, head: verify.json?.head });
  });

  it("writes Markdown and self-contained HTML that name the audit head", async () => {
    const head = (await reportJson()).report.audit.head as string;
    expect((await cli(["report", "--incident", "INC-9", "--out", "r.md"])).code).toBe(0);
    expect((await cli(["report", "--incident", "INC-9", "--out", "r.html"])).code).toBe(0);
    expect(readFileSync(join(cwd, "r.md"), "utf8")).toContain(`Audit chain head: ${head}`);
    const html = readFileSync(join(cwd, "r.html"), "utf8");
    expect(html).toContain(head);
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/i);
  });

  it("closes the incident into an evidence bundle that verifies, and finds an edited file", async () => {
    const close = await cli(["incident", "close", "INC-9", "--out", "evidence", "--json"]);
    expect(close.code).toBe(0);
    expect(close.json).toMatchObject({ evidence: { auditVerified: true } });
    const dir = join(cwd, "evidence");
    expect((await cli(["evidence", "verify", dir])).code).toBe(0);
    const audit = join(dir, "audit.jsonl");
    const original = readFileSync(audit, "utf8");
    writeFileSync(audit, original.replace('"leak"', '"routine"'));
    const tampered = await cli(["evidence", "verify", dir]);
    expect(tampered.code).toBe(8);
    expect(tampered.stderr).toMatch(/audit\.jsonl was changed/);
    writeFileSync(audit, original);
    expect((await cli(["evidence", "verify", dir])).code).toBe(0);
  });

  it("keeps the preserved numbers when a live aggregate is rewritten, reports the rewrite as tampering and exits 8", async () => {
    const minute = Math.floor(Date.now() / 60_000) - 1;
    const live = `${PREFIX}counts:${minute}`;
    await redis.io.hset(live, "exports|block", "5");
    expect((await cli(["incident", "open", "INC-10", "--title", "Rewrite", "--json"])).code).toBe(0);
    // What the edge's token can do: shrink the live key the copy was refreshed from.
    await redis.io.hset(live, "exports|block", "1");
    const run = await cli(["report", "--incident", "INC-10", "--format", "json"]);
    expect(run.code).toBe(8);
    expect(run.stderr).toMatch(/EVIDENCE TAMPERING/);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.evidence.intact).toBe(false);
    expect(
      report.decisions.totals.before.blocked +
        report.decisions.totals.during.blocked +
        report.decisions.totals.after.blocked,
    ).toBe(5);
    expect((await cli(["report", "--incident", "INC-10"])).stdout).toMatch(/EVIDENCE TAMPERING/);
    const exported = await cli(["evidence", "export", "--incident", "INC-10", "--out", "evidence-10"]);
    expect(exported.code).toBe(8);
    const verify = await cli(["evidence", "verify", join(cwd, "evidence-10")]);
    expect(verify.code).toBe(8);
    expect(verify.stderr).toMatch(/EVIDENCE TAMPERING: counts .* exports\|block/);
  });

  it("says the chain is broken, and exits 8, once one audit entry is altered in Redis", async () => {
    const key = `${PREFIX}audit`;
    const entries = (await redis.io.xrange(key, "-", "+")) as Array<[string, string[]]>;
    const [id] = entries.find(([, fields]) => fields.some((f) => f.includes('"leak"'))) as [string, string[]];
    await redis.io.del(key);
    for (const [entryId, fields] of entries)
      await redis.io.xadd(
        key,
        entryId,
        ...(entryId === id ? fields.map((f) => f.replace('"leak"', '"routine"')) : fields),
      );
    const { run, report } = await reportJson();
    expect(run.code).toBe(8);
    expect(report.audit.verified).toBe(false);
    expect(report.audit.firstBreak).toMatch(/altered/);
    expect(run.stderr).toMatch(/the audit chain is broken/);
  });
});
