/**
 * The report's detections: read from the audit chain's attested entries and the live hashes, with
 * who released each (the audit chain's verified actor); the first offered, never imposed, as
 * evidence for the discovery time; the same facts in JSON, Markdown and HTML, valid against the
 * report schema, with what the edge wrote escaped for each format.
 */
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import type { DetectionRow } from "../../../src/ops/detections.js";
import { buildReport } from "../../../src/ops/report/build.js";
import { detectionEvidence } from "../../../src/ops/report/detections.js";
import type { AuditView } from "../../../src/ops/report/model.js";
import { REPORT_SCHEMA } from "../../../src/ops/report/schema.js";
import { renderedReport } from "../../support/rendered-report.js";
import { sampleInputs } from "./sample-inputs.js";

const T0 = Date.parse("2026-12-01T20:00:00Z");
const at = (minutes: number, seconds = 0) => T0 + minutes * 60_000 + seconds * 1000;

const attested = (id: string, trippedAt: number, extra: Record<string, unknown> = {}) => ({
  attestedBy: "edge",
  isolate: "iad1/ab12cd34",
  detection: id,
  detector: "patient-enumeration",
  type: "enumeration",
  route: "/api/:tenant/patients/:id",
  key: "tenant+user:e84ee028be79ea30.797b673fddb88e43",
  tenant: "acme",
  value: 51,
  threshold: 50,
  windowMs: 600_000,
  action: "quarantined",
  at: new Date(trippedAt).toISOString(),
  ...extra,
});

const ENTERED = "patient-enumeration.1s6ib.75943d08faba";
const LIVE_ONLY = "patient-enumeration.1s6ic.246d811bc345";

function chain(): AuditView[] {
  return [
    {
      seq: 40,
      ts: new Date(at(2)).toISOString(),
      action: "detection",
      phase: "result",
      key: `detection:${ENTERED}`,
      after: attested(ENTERED, at(0, 50)),
      actor: "bob",
    },
    {
      seq: 41,
      ts: new Date(at(6)).toISOString(),
      action: "detection-release",
      phase: "result",
      outcome: "ok",
      key: `detection:${ENTERED}`,
      actor: "carol",
    },
    // Entered, but it tripped a day earlier: outside the window.
    {
      seq: 42,
      ts: new Date(at(2)).toISOString(),
      action: "detection",
      phase: "result",
      key: "detection:old.1.0123456789ab",
      after: attested("old.1.0123456789ab", at(-1440)),
    },
  ];
}

function liveRow(id: string, trippedAt: number, extra: Partial<DetectionRow> = {}): DetectionRow {
  return {
    id,
    detector: "patient-enumeration",
    type: "enumeration",
    route: "/api/:tenant/patients/:id",
    key: "tenant+user:e84ee028be79ea30.cf26a8f14fb26676",
    tenant: "acme",
    value: 53,
    threshold: 50,
    windowMs: 600_000,
    action: "monitor",
    at: trippedAt,
    isolate: "fra1/ee11ff22",
    state: "open",
    quarantineKey: null,
    releasedBy: null,
    releasedAt: null,
    approvedBy: null,
    audited: null,
    ...extra,
  };
}

