/**
 * Builds the incident report from what was gathered (audit entries, aggregates, confirmations).
 * Pure: the same inputs give the same report, byte for byte, so a report can be regenerated and
 * compared, and tests need no Redis.
 */

import { parseDuration } from "../../core/duration.js";
import { SHAPE_OTHER, SHAPE_OVERFLOW_RESERVED, TRAFFIC_OVERFLOW } from "../../stores/mirror/layout.js";
import type { ShapeRow } from "../../stores/mirror/shape-rows.js";
import {
  addTo,
  admittedReach,
  type Bounds,
  type CompiledScope,
  compileScope,
  emptyBounds,
  MAY_REASONS,
  type MayReason,
  type RowReach,
} from "../exposure.js";
import { findingLine } from "../incident-versions.js";
import { countRows, isBlockedOutcome, shapeRowsOfMinutes } from "./aggregates.js";
import { earliestAnomaly } from "./anomaly.js";
import { actionKind, changesOf, entryTime, type SwitchState, switchIdOf, switchOf } from "./audit-view.js";
import { isoSeconds, regulatoryClocks } from "./clocks.js";
import { SECTION_CONTROLS } from "./controls.js";
import { detectionsOf, firstDetectionOf } from "./detections.js";
import type {
  AffectedRow,
  Confirmation,
  FlipSummary,
  Phase,
  ReachedRow,
  Report,
  ReportInputs,
  RuleMinute,
} from "./model.js";
import { REPORT_SCHEMA_ID, REPORT_SCHEMA_VERSION } from "./model.js";
import { narrativeSection } from "./narrative-section.js";
import { quarantinesOf } from "./quarantines.js";
import { buildTimeline } from "./timeline.js";

const MINUTE = 60_000;

export const ESTABLISHES = [
  "how many requests the firewall saw on each route, per method, tenant and outcome, per minute (all decisions, not samples)",
  "how many of those were blocked, rate-limited, monitored or admitted, per rule and minute",
  "when each containment change was written, by whom and why, and when each region confirmed enforcing it",
  "that the operator log is an unbroken hash chain up to the head named below (or where it breaks)",
];
export const DOES_NOT_ESTABLISH = [
  "whether a breach occurred: an admitted request may have returned no protected data",
  "whom it affected or how many individuals: request counts are not people (the individuals count is a responder input)",
  "what any response contained: the firewall never records bodies",
  "traffic that did not pass through the firewall (other entry points, direct database access)",
];

export interface Switch extends SwitchState {
  writtenAt: number;
  liftedAt?: number;
  /** When the last region confirmed it (or the write time when nothing confirmed). */
  effectiveAt: number;
}

/** A kill, extend or lift read from the audit trail, in chain order. */
interface Flip {
  kind: "kill" | "extend" | "lift";
  id: string;
  at: number;
  version: number;
}

/**
 * Whether a recorded confirmation shows the change `flip` made, the way `--wait` decides it
 * (src/ops/confirm.ts): after a kill or extend, a region enforcing this switch at this version or
 * a later one (an extend's wait, or a later report, confirms the kill before it too) until the
 * switch is next lifted; after a lift, the switch absent, until it is next killed. A lift's
 * confirmation names the version it lifted (`0` in records kept before versions were).
 */
function confirms(c: Confirmation, flip: Flip, until: number): boolean {
  if (c.switchId !== flip.id || c.at < flip.at || c.at >= until) return false;
  if (flip.kind === "lift") return c.state === "absent" && (c.version === flip.version || c.version === 0);
  return c.state === "present" && c.version >= flip.version;
}

/** When the state a flip set ends: the switch's next lift after a kill or extend, its next kill after a lift. */
function endOf(flips: readonly Flip[], index: number): number {
  const flip = flips[index] as Flip;
  const ends = (other: Flip) =>
    other.id === flip.id && (flip.kind === "lift" ? other.kind === "kill" : other.kind === "lift");
  return flips.slice(index + 1).find(ends)?.at ?? Number.POSITIVE_INFINITY;
}

