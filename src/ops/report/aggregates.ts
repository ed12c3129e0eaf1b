/**
 * Parsing the mirror's per-minute aggregates (docs/contracts.md, the decision mirror) into rows.
 */
import { TRAFFIC_OVERFLOW } from "../../stores/mirror/layout.js";
import type { CountRow, TrafficRow } from "../../stores/mirror/reader-types.js";
import { type ShapeRow, shapeRowsOf } from "../../stores/mirror/shape-rows.js";
import type { MinuteFields } from "./model.js";

/** `counts:<minute>` field `rule|outcome`. */
export function countRows(minutes: readonly MinuteFields[]): CountRow[] {
  const rows: CountRow[] = [];
  for (const { minute, fields } of minutes) {
    for (const [field, n] of Object.entries(fields)) {
      const cut = field.lastIndexOf("|");
      if (cut < 0) continue;
      rows.push({ minute, rule: field.slice(0, cut), outcome: field.slice(cut + 1), n });
    }
  }
  return rows;
}

/** `traffic:<minute>` field `routeTemplate|method|tenant|outcome` (split from the right). */
export function trafficRows(minutes: readonly MinuteFields[]): { rows: TrafficRow[]; overflow: number } {
  const rows: TrafficRow[] = [];
  let overflow = 0;
  for (const { minute, fields } of minutes) {
    for (const [field, n] of Object.entries(fields)) {
      if (field === TRAFFIC_OVERFLOW) {
        overflow += n;
        continue;
      }
      const parts = field.split("|");
      if (parts.length < 4) continue;
      const outcome = parts.pop() as string;
      const tenant = parts.pop() as string;
      const method = parts.pop() as string;
      rows.push({ minute, route: parts.join("|"), method, tenant, outcome, n });
    }
  }
  return { rows, overflow };
}

/**
 * Route-shape rows of the window: a minute's `shapes` (format 2) where it has them, else its
 * format-1 `traffic` (docs/recorded-format.md, compatibility).
 */
export function shapeRowsOfMinutes(
  shapes: readonly MinuteFields[],
  traffic: readonly MinuteFields[],
): ShapeRow[] {
  const byMinute = new Map<number, { shapes: Record<string, number>; traffic: Record<string, number> }>();
  const at = (minute: number) => {
    let entry = byMinute.get(minute);
    if (!entry) {
      entry = { shapes: {}, traffic: {} };
      byMinute.set(minute, entry);
    }
    return entry;
  };
  for (const { minute, fields } of shapes) Object.assign(at(minute).shapes, fields);
  for (const { minute, fields } of traffic) Object.assign(at(minute).traffic, fields);
  return [...byMinute]
    .sort((a, b) => a[0] - b[0])
    .flatMap(([minute, entry]) => shapeRowsOf(minute, entry.shapes, entry.traffic));
}

/** Outcomes that did not reach the origin. A fail-closed `error` blocks; the aggregate cannot tell it
 * from a fail-open one, so `error` counts as admitted (the conservative reading for a breach). */
export function isBlockedOutcome(outcome: string): boolean {
  return outcome === "block" || outcome === "rate-limited";
}

/** Parses stored hash values (strings from Redis) into numbers, skipping anything else. */
export function numericFields(
  raw: Readonly<Record<string, unknown>> | null | undefined,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [field, value] of Object.entries(raw ?? {})) {
    const n = typeof value === "number" ? value : Number(value);
    if (Number.isFinite(n)) out[field] = n;
  }
  return out;
}
