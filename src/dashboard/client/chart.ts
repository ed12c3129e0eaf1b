/**
 * The per-minute chart (uPlot, loaded by the page as its own script) and the same numbers as a table:
 * the chart's data is always available to a screen reader or a keyboard user. Times are UTC, as in
 * the CLI and the audit trail. The current minute is partial: its counts are never drawn as the end
 * of a line (seconds into a minute every line would fall to about zero, which reads as containment
 * working); the chart shades it and says how far into it the numbers are.
 */
import type uPlotType from "uplot";
import type { SeriesEntry, Snapshot } from "../api.js";
import { $, el, fill, minuteLabel, row } from "./view.js";

type UPlotCtor = typeof uPlotType;
const UPlot = (globalThis as unknown as { uPlot?: UPlotCtor }).uPlot;

/**
 * Okabe–Ito hues (distinguishable with the common colour blindnesses), darkened where needed to
 * 3:1 against white; vermillion is kept for admitted requests alone. Every series also has its own
 * dash pattern and label: never colour alone.
 */
const ADMITTED_STROKE = "#c24a00";
const STROKES = ["#0072b2", "#000000", "#007a5a", "#a8457f", "#806600", "#4b5563"];
const DASHES: number[][] = [[], [10, 5], [2, 4], [14, 4, 3, 4], [6, 3], [1, 3]];
const MAX_SERIES = 8;

let chart: InstanceType<UPlotCtor> | undefined;
let chartKey = "";
/** The snapshot drawn, for the legend and the partial-minute band. */
let shown: Snapshot | undefined;

export const seriesLabel = (s: SeriesEntry): string => `${s.rule} (${s.outcome})`;

/** Seconds into the current (last) minute of the snapshot. */
export function partialSeconds(snapshot: Snapshot): number {
  const current = snapshot.minutes.at(-1) ?? 0;
  return Math.max(0, Math.floor((snapshot.generatedAt - current * 60_000) / 1000));
}

/** Admitted series first: it is what the incident is about. */
function charted(snapshot: Snapshot): SeriesEntry[] {
  const admitted = snapshot.series.filter((s) => s.outcome === "admitted");
  const refused = snapshot.series.filter((s) => s.outcome !== "admitted");
  return [...admitted, ...refused].slice(0, MAX_SERIES);
}

function styleOf(s: SeriesEntry, refusedIndex: number): { stroke: string; dash: number[]; width: number } {
  if (s.outcome === "admitted") return { stroke: ADMITTED_STROKE, dash: [], width: 3 };
  return {
    stroke: STROKES[refusedIndex % STROKES.length] ?? "#000000",
    dash: DASHES[refusedIndex % DASHES.length] ?? [],
    width: 2,
  };
}

/** The legend's value: at the cursor; without one, the last complete minute (never `--`). */
function legendValue(sidx: number, idx: number | null): string {
  const snapshot = shown;
  if (!snapshot) return "";
  const last = snapshot.minutes.length - 1;
  const at = idx ?? last - 1;
  if (sidx === 0) {
    const label = `${minuteLabel(snapshot.minutes[at] ?? 0)} UTC`;
    return at === last ? `${label} (partial, ${partialSeconds(snapshot)} s)` : label;
  }
  const series = charted(snapshot)[sidx - 1];
  const n = series?.counts[at] ?? 0;
  return at === last ? `${n} so far` : String(n);
}

/** Shades the current minute and labels it, so its low counts read as partial, not as a drop. */
function drawPartial(u: uPlotType): void {
  const snapshot = shown;
  const current = snapshot?.minutes.at(-1);
  if (!snapshot || current === undefined) return;
  const left = u.valToPos((current - 1) * 60, "x", true);
  const right = u.valToPos(current * 60, "x", true);
  const { top, height } = u.bbox;
  const ctx = u.ctx;
  ctx.save();
  ctx.fillStyle = "rgba(75, 85, 99, 0.12)";
  ctx.fillRect(left, top, right - left, height);
  ctx.fillStyle = "#111827";
  ctx.font = `${Math.round(12 * devicePixelRatio)}px system-ui, sans-serif`;
  ctx.textAlign = "right";
  ctx.fillText(
    `current minute: partial, ${partialSeconds(snapshot)} s`,
    right - 4,
    top + 14 * devicePixelRatio,
  );
  // Its counts so far as hollow markers, joined to nothing: visible, never the end of a line.
  const last = snapshot.minutes.length - 1;
  charted(snapshot).forEach((series, i) => {
    const n = series.counts[last] ?? 0;
    const stroke = u.series[i + 1]?.stroke;
    ctx.strokeStyle = typeof stroke === "string" ? stroke : "#111827";
    ctx.lineWidth = 2 * devicePixelRatio;
    ctx.beginPath();
    ctx.arc(right, u.valToPos(n, "y", true), 4 * devicePixelRatio, 0, 2 * Math.PI);
    ctx.stroke();
  });
  ctx.restore();
}

