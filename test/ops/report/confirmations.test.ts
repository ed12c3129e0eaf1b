/**
 * Which recorded confirmations the report puts on which change (src/ops/report/build.ts), the way
 * `--wait` decides them: a kill or extend is confirmed by its switch at its version or a later one
 * until the switch is lifted; a lift by the switch absent, under the version it lifted.
 */
import { describe, expect, it } from "vitest";
import { buildReport } from "../../../src/ops/report/build.js";
import type { AuditView, Confirmation, ReportInputs } from "../../../src/ops/report/model.js";
import { sampleInputs } from "./sample-inputs.js";

const T0 = Date.parse("2026-12-01T20:00:00Z");
const at = (minutes: number, seconds = 0) => T0 + minutes * 60_000 + seconds * 1000;
const KEY = "containment_kill_exports";
const item = (version: number) => ({
  id: "exports",
  version,
  match: { path: "/api/:tenant/export" },
  incident: "INC-1",
});

let seq = 0;
function result(action: string, minutes: number, side: "before" | "after", version: number): AuditView {
  seq++;
  return {
    seq,
    ts: new Date(at(minutes)).toISOString(),
    action,
    phase: "result",
    outcome: "ok",
    key: KEY,
    [side]: item(version),
  } as AuditView;
}

const confirmed = (
  version: number,
  state: Confirmation["state"],
  minutes: number,
  region = "fra1",
): Confirmation => ({ switchId: "exports", version, state, region, at: at(minutes, 5) });

function flips(audit: AuditView[], confirmations: Confirmation[]) {
  const inputs: ReportInputs = sampleInputs({ audit, confirmations });
  return buildReport(inputs).containment.flips.map((f) => [
    `${f.action}@${f.version}`,
    f.confirmations.map((c) => `${c.region} ${c.at}`),
  ]);
}

describe("confirmations on the change they confirm", () => {
  it("puts an extend's confirmation on the extend, and on the kill before it when the kill had none of its own", () => {
    const audit = [result("kill", 3, "after", 1), result("extend", 4, "after", 2)];
    expect(flips(audit, [confirmed(2, "present", 4)])).toEqual([
      ["kill@1", ["fra1 2026-12-01T20:04:05Z"]],
      ["extend@2", ["fra1 2026-12-01T20:04:05Z"]],
    ]);
    // Its own, earlier, confirmation wins for the kill.
    expect(flips(audit, [confirmed(1, "present", 3), confirmed(2, "present", 4)])).toEqual([
      ["kill@1", ["fra1 2026-12-01T20:03:05Z"]],
      ["extend@2", ["fra1 2026-12-01T20:04:05Z"]],
    ]);
  });

  it("never confirms an extend with the older version's report", () => {
    const audit = [result("kill", 3, "after", 1), result("extend", 4, "after", 2)];
    expect(flips(audit, [confirmed(1, "present", 4)])).toEqual([
      ["kill@1", ["fra1 2026-12-01T20:04:05Z"]],
      ["extend@2", []],
    ]);
  });

  it("keeps each lift of a switch killed and lifted twice on its own confirmation, and a re-kill's off the first kill", () => {
    const audit = [
      result("kill", 3, "after", 1),
      result("lift", 4, "before", 1),
      result("kill", 5, "after", 2),
      result("lift", 6, "before", 2),
    ];
    const recorded = [
      confirmed(1, "present", 3),
      confirmed(1, "absent", 4),
      confirmed(2, "present", 5),
      confirmed(2, "absent", 6),
    ];
    expect(flips(audit, recorded)).toEqual([
      ["kill@1", ["fra1 2026-12-01T20:03:05Z"]],
      ["lift@1", ["fra1 2026-12-01T20:04:05Z"]],
      ["kill@2", ["fra1 2026-12-01T20:05:05Z"]],
      ["lift@2", ["fra1 2026-12-01T20:06:05Z"]],
    ]);
    // The second kill's confirmation never shows on the first kill (lifted by then), nor the second
    // lift's on the first lift.
    expect(flips(audit, [confirmed(2, "present", 5), confirmed(2, "absent", 6)])).toEqual([
      ["kill@1", []],
      ["lift@1", []],
      ["kill@2", ["fra1 2026-12-01T20:05:05Z"]],
      ["lift@2", ["fra1 2026-12-01T20:06:05Z"]],
    ]);
  });

  it("reads a lift's confirmation recorded under version 0 (before lifts kept their version)", () => {
    const audit = [result("kill", 3, "after", 4), result("lift", 4, "before", 4)];
    expect(flips(audit, [confirmed(0, "absent", 4, "iad1")])).toEqual([
      ["kill@4", []],
      ["lift@4", ["iad1 2026-12-01T20:04:05Z"]],
    ]);
  });
});
