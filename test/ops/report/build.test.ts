import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { buildReport } from "../../../src/ops/report/build.js";
import { renderHtml } from "../../../src/ops/report/html.js";
import { renderMarkdown } from "../../../src/ops/report/markdown.js";
import { sampleInputs } from "./sample-inputs.js";

const inputs = sampleInputs;

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

  it("splits decisions per rule per minute into before, the kill's minute, during and after containment", () => {
    const report = buildReport(inputs());
    const phases = Object.fromEntries(
      report.decisions.perMinute.map((m) => [`${m.minute} ${m.rule}`, m.phase]),
    );
    expect(phases["2026-12-01T20:02:00Z -"]).toBe("before");
    // The kill was written at 20:03:10: that minute is part before, part during, and says so.
    expect(phases["2026-12-01T20:03:00Z exports"]).toBe("kill-minute");
    expect(phases["2026-12-01T20:04:00Z exports"]).toBe("during");
    expect(phases["2026-12-01T20:08:00Z -"]).toBe("after");
    expect(report.decisions.totals["kill-minute"].blocked).toBe(4);
    expect(report.decisions.totals.during.blocked).toBe(6);
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
    // Minute 3's overflow (2, outcome unknown) may be admitted requests in scope: bounds, and why.
    expect(report.reachedBeforeContainment.upper).toBe(12);
    expect(report.reachedBeforeContainment.bounds).toHaveLength(1);
  });

  it("counts affected tenants, routes and data classes from format-1 traffic, its overflow as uncertain", () => {
    const { affected } = buildReport(inputs());
    expect(affected.tenants).toEqual([
      { name: "acme", requests: 19, blocked: 10, admitted: 9, uncertain: 0 },
      { name: "globex", requests: 4, blocked: 2, admitted: 2, uncertain: 0 },
      // The overflow field of a format-1 minute may hold requests in the switch's scope.
      { name: "~undeclared", requests: 0, blocked: 0, admitted: 0, uncertain: 2 },
    ]);
    expect(affected.dataClasses).toEqual([
      { name: "phi", requests: 23, blocked: 12, admitted: 11, uncertain: 0 },
    ]);
    expect(affected.trafficOverflow).toBe(2);
    expect(affected.formatOneMinutes).toBe(true);
  });

  it("puts the responder's discovery time beside the earliest anomalous evidence", () => {
    const report = buildReport(inputs());
    expect(report.incident.discovered).toBe("2026-12-01T20:01:30Z");
    expect(report.incident.earliestAnomaly).toMatchObject({
      at: "2026-12-01T20:02:17Z",
      rule: "export-limit",
      outcome: "rate-limited",
      count: 2,
      normal: 0,
      threshold: 1,
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
    const { REPORT_SCHEMA } = await import("../../../src/ops/report/schema.js");
    const { reportJsonSchemaText } = await import("../../../scripts/report-schema.js");
    const report = JSON.parse(JSON.stringify(buildReport(inputs())));
    const result = v.safeParse(REPORT_SCHEMA, report);
    expect(result.issues?.map((issue) => `${v.getDotPath(issue)}: ${issue.message}`) ?? []).toEqual([]);
    expect(readFileSync(new URL("../../../docs/report.schema.json", import.meta.url), "utf8")).toBe(
      reportJsonSchemaText(),
    );
  });
});

describe("a report over requests whose tenant the document does not declare", () => {
  it("counts them under ~undeclared, says what the bucket is, and gives a tenant-scoped switch bounds", () => {
    const base = sampleInputs();
    const minute = base.counts[0]?.minute ?? 0;
    const report = buildReport({
      ...base,
      // The incident's switch, scoped to one tenant the document never declared.
      audit: base.audit.map((entry) => {
        const item = entry as { after?: { match?: Record<string, unknown> } };
        return item.after?.match
          ? ({
              ...entry,
              after: { ...item.after, match: { ...item.after.match, tenants: ["initech"] } },
            } as typeof entry)
          : entry;
      }),
      shapes: [
        {
          minute,
          fields: {
            "*|/api/acme/export|GET|acme|allow": 2,
            "*|/api/~undeclared/export|GET|~undeclared|allow": 5,
          },
        },
      ],
    });
    const undeclared = report.affected.tenants.find((t) => t.name === "~undeclared");
    // Named as the bucket, never as a tenant: its 5 requests are on a route of the incident's data class.
    expect(undeclared?.requests).toBe(5);
    expect(report.reachedBeforeContainment.total).toBe(0);
    // Up to the 5 undeclared requests (and the fixture's 2 folded ones), and why: never a lie of 0.
    expect(report.reachedBeforeContainment.upper).toBe(7);
    expect(report.reachedBeforeContainment.bounds.join(" ")).toMatch(/no tenant the document declares/);
    expect(renderMarkdown(report)).toMatch(
      /~undeclared counts requests whose tenant the rules document does not declare/,
    );
  });
});
