import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { buildReport } from "../../src/ops/report/build.js";
import { renderHtml } from "../../src/ops/report/html.js";
import { renderMarkdown } from "../../src/ops/report/markdown.js";
import type { AuditView, ReportInputs } from "../../src/ops/report/model.js";

const T0 = Date.parse("2026-12-01T20:00:00Z");
const M = (n: number) => Math.floor(T0 / 60_000) + n;
const at = (minutes: number, seconds = 0) => T0 + minutes * 60_000 + seconds * 1000;

const killItem = {
  id: "exports",
  version: 1,
  match: { path: "/api/:tenant/export" },
  incident: "INC-1",
  dataClasses: ["phi"],
};

function entry(seq: number, partial: Partial<AuditView>): AuditView {
  return {
    seq,
    ts: new Date(at(0)).toISOString(),
    action: "other",
    phase: "result",
    ...partial,
  } as AuditView;
}

function inputs(overrides: Partial<ReportInputs> = {}): ReportInputs {
  return {
    incident: {
      id: "INC-1",
      title: "Export leak | acme",
      discovered: at(1, 30),
      opened: at(1, 45),
      dataClasses: ["phi"],
      gdprRole: "controller",
      hipaaRole: "business-associate",
      baaTerm: "10d",
    },
    since: at(0),
    until: at(10),
    generatedAt: at(11),
    audit: [
      entry(1, { action: "incident-open", phase: "intent", ts: new Date(at(1, 45)).toISOString() }),
      entry(2, { action: "incident-open", ts: new Date(at(1, 45)).toISOString(), actor: "alice" }),
      entry(3, {
        action: "kill",
        phase: "intent",
        key: "containment_kill_exports",
        after: killItem,
        ts: new Date(at(3, 10)).toISOString(),
      }),
      entry(4, {
        action: "kill",
        key: "containment_kill_exports",
        after: killItem,
        actor: "alice",
        reason: "exports leak",
        incident: "INC-1",
        ts: new Date(at(3, 10)).toISOString(),
      }),
      entry(5, {
        action: "lift",
        phase: "intent",
        key: "containment_kill_exports",
        before: killItem,
        ts: new Date(at(6, 5)).toISOString(),
      }),
      entry(6, {
        action: "lift",
        key: "containment_kill_exports",
        before: killItem,
        actor: "bob",
        ts: new Date(at(6, 5)).toISOString(),
      }),
      entry(7, {
        action: "extend",
        phase: "intent",
        key: "containment_kill_other",
        ts: new Date(at(7)).toISOString(),
      }),
    ],
    verification: { ok: true, head: "7:abc", count: 7 },
    counts: [
      { minute: M(0), fields: { "-|allow": 10 } },
      { minute: M(2), fields: { "-|allow": 5, "export-limit|rate-limited": 2 } },
      { minute: M(3), fields: { "exports|block": 4, "-|allow": 3 } },
      { minute: M(4), fields: { "exports|block": 6 } },
      { minute: M(8), fields: { "-|allow": 1 } },
    ],
    traffic: [
      {
        minute: M(0),
        fields: { "/api/:tenant/export|GET|acme|allow": 7, "/api/:tenant/items|GET|acme|allow": 3 },
      },
      {
        minute: M(2),
        fields: {
          "/api/:tenant/export|GET|globex|allow": 2,
          "/api/:tenant/export|GET|globex|rate-limited": 2,
          "/health|GET|-|allow": 3,
        },
      },
      {
        minute: M(3),
        fields: {
          "/api/:tenant/export|POST|acme|allow": 1,
          "/api/:tenant/export|GET|acme|block": 4,
          "~overflow": 2,
        },
      },
      { minute: M(4), fields: { "/api/:tenant/export|GET|acme|block": 6 } },
      { minute: M(8), fields: { "/api/:tenant/export|GET|acme|allow": 1 } },
    ],
    events: [{ ts: String(at(2, 17)), outcome: "rate-limited", rule: "export-limit" }],
    confirmations: [
      { switchId: "exports", version: 1, state: "present", region: "fra1", at: at(3, 14) },
      { switchId: "exports", version: 1, state: "present", region: "iad1", at: at(3, 19) },
      { switchId: "exports", version: 1, state: "absent", region: "fra1", at: at(6, 8) },
    ],
    quarantines: [{ dimension: "user", id: "9a8b7c6d5e4f3a2b", rule: "export-limit", firstSeen: at(2, 20) }],
    dataClassMap: { "/api/:tenant/export": ["phi"], "/api/:tenant/items/**": ["pii"] },
    ...overrides,
  };
}