function switchesOf(inputs: ReportInputs): { switches: Switch[]; flips: FlipSummary[] } {
  const { results } = changesOf(inputs.audit);
  const byId = new Map<string, Switch>();
  const flips: FlipSummary[] = [];
  const read: Array<{ flip: Flip; state: SwitchState | undefined }> = [];
  for (const entry of results) {
    const kind = actionKind(entry.action);
    if (kind !== "kill" && kind !== "extend" && kind !== "lift") continue;
    const state = switchOf(entry, kind === "lift" ? "before" : "after");
    const id = state?.id ?? switchIdOf(entry);
    if (id === undefined) continue;
    read.push({ state, flip: { kind, id, at: entryTime(entry), version: state?.version ?? 0 } });
  }
  const order = read.map((r) => r.flip);
  for (const [index, { flip, state }] of read.entries()) {
    const { kind, id, at, version } = flip;
    const until = endOf(order, index);
    const confirmations = inputs.confirmations
      .filter((c) => confirms(c, flip, until))
      .sort((a, b) => a.at - b.at || a.region.localeCompare(b.region));
    const firstPerRegion = new Map<string, number>();
    for (const c of confirmations) if (!firstPerRegion.has(c.region)) firstPerRegion.set(c.region, c.at);
    flips.push({
      switchId: id,
      version,
      action: kind,
      writtenAt: isoSeconds(at),
      writtenAtMs: at,
      scope: state ? state.scope : null,
      dataClasses: state?.dataClasses ?? [],
      confirmations: [...firstPerRegion].map(([region, time]) => ({
        region,
        at: isoSeconds(time),
        secondsAfterWrite: Math.round((time - at) / 1000),
      })),
    });
    const known = byId.get(id);
    if (kind === "lift") {
      if (known) known.liftedAt = at;
      continue;
    }
    if (!state) continue;
    const effectiveAt = Math.max(at, ...firstPerRegion.values());
    if (known && known.liftedAt === undefined && kind === "extend") {
      Object.assign(known, { version: state.version, scope: state.scope, dataClasses: state.dataClasses });
    } else if (!known || known.liftedAt !== undefined) {
      byId.set(id, { ...state, writtenAt: at, effectiveAt });
    }
  }
  return { switches: [...byId.values()], flips };
}

/** The kill's and the last lift's own minutes are mixed, and say so (model.ts, Phase). */
function phaseOf(minuteMs: number, start: number | undefined, end: number | undefined): Phase {
  if (start === undefined || minuteMs + MINUTE <= start) return "before";
  if (minuteMs <= start) return "kill-minute";
  if (end !== undefined && minuteMs >= end) return "after";
  if (end !== undefined && minuteMs + MINUTE >= end) return "lift-minute";
  return "during";
}

function containmentSpan(switches: readonly Switch[]): { start?: number; end?: number } {
  if (switches.length === 0) return {};
  const start = Math.min(...switches.map((s) => s.writtenAt));
  const lifts = switches.map((s) => s.liftedAt);
  if (lifts.some((at) => at === undefined)) return { start };
  // After = from the minute following the last lift's minute (the lift minute is mixed).
  const last = Math.max(...(lifts as number[]));
  return { start, end: Math.floor(last / MINUTE) * MINUTE + MINUTE };
}

function perMinute(inputs: ReportInputs, start?: number, end?: number): RuleMinute[] {
  const cells = new Map<string, RuleMinute>();
  for (const row of countRows(inputs.counts)) {
    const minuteMs = row.minute * MINUTE;
    if (minuteMs + MINUTE <= inputs.since || minuteMs > inputs.until) continue;
    const key = `${row.minute}\u0000${row.rule}`;
    let cell = cells.get(key);
    if (!cell) {
      cell = {
        minute: isoSeconds(minuteMs),
        minuteMs,
        phase: phaseOf(minuteMs, start, end),
        rule: row.rule,
        blocked: 0,
        rateLimited: 0,
        monitored: 0,
        allowed: 0,
        errors: 0,
      };
      cells.set(key, cell);
    }
    if (row.outcome === "block") cell.blocked += row.n;
    else if (row.outcome === "rate-limited") cell.rateLimited += row.n;
    else if (row.outcome === "monitor") cell.monitored += row.n;
    else if (row.outcome === "allow") cell.allowed += row.n;
    else if (row.outcome === "error") cell.errors += row.n;
  }
  return [...cells.values()].sort((a, b) => a.minuteMs - b.minuteMs || a.rule.localeCompare(b.rule));
}

function totalsOf(minutes: readonly RuleMinute[]): Report["decisions"]["totals"] {
  const zero = () => ({ blocked: 0, rateLimited: 0, monitored: 0, allowed: 0, errors: 0 });
  const totals = {
    before: zero(),
    "kill-minute": zero(),
    during: zero(),
    "lift-minute": zero(),
    after: zero(),
  };
  for (const m of minutes) {
    const t = totals[m.phase];
    t.blocked += m.blocked;
    t.rateLimited += m.rateLimited;
    t.monitored += m.monitored;
    t.allowed += m.allowed;
    t.errors += m.errors;
  }
  return totals;
}

function inWindow(inputs: ReportInputs, row: ShapeRow): boolean {
  const minuteMs = row.minute * MINUTE;
  return minuteMs + MINUTE > inputs.since && minuteMs <= inputs.until;
}

interface Scoped {
  readonly switch: Switch;
  readonly scope: CompiledScope;
}