export function drawChart(snapshot: Snapshot): void {
  shown = snapshot;
  const series = charted(snapshot);
  const key = series.map(seriesLabel).join("\n");
  const last = snapshot.minutes.length - 1;
  // The partial minute is left out of the lines (null): drawPartial and the legend show it.
  const lines = series.map((s) => s.counts.map((n, i) => (i === last ? null : n)));
  const data = [snapshot.minutes.map((m) => m * 60), ...lines] as uPlotType.AlignedData;
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
  let refused = 0;
  chart = new UPlot(
    {
      width: Math.max(300, host.clientWidth || 800),
      height: 240,
      tzDate: (ts) => UPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(5, Math.ceil(max * 1.1))] } },
      axes: [
        // 24-hour UTC labels (uPlot's default is the viewer's 12-hour clock).
        {
          stroke: "#111827",
          label: "minute (UTC)",
          values: (_u: uPlotType, splits: number[]) => splits.map((s) => minuteLabel(Math.floor(s / 60))),
        },
        { stroke: "#111827", label: "requests / min" },
      ],
      series: [
        { label: "minute", value: (_u, _v, sidx, idx) => legendValue(sidx, idx) },
        ...series.map((s) => {
          const style = styleOf(s, s.outcome === "admitted" ? 0 : refused++);
          return {
            label: seriesLabel(s),
            ...style,
            points: { show: true, size: s.outcome === "admitted" ? 7 : 5 },
            value: (_u: uPlotType, _v: number, sidx: number, idx: number | null) => legendValue(sidx, idx),
          };
        }),
      ],
      legend: { show: true },
      cursor: { show: true },
      hooks: { draw: [drawPartial] },
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
    el("th", "Minute (UTC)", { scope: "col" }),
    ...series.map((s) => el("th", seriesLabel(s), { scope: "col" })),
  );
  table.tHead?.replaceChildren(head);
  const last = snapshot.minutes.length - 1;
  const partial = partialSeconds(snapshot);
  const rows = snapshot.minutes
    .map((m, i) => ({ m, i }))
    .reverse()
    .map(({ m, i }) =>
      row(
        [
          i === last ? `${minuteLabel(m)} (partial, ${partial} s)` : minuteLabel(m),
          ...series.map((s) => s.counts[i] ?? 0),
        ],
        1,
      ),
    );
  fill("chart-table", series.length === 0 ? [] : rows, "Nothing counted in the last 30 minutes.");
  summary(snapshot);
}

/** One line per series: the last complete minute, the partial one so far, and 30 minutes. */
function summary(snapshot: Snapshot): void {
  const list = $("chart-summary");
  const last = snapshot.minutes.length - 1;
  const complete = minuteLabel(snapshot.minutes[last - 1] ?? 0);
  const partial = partialSeconds(snapshot);
  const items = snapshot.series.map((s) =>
    el(
      "li",
      `${seriesLabel(s)}: ${s.counts[last - 1] ?? 0} in ${complete} UTC (last complete minute), ${s.counts[last] ?? 0} so far this minute (${partial} s), ${s.total} in 30 min`,
    ),
  );
  const key = items.map((i) => i.textContent).join("\n");
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(
    ...(items.length > 0
      ? items
      : [el("li", "Nothing blocked, rate-limited or admitted in scope in the last 30 minutes.")]),
  );
}

/** Follows the window's width (the chart has a fixed height). */
export function resizeChart(): void {
  if (chart) chart.setSize({ width: Math.max(300, $("chart").clientWidth), height: 240 });
}
