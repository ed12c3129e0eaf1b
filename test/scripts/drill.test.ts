/**
 * Regenerates the drill (`npm run drill`: containment dev on a real redis-server, the CLI as a
 * responder runs it) and checks that every number in its report equals what the script sent and did.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis as IoRedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DrillResult,
  drillChecks,
  EXPORTS,
  INCIDENT,
  REPORTS_LIMIT,
  REPORTS_SENT,
  runDrill,
  SECOND_BEFORE,
  SECOND_INCIDENT,
  SWITCH,
  TENANTS,
} from "../../scripts/drill-lib.js";
import { isoSeconds } from "../../src/ops/report/clocks.js";
import type { Report } from "../../src/ops/report/model.js";

/** What the firewall answers when it refuses: kill switch 503, rate limit 429, quarantine 403/429. */
const REFUSED = new Set([403, 429, 503]);
let drill: DrillResult;
let report: Report;

beforeAll(async () => {
  drill = await runDrill();
  report = drill.report as unknown as Report;
}, 300_000);
afterAll(async () => {
  await drill?.close();
});

const sent = (phase: string) => drill.ledger.sent.filter((s) => s.phase === phase);
const exportsOf = (phase: string, tenant: string) =>
  sent(phase).filter((s) => s.path === `/api/${tenant}/export`);
function byMinute<T>(
  items: readonly T[],
  minute: (item: T) => number,
  n: (item: T) => number = () => 1,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items)
    out[isoSeconds(minute(item) * 60_000)] = (out[isoSeconds(minute(item) * 60_000)] ?? 0) + n(item);
  return out;
}

