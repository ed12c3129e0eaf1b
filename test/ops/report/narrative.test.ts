/**
 * The narrative and decisions in the report: each field a person must enter is shown, or shown as a
 * gap with the exact command that fills it, in JSON, Markdown and HTML; the earliest anomalous
 * evidence is measured against the look-back's normal, never the incident's own kill switch.
 */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { buildReport } from "../../../src/ops/report/build.js";
import { renderHtml } from "../../../src/ops/report/html.js";
import { renderMarkdown } from "../../../src/ops/report/markdown.js";
import type { IncidentRecord, MinuteFields } from "../../../src/ops/report/model.js";
import { sampleInputs } from "./sample-inputs.js";

const require = createRequire(import.meta.url);
const assets = {
  script: readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8"),
  css: readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8"),
};
const T0 = Date.parse("2026-12-01T20:00:00Z");
const M0 = Math.floor(T0 / 60_000);

function withIncident(extra: Partial<IncidentRecord>) {
  const base = sampleInputs();
  return buildReport({ ...base, incident: { ...base.incident, ...extra } });
}

describe("the narrative and decisions", () => {
  it("shows every missing field as a gap with the command that fills it, in JSON, Markdown and HTML", () => {
    const report = withIncident({ gdprRole: "processor", hipaaRole: "covered-entity" });
    const fields = report.narrative.gaps.map((g) => g.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        "summary",
        "rootCause",
        "remediation",
        "lessons",
        "hipaaNature",
        "hipaaRecipient",
        "hipaaAcquired",
        "hipaaMitigation",
        "gdprNature",
        "gdprCategories",
        "gdprConsequences",
        "gdprMeasures",
        "gdprContact",
        "discoveryReason",
        "individuals",
        "records",
        "maxStateResidents",
        "dpaTerm",
        "decision.hipaa",
        "decision.gdpr",
        "notices",
        "signoff",
      ]),
    );
    const summary = report.narrative.gaps.find((g) => g.field === "summary");
    expect(summary?.command).toBe('containment incident set INC-1 --summary "…"');
    expect(report.narrative.gaps.find((g) => g.field === "dpaTerm")?.command).toBe(
      "containment incident set INC-1 --dpa-term 24h",
    );
    const markdown = renderMarkdown(report);
    expect(markdown).toContain(`**${report.narrative.gaps.length} fields are missing**`);
    expect(markdown).toMatch(
      /- \*\*Summary:\*\* \*\*GAP\*\* \(fill with: containment incident set INC-1 --summary "…"\)/,
    );
    expect(markdown).toContain("### HIPAA breach risk assessment (45 CFR §164.402(2))");
    expect(markdown).toContain("### GDPR Art. 33(3) notification content");
    expect(markdown).toContain("### GDPR Art. 33(5) documentation");
    const html = renderHtml(report, assets);
    expect(html).toContain("<code>containment incident set INC-1 --summary &quot;…&quot;</code>");
    expect(html).toContain("<h2>Narrative and decisions</h2>");
  });

  it("asks no HIPAA factors without a HIPAA role, and shows entered fields instead of gaps", () => {
    const report = withIncident({
      hipaaRole: undefined,
      gdprRole: "controller",
      summary: "Exports of acme were readable by any signed-in user",
      discoveryReason: "first customer ticket",
      discoveredBy: "alice",
      individuals: 812,
      individualsBasis: "distinct patient ids in the export logs",
      decisions: [
        { regime: "gdpr", notify: true, decidedBy: "dpo", decidedAt: T0 + 3_600_000, reason: "high risk" },
      ],
      notices: [{ at: T0 + 120_000, to: "on-call", via: "pager", by: "alice" }],
    });
    const fields = report.narrative.gaps.map((g) => g.field);
    expect(fields).not.toContain("hipaaNature");
    expect(fields).not.toContain("summary");
    expect(fields).not.toContain("individuals");
    expect(fields).not.toContain("decision.gdpr");
    expect(fields).not.toContain("notices");
    expect(report.narrative.discovery).toMatchObject({ decidedBy: "alice", reason: "first customer ticket" });
    expect(report.narrative.decisions).toEqual([
      {
        regime: "gdpr",
        decision: "notify",
        decidedBy: "dpo",
        decidedAt: "2026-12-01T21:00:00Z",
        reason: "high risk",
      },
    ]);
    expect(report.narrative.gdprDocumentation?.facts).toBe(
      "Exports of acme were readable by any signed-in user",
    );
    const markdown = renderMarkdown(report);
    expect(markdown).toContain("- **Individuals:** 812 (basis: distinct patient ids in the export logs)");
    expect(markdown).not.toContain("HIPAA breach risk assessment");
    // The decision and the page are on the timeline too, with who made them.
    const kinds = report.timeline.map((t) => `${t.kind} ${t.actor ?? ""}`);
    expect(kinds).toEqual(expect.arrayContaining(["notification-decision dpo", "notified alice"]));
  });

  it("names the signed version an edited one replaces, and asks for a sign-off of the new one", () => {
    const sha = "a".repeat(64);
    const report = withIncident({
      version: 2,
      replaces: `1:${sha}`,
      signoffs: [
        {
          version: 1,
          sha256: sha,
          approver: "carol",
          role: "privacy officer",
          signedAt: T0 + 7_200_000,
          kid: "carol",
          jws: "x.y.z",
          content: "{}",
        },
      ],
    });
    expect(report.narrative.replaces).toEqual({ version: 1, sha256: sha });
    expect(report.narrative.signoffs[0]).toMatchObject({ version: 1, current: false });
    expect(report.narrative.signoffGap).toBe("containment incident sign-off INC-1 --sign-key KEY.jwk --yes");
    expect(renderMarkdown(report)).toContain(
      `_Version 2: replaces version 1 (SHA-256 ${sha}), which was signed off._`,
    );
  });

  it("gives a processor's clock the contract's term, and asks for it when it is missing", () => {
    const withTerm = withIncident({ hipaaRole: undefined, gdprRole: "processor", dpaTerm: "24h" });
    expect(withTerm.clocks[0]).toMatchObject({ id: "gdpr-33.2", deadline: "2026-12-02T20:01:30Z" });
    const without = withIncident({ hipaaRole: undefined, gdprRole: "processor" });
    expect(without.clocks[0]?.deadline).toBeNull();
    expect(renderMarkdown(without)).toContain(
      "GAP: the DPA's term (containment incident set INC-1 --dpa-term 24h)",
    );
  });
});

