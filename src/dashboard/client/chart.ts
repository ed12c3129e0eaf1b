/**
 * The per-minute chart (uPlot, loaded by the page as its own script) and the same numbers as a table:
 * the chart's data is always available to a screen reader or a keyboard user.
 */
import type uPlotType from "uplot";
import type { SeriesEntry, Snapshot } from "../api.js";
import { $, el, fill, minuteLabel, row } from "./view.js";

type UPlotCtor = typeof uPlotType;
const UPlot = (globalThis as unknown as { uPlot?: UPlotCtor }).uPlot;

/** Colours pass 4.5:1 on white, and every series also has its own dash pattern: never colour alone. */
const STROKES = ["#1d4ed8", "#b91c1c", "#047857", "#92400e", "#6d28d9", "#0f766e", "#be185d", "#374151"];
const DASHES: number[][] = [[], [10, 5], [2, 4], [14, 4, 3, 4], [6, 3], [1, 2], [20, 6], [4, 8]];
const MAX_SERIES = 8;

let chart: InstanceType<UPlotCtor> | undefined;
let chartKey = "";

const seriesLabel = (s: SeriesEntry): string => `${s.rule} (${s.outcome})`;

export function drawChart(snapshot: Snapshot): void {
  const series = snapshot.series.slice(0, MAX_SERIES);
  const key = series.map(seriesLabel).join("\n");
  const data = [snapshot.minutes.map((m) => m * 60), ...series.map((s) => s.counts)] as uPlotType.AlignedData;
  const host = $("chart");
  if (!UPlot) {
    host.textContent = "The chart library did not load; the table below has the same data.";
    return;
  }
  if (chart && key === chartKey) {
    chart.setData(data);
    return;
  }
  chart?.destroy();
  chartKey = key;
  chart = new UPlot(
    {
      width: Math.max(300, host.clientWidth || 800),
      height: 260,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.1))] } },
      axes: [{ stroke: "#111827" }, { stroke: "#111827", label: "requests / min" }],
      series: [
        { label: "minute" },
        ...series.map((s, i) => ({
          label: seriesLabel(s),
          stroke: STROKES[i % STROKES.length] ?? "#111827",
          dash: DASHES[i % DASHES.length] ?? [],
          width: 2,
          points: { show: true, size: 5 },
        })),
      ],
      legend: { show: true },
      cursor: { show: true },
    },
    data,
    host,
  );
}

export function chartTable(snapshot: Snapshot): void {
  const series = snapshot.series;
  const table = $<HTMLTableElement>("chart-table");
  const head = el("tr");
  head.append(
    el("th", "Minute", { scope: "col" }),
    ...series.map((s) => el("th", seriesLabel(s), { scope: "col" })),
  );
  table.tHead?.replaceChildren(head);
  const rows = snapshot.minutes
    .map((m, i) => ({ m, i }))
    .reverse()
    .map(({ m, i }) => row([minuteLabel(m), ...series.map((s) => s.counts[i] ?? 0)], 1));
  fill(
    "chart-table",
    series.length === 0 ? [] : rows,
    "No blocked or rate-limited requests in the last 30 minutes.",
  );
  const last = snapshot.series.map(
    (s) => `${seriesLabel(s)}: ${s.counts.at(-1) ?? 0} in the current minute, ${s.total} in 30 min`,
  );
  $("chart-summary").textContent =
    last.length === 0 ? "No blocked or rate-limited requests in the last 30 minutes." : `${last.join("; ")}.`;
}

/** Follows the window's width (the chart has a fixed height). */
export function resizeChart(): void {
  if (chart) chart.setSize({ width: Math.max(300, $("chart").clientWidth), height: 260 });
}