describe("the scripted incident drill", () => {
  it("got the answers the script expects from the firewall", () => {
    for (const tenant of TENANTS) {
      // Passed by the firewall (the demo origin behind it answers what it answers), then blocked.
      expect(exportsOf("before", tenant).filter((s) => REFUSED.has(s.status))).toEqual([]);
      expect(exportsOf("before", tenant)).toHaveLength(EXPORTS[tenant]);
      expect(exportsOf("during", tenant).map((s) => s.status)).toEqual(Array(EXPORTS[tenant]).fill(503));
    }
    const reports = sent("quarantine").map((s) => REFUSED.has(s.status));
    expect(reports).toEqual([
      ...Array(REPORTS_LIMIT).fill(false),
      ...Array(REPORTS_SENT - REPORTS_LIMIT).fill(true),
    ]);
    expect(sent("after").filter((s) => REFUSED.has(s.status))).toEqual([]);
  });

  it("counts every decision the script caused, minute by minute", () => {
    const counted = byMinute(
      report.decisions.perMinute,
      (m) => m.minuteMs / 60_000,
      (m) => m.blocked + m.rateLimited + m.monitored + m.allowed + m.errors,
    );
    expect(counted).toEqual(byMinute(drill.ledger.sent, (s) => s.minute));
  });

  it("reports the kill switch's blocks per minute as the script received them", () => {
    const blocked = byMinute(
      report.decisions.perMinute.filter((m) => m.rule === SWITCH && m.blocked > 0),
      (m) => m.minuteMs / 60_000,
      (m) => m.blocked,
    );
    expect(blocked).toEqual(
      byMinute(
        sent("during").filter((s) => s.status === 503),
        (s) => s.minute,
      ),
    );
    const limited = report.decisions.perMinute
      .filter((m) => m.rule === "reports-limit")
      .reduce((n, m) => n + m.rateLimited + m.blocked, 0);
    expect(limited).toBe(REPORTS_SENT - REPORTS_LIMIT);
  });

  it("names the exports that reached the protected route before containment, per tenant", () => {
    const reached: Record<string, number> = {};
    for (const row of report.reachedBeforeContainment.rows)
      reached[`${row.method} ${row.tenant}`] = (reached[`${row.method} ${row.tenant}`] ?? 0) + row.requests;
    expect(reached).toEqual({
      "GET acme": EXPORTS.acme,
      "GET globex": EXPORTS.globex,
      "POST initech": EXPORTS.initech,
    });
  });

  it("counts the affected tenants and data classes from the traffic aggregates", () => {
    const after = sent("after").length;
    expect(report.affected.tenants).toEqual([
      {
        name: "acme",
        requests: 2 * EXPORTS.acme + after,
        blocked: EXPORTS.acme,
        admitted: EXPORTS.acme + after,
        uncertain: 0,
      },
      {
        name: "globex",
        requests: 2 * EXPORTS.globex,
        blocked: EXPORTS.globex,
        admitted: EXPORTS.globex,
        uncertain: 0,
      },
      {
        name: "initech",
        requests: 2 * EXPORTS.initech,
        blocked: EXPORTS.initech,
        admitted: EXPORTS.initech,
        uncertain: 0,
      },
    ]);
    const total = 2 * (EXPORTS.acme + EXPORTS.globex + EXPORTS.initech) + after;
    expect(report.affected.dataClasses).toEqual([
      {
        name: "phi",
        requests: total,
        blocked: total / 2 - after / 2,
        admitted: total / 2 + after / 2,
        uncertain: 0,
      },
    ]);
  });

  it("puts each report's numbers beside what its clients were served, and they agree", () => {
    // The first switch is narrower than the headers rule that matched the exports before it: the
    // mirror records route shapes, so its scope is counted whatever rule matched.
    const checks = [
      ...drillChecks(INCIDENT, drill.report, drill.ledger),
      ...drillChecks(SECOND_INCIDENT, drill.secondReport, drill.ledger),
    ];
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(
      checks.find((c) => c.incident === INCIDENT && c.what === "reached before containment")?.served,
    ).toBe(String(EXPORTS.acme + EXPORTS.globex + EXPORTS.initech));
    const second = checks.find(
      (c) => c.incident === SECOND_INCIDENT && c.what === "reached before containment",
    );
    expect(Number(second?.served)).toBeGreaterThanOrEqual(SECOND_BEFORE);
  });

  it("times containment from the discovery the responder entered, within the kill command's run", () => {
    const kill = drill.ledger.kill;
    const flip = report.containment.flips.find((f) => f.action === "kill");
    expect(flip?.switchId).toBe(SWITCH);
    expect(flip?.writtenAtMs).toBeGreaterThanOrEqual(kill?.startedAt ?? 0);
    expect(flip?.writtenAtMs).toBeLessThanOrEqual(kill?.endedAt ?? 0);
    expect(report.incident.discovered).toBe(isoSeconds(drill.ledger.discovered));
    expect(report.containment.secondsDiscoveryToFirstKill).toBe(
      Math.round(((flip?.writtenAtMs ?? 0) - drill.ledger.discovered) / 1000),
    );
  });

  // Traffic keeps flowing during `--wait` (whileTrafficFlows): isolates report with their flushes.
  it("confirms the kill in the dev region with --wait and times it from the write", () => {
    const kill = drill.ledger.kill;
    const flip = report.containment.flips.find((f) => f.action === "kill");
    expect(flip?.confirmations.map((c) => c.region)).toEqual(["local"]);
    const confirmed = Date.parse(report.containment.firstConfirmedAt ?? "");
    expect(confirmed).toBeLessThanOrEqual((kill?.endedAt ?? 0) + 1000);
  });

  it("computes the clocks of the drill's legal roles exactly to the second", () => {
    const d = drill.ledger.discovered;
    expect(report.clocks.map((c) => [c.id, c.deadline])).toEqual([
      ["hipaa-164.410", isoSeconds(d + 10 * 86_400_000)],
      ["gdpr-33.2", isoSeconds(d + 24 * 3_600_000)],
    ]);
  });

  it("lists the quarantined identity by pseudonym with its release", () => {
    expect(report.quarantines).toEqual([
      expect.objectContaining({
        dimension: drill.ledger.quarantine?.dimension,
        id: drill.ledger.quarantine?.id,
        releasedAt: expect.any(String),
      }),
    ]);
    expect(JSON.stringify(report)).not.toContain("127.0.0.1");
  });

  it("predicted the switch's blocks with rules test before it was pushed", () => {
    const prediction = drill.ledger.prediction as {
      newBlocks: number;
      changes: Array<{ rule: string; tenant: string; requests: number }>;
    };
    const predicted: Record<string, number> = {};
    for (const c of prediction.changes.filter((c) => c.rule === SWITCH))
      predicted[c.tenant] = (predicted[c.tenant] ?? 0) + c.requests;
    const actual: Record<string, number> = {};
    for (const s of sent("during").filter((s) => s.status === 503))
      actual[s.tenant] = (actual[s.tenant] ?? 0) + 1;
    expect(predicted).toEqual(actual);
    expect(prediction.newBlocks).toBe(sent("during").filter((s) => s.status === 503).length);
  });

  it("names the audit head that audit verify confirms", async () => {
    expect(report.audit.verified).toBe(true);
    const verify = await drill.cli(["audit", "verify", "--json"]);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.stdout.trim().split("\n").pop() ?? "{}").head).toBe(report.audit.head);
    expect(drill.markdown).toContain(`Audit chain head: ${report.audit.head}`);
    expect(drill.html).toContain(report.audit.head ?? "no head");
  });

  it("keeps an evidence bundle that verifies, and finds a changed file", async () => {
    expect((await drill.cli(["evidence", "verify", drill.evidenceDir])).code).toBe(0);
    const file = join(drill.evidenceDir, "counts.jsonl");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(/\d/, (digit) => (digit === "9" ? "8" : "9")),
    );
    const tampered = await drill.cli(["evidence", "verify", drill.evidenceDir]);
    expect(tampered.code).toBe(8);
    expect(tampered.stderr).toContain("counts.jsonl was changed");
  });

  it("says the chain is broken once one audit entry is altered in Redis", async () => {
    const io = new IoRedis(drill.redis.url);
    try {
      const entries = (await io.xrange("containment:audit", "-", "+")) as Array<[string, string[]]>;
      const [id, fields] = entries[2] as [string, string[]];
      const altered = fields.map((value) => value.replace("drill-responder", "someone-else"));
      expect(altered).not.toEqual(fields);
      await io.del("containment:audit");
      for (const [entryId, entryFields] of entries)
        await io.xadd("containment:audit", entryId, ...(entryId === id ? altered : entryFields));
    } finally {
      io.disconnect();
    }
    const run = await drill.cli(["report", "--incident", INCIDENT, "--format", "json"]);
    expect(run.code).toBe(8);
    const broken = JSON.parse(run.stdout) as Report;
    expect(broken.audit.verified).toBe(false);
    expect(broken.audit.firstBreak).toMatch(/entry 3 .*altered/);
  });
});
