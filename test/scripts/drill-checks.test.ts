/**
 * The drill's own reading of what its clients were served (scripts/drill-lib.ts `drillChecks`):
 * the incident's window ends at the close to the millisecond, although the report gives the close
 * to the second (docs/report.md, "The drill").
 */
import { describe, expect, it } from "vitest";
import {
  type CliRun,
  type DrillLedger,
  drillChecks,
  SECOND_INCIDENT,
  type SentRequest,
} from "../../scripts/drill-lib.js";

const CLOSE = Date.parse("2026-12-07T16:05:00.300Z");

function sent(at: number, path: string): SentRequest {
  return {
    at,
    minute: Math.floor(at / 60_000),
    phase: "background",
    method: "GET",
    path,
    tenant: "acme",
    status: 404,
    refused: false,
  };
}

function closeRun(startedAt: number): CliRun {
  return {
    args: ["incident", "close", SECOND_INCIDENT, "--json"],
    code: 0,
    stdout: "",
    stderr: "",
    startedAt,
    endedAt: startedAt + 200,
  };
}

/** A report as the CLI writes it: times to the second. */
function report(admitted: number): Record<string, unknown> {
  return {
    window: { since: "2026-12-07T16:03:32Z", until: "2026-12-07T16:05:00Z" },
    containment: { flips: [] },
    reachedBeforeContainment: { total: 0 },
    affected: { tenants: [{ name: "acme", admitted }] },
  };
}

describe("the drill's reading of an incident's window", () => {
  it("counts a request sent in the close's second but before the close, and none sent after it", () => {
    const ledger: DrillLedger = {
      discovered: Date.parse("2026-12-07T16:03:32Z"),
      sent: [
        sent(Date.parse("2026-12-07T16:04:30Z"), "/api/acme/items/1"),
        // In the second the report names as the close, 200 ms before the close command ran.
        sent(CLOSE - 200, "/api/acme/items/5000"),
        // After the close: not in the incident's copies.
        sent(CLOSE + 1_300, "/api/acme/items/2000"),
      ],
      runs: [closeRun(CLOSE)],
    };
    const acme = drillChecks(SECOND_INCIDENT, report(2), ledger).find(
      (c) => c.what === "affected tenant acme: admitted",
    );
    expect(acme).toMatchObject({ report: "2", served: "2", ok: true });
  });
});