/** A row's reach into a switch's scope, admitted requests only (a folded format-1 row may be either). */
function admittedInScope(scoped: Scoped, row: ShapeRow): RowReach {
  const reach = scoped.scope.reach(row);
  const admitted = admittedReach(row.outcome);
  if (admitted === "none") return { reach: "none", tenant: reach.tenant };
  if (admitted === "may" && reach.reach === "match")
    return { reach: "may", tenant: reach.tenant, why: "folded" };
  return reach;
}

/**
 * Admitted traffic inside a switch's scope, from the window's start through the minute it took
 * effect, evaluated on route shapes whatever rule matched (src/ops/exposure.ts). Rows are the
 * requests certainly inside; the bounds add those the shapes cannot place (and say why).
 */
function reached(rows: readonly ShapeRow[], scoped: readonly Scoped[]): Report["reachedBeforeContainment"] {
  const out = new Map<string, ReachedRow>();
  const bounds: Bounds = emptyBounds();
  for (const row of rows) {
    // A request counts once even when two switches cover it: the certain reach wins.
    let best: { reach: RowReach; switchId: string } | undefined;
    for (const s of scoped) {
      if (row.minute > Math.floor(s.switch.effectiveAt / MINUTE)) continue;
      const reach = admittedInScope(s, row);
      if (reach.reach === "none" || best?.reach.reach === "match") continue;
      if (!best || reach.reach === "match") best = { reach, switchId: s.switch.id };
    }
    if (!best) continue;
    addTo(bounds, best.reach, row.n);
    if (best.reach.reach !== "match") continue;
    const key = [best.switchId, row.shape, row.method, best.reach.tenant].join("\u0000");
    const known = out.get(key);
    if (known) known.requests += row.n;
    else
      out.set(key, {
        switchId: best.switchId,
        route: row.shape,
        method: row.method,
        tenant: best.reach.tenant,
        requests: row.n,
      });
  }
  const sorted = [...out.values()].sort(
    (a, b) =>
      a.switchId.localeCompare(b.switchId) ||
      b.requests - a.requests ||
      a.route.localeCompare(b.route) ||
      a.tenant.localeCompare(b.tenant) ||
      a.method.localeCompare(b.method),
  );
  return { total: bounds.exact, upper: bounds.upper, bounds: reasons(bounds.why), rows: sorted };
}

function reasons(why: readonly MayReason[]): string[] {
  return why.map((w) => MAY_REASONS[w]);
}

function bump(table: Map<string, AffectedRow>, name: string, row: ShapeRow, certain: boolean): void {
  const entry = table.get(name) ?? { name, requests: 0, blocked: 0, admitted: 0, uncertain: 0 };
  if (!certain) entry.uncertain += row.n;
  else {
    entry.requests += row.n;
    if (isBlockedOutcome(row.outcome)) entry.blocked += row.n;
    else entry.admitted += row.n;
  }
  table.set(name, entry);
}

function sortedRows(table: Map<string, AffectedRow>): AffectedRow[] {
  return [...table.values()].sort(
    (a, b) => b.requests - a.requests || b.uncertain - a.uncertain || a.name.localeCompare(b.name),
  );
}

/**
 * Traffic on the protected routes (any incident switch's scope) or on routes of the incident's
 * data classes, by tenant, route and class. Rows the shapes cannot place count as `uncertain`.
 */
function affected(inputs: ReportInputs, rows: readonly ShapeRow[], scoped: readonly Scoped[]) {
  const tenants = new Map<string, AffectedRow>();
  const routes = new Map<string, AffectedRow>();
  const classes = new Map<string, AffectedRow>();
  const wanted = new Set(inputs.incident.dataClasses);
  const classScopes = Object.entries(inputs.dataClassMap).map(([pattern, names]) => ({
    scope: compileScope({ path: pattern }),
    names,
  }));
  for (const row of rows) {
    let reach: RowReach | undefined;
    const rowClasses = new Set<string>();
    for (const s of scoped) {
      const r = s.scope.reach(row);
      if (r.reach === "none") continue;
      if (r.reach === "match") for (const name of s.switch.dataClasses) rowClasses.add(name);
      if (!reach || r.reach === "match") reach = r;
    }
    for (const { scope, names } of classScopes) {
      const r = scope.reach(row);
      if (r.reach !== "match") continue;
      for (const name of names) rowClasses.add(name);
      if (names.some((name) => wanted.has(name)) && reach?.reach !== "match") reach = r;
    }
    if (!reach) continue;
    const certain = reach.reach === "match";
    bump(tenants, reach.tenant, row, certain);
    bump(routes, `${row.method} ${row.shape}`, row, certain);
    for (const name of rowClasses) bump(classes, name, row, certain);
  }
  return { tenants: sortedRows(tenants), routes: sortedRows(routes), dataClasses: sortedRows(classes) };
}

const FOLDED = new Set([SHAPE_OTHER, SHAPE_OVERFLOW_RESERVED, TRAFFIC_OVERFLOW]);

