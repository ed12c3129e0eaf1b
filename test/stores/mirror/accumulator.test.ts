import { describe, expect, it } from "vitest";
import { MirrorAccumulator } from "../../../src/stores/mirror/accumulator.js";

// The traffic cap bounds how many fields one isolate names in a minute's `traffic:<minute>` hash.
// A minute is flushed many times (every minIntervalMs), so the cap must hold across flushes: a
// cap that reset with every batch let each flush name `trafficCap` new fields.
const MINUTE = 29_000_000;

function trafficOf(accumulator: MirrorAccumulator): Record<string, number> {
  return Object.fromEntries(accumulator.take(100).traffic.get(MINUTE) ?? []);
}

describe("traffic fields beyond the per-minute cap", () => {
  it("go to ~overflow across flushes of the same minute, counted exactly", () => {
    const accumulator = new MirrorAccumulator({ bufferSize: 100, tableSize: 100, trafficCap: 2 });
    accumulator.addTraffic(MINUTE, "/a|GET|acme|allow", 1);
    expect(trafficOf(accumulator)).toEqual({ "/a|GET|acme|allow": 1 });
    accumulator.addTraffic(MINUTE, "/b|GET|acme|allow", 2);
    accumulator.addTraffic(MINUTE, "/c|GET|acme|allow", 3);
    expect(trafficOf(accumulator)).toEqual({ "/b|GET|acme|allow": 2, "~overflow": 3 });
    accumulator.addTraffic(MINUTE, "/a|GET|acme|allow", 4);
    accumulator.addTraffic(MINUTE, "/d|GET|acme|allow", 5);
    expect(trafficOf(accumulator)).toEqual({ "/a|GET|acme|allow": 4, "~overflow": 5 });
  });

  it("start afresh in the next minute, and a requeued overflow stays overflow", () => {
    const accumulator = new MirrorAccumulator({ bufferSize: 100, tableSize: 100, trafficCap: 1 });
    accumulator.addTraffic(MINUTE, "/a|GET|acme|allow", 1);
    accumulator.addTraffic(MINUTE, "/b|GET|acme|allow", 1);
    accumulator.take(100);
    // A failed batch puts its increments back as they were written.
    accumulator.addTraffic(MINUTE, "~overflow", 1);
    accumulator.addTraffic(MINUTE + 1, "/b|GET|acme|allow", 7);
    const taken = accumulator.take(100).traffic;
    expect(Object.fromEntries(taken.get(MINUTE) ?? [])).toEqual({ "~overflow": 1 });
    expect(Object.fromEntries(taken.get(MINUTE + 1) ?? [])).toEqual({ "/b|GET|acme|allow": 7 });
  });
});
