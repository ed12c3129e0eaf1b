import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../../../src/ops/audit/index.js";
import { belongsToIncident } from "../../../src/ops/report/gather.js";

const record = (entry: Record<string, unknown>): AuditRecord =>
  ({ entry: { ts: "2026-12-07T05:00:00.000Z", ...entry }, hash: "h" }) as unknown as AuditRecord;
const SINCE = Date.parse("2026-12-07T00:00:00Z");
const UNTIL = Date.parse("2026-12-07T10:00:00Z");

describe("which switch versions an incident's report shows", () => {
  it("a version that replaced another incident's switch is in both incidents' timelines", () => {
    const moved = record({
      action: "kill",
      phase: "result",
      incident: "INC-2",
      before: { id: "exports", incident: "INC-1", version: 1 },
      after: { id: "exports", incident: "INC-2", version: 2 },
    });
    expect(belongsToIncident(moved, "INC-1", SINCE, UNTIL)).toBe(true);
    expect(belongsToIncident(moved, "INC-2", SINCE, UNTIL)).toBe(true);
    expect(belongsToIncident(moved, "INC-3", SINCE, UNTIL)).toBe(false);
  });

  it("a lift of an incident's switch is in its timeline whoever lifted it", () => {
    const lift = record({
      action: "lift",
      phase: "result",
      incident: "INC-1",
      before: { incident: "INC-1" },
      after: null,
    });
    expect(belongsToIncident(lift, "INC-1", SINCE, UNTIL)).toBe(true);
  });
});
