/**
 * `containment status`'s digest line: a region that has not reported since the last change is said
 * to be silent, not to enforce another ruleset (isolates report after serving requests).
 */
import { describe, expect, it } from "vitest";
import { statusLines } from "../../../src/cli/commands/status.js";
import type { RegionStatus, StatusSnapshot } from "../../../src/ops/actions/status.js";

const CHANGE = Date.parse("2026-12-07T17:40:00Z");

function snapshot(regions: RegionStatus[], lastChangeAt: number | null = CHANGE): StatusSnapshot {
  return {
    at: CHANGE + 30_000,
    digest: "store-digest",
    switches: [],
    expiring: [],
    regions,
    counts: [],
    quarantined: 0,
    detections: [],
    rejectedPushes: [],
    drops: { decisions: 0, events: 0 },
    rulesetDigest: "aaaaaaaaaaaaaaaa",
    digestsAgree: regions.every((r) => r.digests.length === 1 && r.digests[0] === "aaaaaaaaaaaaaaaa"),
    lastChangeAt,
    unaudited: [],
    unauditedChanges: [],
    problems: [],
  };
}

const region = (name: string, digest: string, lastSeen: number): RegionStatus => ({
  region: name,
  isolates: 1,
  verified: 1,
  digests: [digest],
  lastSeen,
});

const digestLine = (s: StatusSnapshot): string => statusLines(s)[2] ?? "";

describe("status's digest line", () => {
  it("says a region that last reported before the change has not reported since, not that it differs", () => {
    const line = digestLine(snapshot([region("fra1", "bbbbbbbbbbbbbbbb", CHANGE - 5_000)]));
    expect(line).toBe(
      "digests: fra1 not reported since the change at 2026-12-07T17:40:00.000Z (an isolate reports after it serves a request: not a failure to reload)",
    );
    expect(line).not.toMatch(/DIFFER/);
  });

  it("says DIGESTS DIFFER for a region that reported after the change with another digest, and names the silent one", () => {
    const line = digestLine(
      snapshot([
        region("iad1", "bbbbbbbbbbbbbbbb", CHANGE + 10_000),
        region("fra1", "bbbbbbbbbbbbbbbb", CHANGE - 5_000),
      ]),
    );
    expect(line).toMatch(/^DIGESTS DIFFER: iad1 enforce\(s\) another ruleset/);
    expect(line).toMatch(/; fra1 not reported since the change at 2026-12-07T17:40:00.000Z/);
  });

  it("says DIGESTS DIFFER when no audited change is known (a write outside containment)", () => {
    const line = digestLine(snapshot([region("fra1", "bbbbbbbbbbbbbbbb", CHANGE - 5_000)], null));
    expect(line).toMatch(/^DIGESTS DIFFER: fra1 /);
  });

  it("says the digests agree when every region reports the live one", () => {
    expect(digestLine(snapshot([region("fra1", "aaaaaaaaaaaaaaaa", CHANGE + 1)]))).toBe(
      "digests agree: every region that reported enforces the live ruleset",
    );
  });
});
