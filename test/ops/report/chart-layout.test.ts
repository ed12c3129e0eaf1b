/**
 * The HTML chart's layout code, run as the very text the report inlines: time ticks that never
 * repeat a label at any window, and annotations that never overlap however close the flips are.
 */
import { describe, expect, it } from "vitest";
import { CHART_LAYOUT_JS } from "../../../src/ops/report/chart-script.js";

interface Tick {
  at: number;
  label: string;
}
const { timeTicks, layoutLabels } = new Function(
  `${CHART_LAYOUT_JS}; return { timeTicks, layoutLabels };`,
)() as {
  timeTicks: (min: number, max: number, maxTicks: number) => Tick[];
  layoutLabels: (
    items: Array<{ x: number; width: number }>,
    left: number,
    right: number,
    gap: number,
  ) => Array<{ x: number; lane: number }>;
};

const T = Date.parse("2026-12-01T21:40:00Z") / 1000;

describe("the chart's time ticks", () => {
  it.each([
    ["one minute", 0, 60],
    ["ten minutes", 0, 600],
    ["two hours", 0, 7_200],
    ["a day", 0, 86_400],
    ["three days", 0, 3 * 86_400],
    ["a month", 0, 31 * 86_400],
  ])("labels each tick once, on whole minutes, at most as many as fit (%s)", (_name, from, to) => {
    for (const maxTicks of [3, 8, 14]) {
      const ticks = timeTicks(T + from, T + to, maxTicks);
      expect(ticks.length).toBeGreaterThan(0);
      expect(ticks.length).toBeLessThanOrEqual(Math.max(2, maxTicks));
      expect(new Set(ticks.map((t) => t.label)).size).toBe(ticks.length);
      for (const t of ticks) expect(t.at % 60).toBe(0);
    }
  });

  it("shows the date where the day changes in a window across midnight", () => {
    const ticks = timeTicks(
      Date.parse("2026-12-01T22:00:00Z") / 1000,
      Date.parse("2026-12-02T02:00:00Z") / 1000,
      6,
    );
    expect(ticks.map((t) => t.label)).toEqual(["12-01 22:00", "23:00", "12-02 00:00", "01:00", "02:00"]);
  });
});

describe("the chart's annotations", () => {
  it("never overlap and stay inside the plot, however close the kills and lifts are", () => {
    const items = [
      { x: 300, width: 140 },
      { x: 302, width: 120 },
      { x: 305, width: 150 },
      { x: 450, width: 100 },
      { x: 890, width: 130 },
      { x: 300, width: 140 },
    ];
    const placed = layoutLabels(items, 50, 900, 6);
    const boxes = placed.map((p, i) => ({ ...p, right: p.x + (items[i]?.width ?? 0) }));
    for (const b of boxes) {
      expect(b.x).toBeGreaterThanOrEqual(50);
      expect(b.right).toBeLessThanOrEqual(900);
    }
    for (const [i, a] of boxes.entries())
      for (const b of boxes.slice(i + 1))
        if (a.lane === b.lane) expect(a.right + 6 <= b.x || b.right + 6 <= a.x).toBe(true);
    // Labels far apart share the first lane.
    expect(
      layoutLabels(
        [
          { x: 100, width: 50 },
          { x: 400, width: 50 },
        ],
        0,
        900,
        6,
      ).map((p) => p.lane),
    ).toEqual([0, 0]);
  });
});