describe("the earliest anomalous evidence", () => {
  /** 30 look-back minutes in which rule `scanners` blocks 3 a minute, then the incident. */
  function inputs(extra: MinuteFields[]) {
    const base = sampleInputs();
    const counts: MinuteFields[] = [];
    for (let m = 0; m < 30; m++)
      counts.push({ minute: M0 + m, fields: { "scanners|block": 3, "-|allow": 50 } });
    return {
      ...base,
      since: T0,
      until: T0 + 60 * 60_000,
      incident: { ...base.incident, discovered: T0 + 30 * 60_000 + 5_000 },
      audit: [],
      events: [],
      counts: [...counts, ...extra],
    };
  }

  it("is not the firewall's own first block, nor a rule's usual blocks, but the first minute above the look-back's normal", () => {
    const report = buildReport(
      inputs([
        { minute: M0 + 31, fields: { "scanners|block": 3 } },
        { minute: M0 + 33, fields: { "scanners|block": 12 } },
      ]),
    );
    expect(report.incident.earliestAnomaly).toMatchObject({
      at: "2026-12-01T20:33:00Z",
      rule: "scanners",
      outcome: "block",
      count: 12,
      normal: 3,
      threshold: 4,
    });
  });

  it("never takes the incident's own kill switch's blocks as evidence", () => {
    const base = sampleInputs();
    // The sample's kill switch `exports` blocks 4 and 6 a minute once written; nothing else rises.
    const report = buildReport({
      ...base,
      counts: base.counts.map((m) => ({
        ...m,
        fields: Object.fromEntries(Object.entries(m.fields).filter(([k]) => !k.startsWith("export-limit"))),
      })),
    });
    expect(report.incident.earliestAnomaly).toBeNull();
  });
});
