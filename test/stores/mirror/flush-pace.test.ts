import { describe, expect, it } from "vitest";
import { URGENCY } from "../../../src/stores/mirror/accumulator.js";
import { MirrorPace } from "../../../src/stores/mirror/flush-pace.js";
import { mirrorSettings } from "../../../src/stores/mirror/options.js";

// When evidence goes out (docs/recorded-format.md): blocks at once, evidence on reserved shapes
// within 2 s, everything else on a cadence that grows with quiet, up to 16 s.
describe("the mirror's flush pace", () => {
  const settings = mirrorSettings({});

  it("sends blocks at once, evidence within the evidence interval, whatever the quiet cadence reached", () => {
    const pace = new MirrorPace(settings);
    for (let i = 0; i < 6; i++) pace.applied(1, 1_000_000 + i * 20_000, URGENCY.quiet);
    expect(pace.interval(URGENCY.atOnce)).toBe(100);
    expect(pace.interval(URGENCY.evidence)).toBe(2_000);
    expect(pace.interval(URGENCY.quiet)).toBe(16_000);
  });

  it("doubles the quiet interval with each quiet flush up to its ceiling, and starts over after evidence", () => {
    const pace = new MirrorPace(settings);
    const seen: number[] = [];
    let now = 1_000_000;
    for (let i = 0; i < 6; i++) {
      seen.push(pace.interval(URGENCY.quiet));
      now += seen.at(-1) ?? 0;
      pace.applied(1, now, URGENCY.quiet);
    }
    expect(seen).toEqual([2_000, 4_000, 8_000, 16_000, 16_000, 16_000]);
    pace.applied(1, now + 2_000, URGENCY.evidence);
    expect(pace.interval(URGENCY.quiet)).toBe(2_000);
  });

  it("never flushes sooner than the flood interval in a flood, whatever is held", () => {
    const pace = new MirrorPace(settings);
    pace.applied(2_000, 1_000_000, URGENCY.atOnce);
    pace.applied(2_000, 1_001_000, URGENCY.atOnce); // 2,000 decisions/s: a heavy flood
    expect(pace.interval(URGENCY.atOnce)).toBe(2_000);
    expect(pace.interval(URGENCY.evidence)).toBe(2_000);
  });
});