function seconds(from: number, to: number | undefined): number | null {
  return to === undefined ? null : Math.round((to - from) / 1000);
}

/** @example const report = buildReport(await gatherReportInputs(ctx, "INC-7")); */
export function buildReport(inputs: ReportInputs): Report {
  const { incident } = inputs;
  const { switches, flips } = switchesOf(inputs);
  const { start, end } = containmentSpan(switches);
  const minutes = perMinute(inputs, start, end);
  const rows = shapeRowsOfMinutes(inputs.shapes ?? [], inputs.traffic).filter((row) => inWindow(inputs, row));
  const scoped = switches.map((s) => ({ switch: s, scope: compileScope(s.scope) }));
  const reachedBefore = reached(rows, scoped);
  const folded = rows.filter((row) => FOLDED.has(row.shape)).reduce((sum, row) => sum + row.n, 0);
  const formatOne = rows.some((row) => row.format === 1);
  const kills = flips.filter((f) => f.action === "kill");
  const firstKill = kills[0]?.writtenAtMs;
  const confirmedTimes = kills.flatMap((f) => f.confirmations.map((c) => Date.parse(c.at)));
  const firstConfirmed = confirmedTimes.length > 0 ? Math.min(...confirmedTimes) : undefined;
  const anomaly = earliestAnomaly(inputs, new Set(switches.map((s) => s.id)));
  const { unmatchedIntents } = changesOf(inputs.audit);
  const v = inputs.verification;
  return {
    $schema: REPORT_SCHEMA_ID,
    schemaVersion: REPORT_SCHEMA_VERSION,
    generatedAt: isoSeconds(inputs.generatedAt),
    window: { since: isoSeconds(inputs.since), until: isoSeconds(inputs.until) },
    incident: {
      id: incident.id,
      title: incident.title,
      discovered: isoSeconds(incident.discovered),
      opened: isoSeconds(incident.opened),
      closed: incident.closed === undefined ? null : isoSeconds(incident.closed),
      dataClasses: [...incident.dataClasses],
      hipaaRole: incident.hipaaRole ?? null,
      gdprRole: incident.gdprRole ?? null,
      individuals: incident.individuals ?? null,
      earliestAnomaly: anomaly,
      firstDetection: firstDetectionOf(inputs),
    },
    narrative: narrativeSection(incident, anomaly, firstDetectionOf(inputs)),
    scope: { establishes: ESTABLISHES, doesNotEstablish: DOES_NOT_ESTABLISH },
    timeline: buildTimeline(inputs, anomaly),
    containment: {
      firstKillWrittenAt: firstKill === undefined ? null : isoSeconds(firstKill),
      firstConfirmedAt: firstConfirmed === undefined ? null : isoSeconds(firstConfirmed),
      secondsDiscoveryToFirstKill: seconds(incident.discovered, firstKill),
      secondsDiscoveryToFirstConfirmed: seconds(incident.discovered, firstConfirmed),
      flips,
    },
    decisions: { perMinute: minutes, totals: totalsOf(minutes) },
    reachedBeforeContainment: reachedBefore,
    affected: { ...affected(inputs, rows, scoped), trafficOverflow: folded, formatOneMinutes: formatOne },
    quarantines: quarantinesOf(inputs),
    detections: detectionsOf(inputs),
    clocks: regulatoryClocks({
      discovered: incident.discovered,
      hipaaRole: incident.hipaaRole,
      gdprRole: incident.gdprRole,
      baaTermMs: incident.baaTerm === undefined ? undefined : parseDuration(incident.baaTerm),
      dpaTermMs: incident.dpaTerm === undefined ? undefined : parseDuration(incident.dpaTerm),
      individuals: incident.individuals,
      maxStateResidents: incident.maxStateResidents,
    }),
    controls: SECTION_CONTROLS.map((c) => ({ section: c.section, controls: [...c.controls] })),
    evidence: {
      versions: inputs.preserved?.versions.length ?? 0,
      hash: inputs.preserved?.versions.at(-1)?.hash ?? null,
      intact: (inputs.preserved?.tampering.length ?? 0) === 0,
      tampering: (inputs.preserved?.tampering ?? []).map(findingLine),
    },
    audit: {
      head: v.head,
      entries: v.count,
      verified: v.ok,
      firstBreak: v.firstBreak
        ? `${v.firstBreak.seq === undefined ? "" : `seq ${v.firstBreak.seq}: `}${v.firstBreak.reason}`
        : null,
      anchor: v.anchor ?? null,
      unmatchedChanges: unmatchedIntents.map(
        (entry) =>
          `seq ${entry.seq}: ${entry.action}${entry.key ? ` ${entry.key}` : ""} ${entry.outcome === "failed" ? "failed" : "has an intent but no result"}`,
      ),
    },
  };
}
