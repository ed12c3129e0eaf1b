/**
 * The earliest anomalous evidence (docs/report.md, earliest anomalous evidence): the first minute in
 * which a rule's non-allowed decisions (blocks, rate limits, monitor matches) rose above that rule's
 * normal in the look-back before discovery. Not simply the first block: a rule that blocks a few
 * scanners every minute is normal, and the incident's own kill switches block *because* of the
 * incident, so their decisions are never evidence of when it began.
 *
 * Normal, plainly: for each rule and outcome, the median count per minute over the window's minutes
 * before the discovery minute (a minute without counts is 0), and the median absolute deviation
 * around it (MAD). A minute is anomalous when its count exceeds normal + max(1, 3 × MAD): for a rule
 * that is normally silent, two or more decisions in one minute.
 */
import { countRows } from "./aggregates.js";
import { isoSeconds } from "./clocks.js";
import type { EarliestAnomaly, ReportInputs } from "./model.js";

const MINUTE = 60_000;
/** Outcomes that differ from "admitted as usual"; `error` is the firewall's own fault, not a signal. */
const SIGNALS = new Set(["block", "rate-limited", "monitor"]);

function median(sorted: readonly number[]): number {
  if (sorted.length === 0) return 0;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Normal and threshold of one series over `minutes` look-back minutes (missing minutes are 0). */
export function baselineOf(
  counts: readonly number[],
  minutes: number,
): { normal: number; threshold: number } {
  const filled = [...counts, ...new Array(Math.max(0, minutes - counts.length)).fill(0)].sort(
    (a, b) => a - b,
  );
  const normal = median(filled);
  const mad = median(filled.map((n) => Math.abs(n - normal)).sort((a, b) => a - b));
  return { normal, threshold: normal + Math.max(1, 3 * mad) };
}

/**
 * @param ownRules the incident's kill switches' ids: their blocks are the containment, not evidence.
 * @example earliestAnomaly(inputs, new Set(["exports"]))?.at // "2026-12-01T20:02:17Z"
 */
export function earliestAnomaly(inputs: ReportInputs, ownRules: ReadonlySet<string>): EarliestAnomaly | null {
  const firstMinute = Math.floor(inputs.since / MINUTE);
  const discoveryMinute = Math.floor(inputs.incident.discovered / MINUTE);
  const lookback = Math.max(0, discoveryMinute - firstMinute);
  const series = new Map<string, Map<number, number>>();
  for (const row of countRows(inputs.counts)) {
    const at = row.minute * MINUTE;
    if (!SIGNALS.has(row.outcome) || ownRules.has(row.rule)) continue;
    if (at + MINUTE <= inputs.since || at > inputs.until) continue;
    const key = `${row.rule}|${row.outcome}`;
    const perMinute = series.get(key) ?? new Map<number, number>();
    perMinute.set(row.minute, (perMinute.get(row.minute) ?? 0) + row.n);
    series.set(key, perMinute);
  }
  let best: (EarliestAnomaly & { minute: number }) | undefined;
  for (const [key, perMinute] of series) {
    const before = [...perMinute].filter(([m]) => m >= firstMinute && m < discoveryMinute).map(([, n]) => n);
    const { normal, threshold } = baselineOf(before, lookback);
    const cut = key.lastIndexOf("|");
    const rule = key.slice(0, cut);
    const outcome = key.slice(cut + 1);
    for (const [minute, n] of [...perMinute].sort(([a], [b]) => a - b)) {
      if (n <= threshold) continue;
      if (
        best === undefined ||
        minute < best.minute ||
        (minute === best.minute && key < `${best.rule}|${best.outcome}`)
      )
        best = {
          minute,
          at: isoSeconds(minute * MINUTE),
          rule,
          outcome,
          count: n,
          normal,
          threshold,
          basis: `${n} ${outcome} decisions of ${rule} in one minute; normal ${normal} per minute over ${lookback} look-back minutes before discovery, threshold ${threshold}`,
        };
      break;
    }
  }
  if (best === undefined) return null;
  const { minute, ...found } = best;
  // A sampled event in that minute pins the second; the aggregate alone proves only the minute.
  const first = inputs.events
    .filter((e) => e.rule === found.rule && e.outcome === found.outcome)
    .map((e) => Number(e.ts))
    .filter((ts) => Number.isFinite(ts) && Math.floor(ts / MINUTE) === minute)
    .sort((a, b) => a - b)[0];
  return first === undefined ? found : { ...found, at: isoSeconds(first) };
}