describe("detections in the incident report", () => {
  it("come from the audit chain's attested entries and the live hashes, once each, released by the audit's actor", () => {
    const live = [
      // The live hash of the entered one says who released it too; the audit chain's actor wins.
      liveRow(ENTERED, at(0, 50), { state: "released", releasedBy: "someone-else", releasedAt: at(6) }),
      liveRow(LIVE_ONLY, at(4, 5)),
    ];
    const found = detectionEvidence(chain(), live, at(0), at(10));
    expect(found.map((d) => [d.id, d.auditSeq, d.releasedBy, d.action])).toEqual([
      [ENTERED, 40, "carol", "quarantined"],
      [LIVE_ONLY, null, null, "monitor"],
    ]);
  });

  it("offer the first detection for the discovery time without changing it, in every format", () => {
    const inputs = sampleInputs();
    inputs.detections = detectionEvidence(
      chain(),
      [liveRow(LIVE_ONLY, at(4, 5))],
      inputs.since,
      inputs.until,
    );
    const report = buildReport(inputs);
    // Discovery entered at 20:01:30; the detector tripped at 20:00:50, 40 s earlier.
    expect(report.incident.discovered).toBe("2026-12-01T20:01:30Z");
    expect(report.incident.firstDetection).toEqual({
      id: ENTERED,
      at: "2026-12-01T20:00:50Z",
      detector: "patient-enumeration",
      type: "enumeration",
      action: "quarantined",
      secondsBeforeDiscovery: 40,
    });
    expect(report.narrative.discovery.earliestEvidence).toBe("2026-12-01T20:00:50Z");
    const gap = report.narrative.gaps.find((g) => g.field === "discoveryReason");
    expect(gap?.what).toContain("the first detection, 2026-12-01T20:00:50Z (patient-enumeration)");
    // The command keeps the entered time: the offer is in words only.
    expect(gap?.command).toContain("--discovered 2026-12-01T20:01:30Z");
    expect(report.detections).toEqual([
      {
        id: ENTERED,
        detector: "patient-enumeration",
        type: "enumeration",
        route: "/api/:tenant/patients/:id",
        key: "tenant+user:e84ee028be79ea30.797b673fddb88e43",
        tenant: "acme",
        value: 51,
        threshold: 50,
        windowSeconds: 600,
        trippedAt: "2026-12-01T20:00:50Z",
        action: "quarantined",
        releasedAt: "2026-12-01T20:06:00Z",
        releasedBy: "carol",
        approvedBy: null,
        auditSeq: 40,
      },
      expect.objectContaining({ id: LIVE_ONLY, action: "monitor", auditSeq: null, releasedBy: null }),
    ]);
    const trips = report.timeline.filter((t) => t.kind === "detection");
    expect(trips.map((t) => [t.at, t.target, t.actor])).toEqual([
      ["2026-12-01T20:00:50Z", ENTERED, "edge (attested)"],
      ["2026-12-01T20:04:05Z", LIVE_ONLY, "edge (attested)"],
    ]);
    expect(v.safeParse(REPORT_SCHEMA, report).success).toBe(true);

    const { markdown, html } = renderedReport(report);
    for (const text of [markdown, html]) {
      expect(text).toContain("First detection (offered, not imposed)");
      expect(text).toContain("40s before the entered discovery time");
      expect(text).toContain("51 distinct records (threshold 50) in 10m");
      expect(text).toContain("not entered yet");
    }
    expect(markdown).toMatch(/\| 2026-12-01T20:00:50Z \| patient-enumeration\.1s6ib\.75943d08faba \|/);
    expect(markdown).toContain("SOC 2 CC7.2 (monitoring for anomalies)");
  });

  it("say so when nothing tripped, and stay valid", () => {
    const report = buildReport(sampleInputs());
    expect(report.detections).toEqual([]);
    expect(report.incident.firstDetection).toBeNull();
    expect(v.safeParse(REPORT_SCHEMA, report).success).toBe(true);
    const { markdown } = renderedReport(report);
    expect(markdown).toContain("No detector tripped in the window.");
    expect(markdown).toContain("First detection (offered, not imposed): none in the window");
  });

  it("escape what the edge wrote (its keys are edge-writable) for each format", () => {
    const hostile = '<img src=x onerror="alert(1)"> | ![x](https://evil.example/p.png)';
    const inputs = sampleInputs();
    inputs.detections = detectionEvidence(
      [],
      [liveRow(LIVE_ONLY, at(4), { route: hostile, tenant: hostile, key: hostile, action: hostile })],
      inputs.since,
      inputs.until,
    );
    const { markdown, html } = renderedReport(buildReport(inputs));
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x");
    expect(markdown).not.toMatch(/(?<!\\)<img/);
    expect(markdown).not.toContain("![x](");
    // The pipe inside a cell never adds a column.
    const row = markdown.split("\n").find((line) => line.startsWith("|") && line.includes(LIVE_ONLY)) ?? "";
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(10);
  });
});