describe("the incident report model", () => {
  it("times containment from discovery and confirmation per region from the write, to the second", () => {
    const report = buildReport(inputs());
    expect(report.containment.firstKillWrittenAt).toBe("2026-12-01T20:03:10Z");
    expect(report.containment.secondsDiscoveryToFirstKill).toBe(100);
    expect(report.containment.secondsDiscoveryToFirstConfirmed).toBe(104);
    const kill = report.containment.flips.find((f) => f.action === "kill");
    expect(kill?.confirmations).toEqual([
      { region: "fra1", at: "2026-12-01T20:03:14Z", secondsAfterWrite: 4 },
      { region: "iad1", at: "2026-12-01T20:03:19Z", secondsAfterWrite: 9 },
    ]);
    expect(report.containment.flips.find((f) => f.action === "lift")?.confirmations).toEqual([
      { region: "fra1", at: "2026-12-01T20:06:08Z", secondsAfterWrite: 3 },
    ]);
  });

  it("splits decisions per rule per minute into before, during and after containment", () => {
    const report = buildReport(inputs());
    const phases = Object.fromEntries(
      report.decisions.perMinute.map((m) => [`${m.minute} ${m.rule}`, m.phase]),
    );
    expect(phases["2026-12-01T20:02:00Z -"]).toBe("before");
    expect(phases["2026-12-01T20:03:00Z exports"]).toBe("during");
    expect(phases["2026-12-01T20:08:00Z -"]).toBe("after");
    expect(report.decisions.totals.during.blocked).toBe(10);
    expect(report.decisions.totals.before).toMatchObject({ allowed: 15, rateLimited: 2 });
  });

  it("counts the admitted traffic inside the switch's scope until it took effect, per route and tenant", () => {
    const report = buildReport(inputs());
    expect(report.reachedBeforeContainment.rows).toEqual([
      { switchId: "exports", route: "/api/:tenant/export", method: "GET", tenant: "acme", requests: 7 },
      { switchId: "exports", route: "/api/:tenant/export", method: "GET", tenant: "globex", requests: 2 },
      { switchId: "exports", route: "/api/:tenant/export", method: "POST", tenant: "acme", requests: 1 },
    ]);
    expect(report.reachedBeforeContainment.total).toBe(10);
  });

  it("counts affected tenants, routes and data classes from the traffic aggregates", () => {
    const { affected } = buildReport(inputs());
    expect(affected.tenants).toEqual([
      { name: "acme", requests: 19, blocked: 10, admitted: 9 },
      { name: "globex", requests: 4, blocked: 2, admitted: 2 },
    ]);
    expect(affected.dataClasses).toEqual([{ name: "phi", requests: 23, blocked: 12, admitted: 11 }]);
    expect(affected.trafficOverflow).toBe(2);
  });

  it("puts the responder's discovery time beside the earliest anomalous evidence", () => {
    const report = buildReport(inputs());
    expect(report.incident.discovered).toBe("2026-12-01T20:01:30Z");
    expect(report.incident.earliestAnomaly).toEqual({
      at: "2026-12-01T20:02:17Z",
      rule: "export-limit",
      outcome: "rate-limited",
    });
  });

  it("lists the timeline with actors and reasons and flags an intent that has no result", () => {
    const report = buildReport(inputs());
    const kinds = report.timeline.map((t) => t.kind);
    expect(kinds).toEqual([
      "discovered",
      "incident-opened",
      "earliest-anomaly",
      "kill",
      "confirmed",
      "confirmed",
      "lift",
      "confirmed",
    ]);
    expect(report.timeline.find((t) => t.kind === "kill")).toMatchObject({
      actor: "alice",
      reason: "exports leak",
      auditSeq: 4,
    });
    expect(report.audit.unmatchedChanges).toEqual([
      "seq 7: extend containment_kill_other has an intent but no result",
    ]);
  });

  it("computes the clocks of the incident's legal roles with contractual terms", () => {
    const report = buildReport(inputs());
    expect(report.clocks.map((c) => [c.id, c.deadline])).toEqual([
      ["hipaa-164.410", "2026-12-11T20:01:30Z"],
      ["gdpr-33.1", "2026-12-04T20:01:30Z"],
      ["gdpr-34", null],
    ]);
  });

  it("is the same report for the same inputs", () => {
    expect(JSON.stringify(buildReport(inputs()))).toBe(JSON.stringify(buildReport(inputs())));
  });
});

describe("the report renderers", () => {
  const require = createRequire(import.meta.url);
  const assets = {
    script: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
    css: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
  };

  it("writes Markdown tables that survive a pipe in the incident title", () => {
    const md = renderMarkdown(buildReport(inputs()));
    expect(md).toContain("# Incident report INC-1: Export leak \\| acme");
    expect(md).toContain("| exports | /api/:tenant/export | GET | acme | 7 |");
    expect(md).toContain("audit verify: OK");
    expect(md).toContain("GDPR Art. 33(1)");
  });

  it("says the chain is broken when verification failed", () => {
    const md = renderMarkdown(
      buildReport(
        inputs({
          verification: {
            ok: false,
            head: "7:abc",
            count: 7,
            firstBreak: { seq: 3, reason: "does not match its hash" },
          },
        }),
      ),
    );
    expect(md).toContain("audit verify: BROKEN: seq 3: does not match its hash");
  });

  it("writes HTML that loads nothing from the network and cannot be broken out of by data", () => {
    const html = renderHtml(
      buildReport(
        inputs({ incident: { ...inputs().incident, title: "</script><img src=x onerror=alert(1)>" } }),
      ),
      assets,
    );
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).toContain("&lt;/script&gt;&lt;img src=x");
    expect(html.match(/<\/script>/g)?.length).toBe(3);
    expect(html).toContain("default-src 'none'");
  });
});

describe("the report's JSON format", () => {
  it("matches the versioned schema, and docs/report.schema.json is generated from it", async () => {
    const v = await import("valibot");
    const { REPORT_SCHEMA } = await import("../../src/ops/report/schema.js");
    const { reportJsonSchemaText } = await import("../../scripts/report-schema.js");
    const report = JSON.parse(JSON.stringify(buildReport(inputs())));
    const result = v.safeParse(REPORT_SCHEMA, report);
    expect(result.issues?.map((issue) => `${v.getDotPath(issue)}: ${issue.message}`) ?? []).toEqual([]);
    expect(readFileSync(new URL("../../docs/report.schema.json", import.meta.url), "utf8")).toBe(
      reportJsonSchemaText(),
    );
  });
});
