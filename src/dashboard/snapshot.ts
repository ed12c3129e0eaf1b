/**
 * Turns what the mirror (through the shared reader, src/stores/mirror/reader.ts) and Edge Config hold
 * into the API's Snapshot (api.ts). The shaping functions are pure, so the numbers the page shows
 * are tested without a browser.
 */
import { withDeadline } from "../core/deadline.js";
import { redactSecrets } from "../core/redact.js";
import type { ResponderRedis } from "../model/responder-redis.js";
import { type DetectionRow, readDetections } from "../ops/detections.js";
import type { MirrorReader } from "../stores/mirror/reader.js";
import type {
  CountRow,
  IsolateLedger,
  IsolateRecord,
  MirrorEvent,
  TopEntry as MirrorTopEntry,
  QuarantineRecord,
  TrafficMinutes,
  TrafficRow,
} from "../stores/mirror/reader-types.js";
import {
  type AuditState,
  CHARTED_OUTCOMES,
  type DetectionEntry,
  type EventEntry,
  type IncidentEntry,
  type QuarantineEntry,
  type RegionEntry,
  type SeriesEntry,
  type Snapshot,
  type SwitchEntry,
  type TopEntry,
} from "./api.js";
import { readEnforcing, readIncident } from "./incident-and-audit.js";
import { compileScope, type DeclaredScope } from "./scope-match.js";
import { readEdgeConfig, switchesFromReports } from "./switches.js";
import { containmentVerdict, type Verdict } from "./verdict.js";
import { trafficOfShapes, verdictInputFrom } from "./verdict-input.js";

export interface SnapshotSource {
  redis: ResponderRedis;
  reader: MirrorReader;
  prefix: string;
  /** Edge Config connection string (read token) for the kill-switch panel; optional. */
  edgeConfig?: string | undefined;
  now: () => number;
  timeoutMs: number;
  minutes: number;
  topMinutes: number;
  events: number;
  fetch?: typeof fetch;
  /** The audit chain's state, given the Edge Config anchor (cached by head: see incident-and-audit.ts). */
  audit: (anchor: unknown) => Promise<AuditState>;
}

const TOP_N = 10;
/** Detections the panel lists (newest first). */
const DETECTIONS_SHOWN = 20;
/** Isolates not heard from for this long no longer count in their region. */
export const ISOLATE_FRESH_MS = 120_000;
/** Minutes before the judged ones in which a region counts as having served traffic in scope. */
export const VERDICT_LOOKBACK_MINUTES = 15;

/** Each part under its own deadline: a slow or failing part becomes a `problem`, the rest still shows. */
async function part<T>(
  label: string,
  work: () => Promise<T>,
  fallback: T,
  ms: number,
  problems: string[],
): Promise<T> {
  try {
    return await withDeadline(work(), ms, label);
  } catch (error) {
    problems.push(
      `${label}: ${error instanceof Error ? redactSecrets(error.message.replace(/^edge-containment: /, "")).slice(0, 160) : "failed"}`,
    );
    return fallback;
  }
}

export async function buildSnapshot(source: SnapshotSource): Promise<Snapshot> {
  const now = source.now();
  const problems: string[] = [];
  const ms = source.timeoutMs;
  const reader = source.reader;
  const nowMinute = Math.floor(now / 60_000);
  const range = { from: nowMinute - source.minutes + 1, to: nowMinute };
  const topRange = { from: nowMinute - source.topMinutes + 1, to: nowMinute };
  const edgeConfig = source.edgeConfig;
  const [
    counts,
    traffic,
    tenants,
    users,
    ips,
    events,
    isolates,
    quarantines,
    drops,
    ledger,
    enforcing,
    incident,
    config,
    detections,
  ] = await Promise.all([
    part("counts", () => reader.counts(range), [] as CountRow[], ms, problems),
    part(
      "traffic",
      async () => trafficOfShapes(await reader.shapes(range)),
      { rows: [], overflow: {} } as TrafficMinutes,
      ms,
      problems,
    ),
    part("top tenants", () => reader.top(topRange, "tenant", TOP_N), [] as MirrorTopEntry[], ms, problems),
    part("top users", () => reader.top(topRange, "user", TOP_N), [] as MirrorTopEntry[], ms, problems),
    part("top networks", () => reader.top(topRange, "ip", TOP_N), [] as MirrorTopEntry[], ms, problems),
    part("events", () => reader.events({ limit: source.events * 2 }), [] as MirrorEvent[], ms, problems),
    part(
      "isolate reports",
      () => reader.isolates({ sinceMs: now - ISOLATE_FRESH_MS }),
      [] as IsolateRecord[],
      ms,
      problems,
    ),
    part("quarantines", () => reader.quarantines(500), [] as QuarantineRecord[], ms, problems),
    part("mirror drops", () => reader.drops(), { decisions: 0, events: 0 }, ms, problems),
    part("mirror ledger", () => reader.ledger(), [] as IsolateLedger[], ms, problems),
    part(
      "enforcing",
      () => readEnforcing(source.redis, source.prefix),
      {} as Record<string, string>,
      ms,
      problems,
    ),
    part(
      "incident",
      () => readIncident(source.redis, source.prefix, now),
      null as IncidentEntry | null,
      ms,
      problems,
    ),
    edgeConfig === undefined
      ? Promise.resolve(undefined)
      : part("Edge Config", () => readEdgeConfig(edgeConfig, now, ms, source.fetch), undefined, ms, problems),
    part(
      "detections",
      () => readDetections(source.redis, source.prefix, DETECTIONS_SHOWN),
      [] as DetectionRow[],
      ms,
      problems,
    ),
  ]);
  const noAudit: AuditState = { length: 0, recent: [], state: "unverified", detail: "not readable" };
  const audit = await part("audit chain", () => source.audit(config?.anchor), noAudit, ms * 2, problems);
  const switches = config?.switches;
  const regions = regionsOf(isolates, enforcing);
  let switchList: SwitchEntry[] = [];
  let switchesSource: Snapshot["switchesSource"] = "none";
  if (switches) {
    switchList = switches;
    switchesSource = "edge-config";
  } else {
    const reported = regions.flatMap((r) => r.switches);
    if (reported.length > 0) {
      switchList = switchesFromReports(reported);
      switchesSource = "isolate-reports";
    }
  }
  const minutes = Array.from({ length: source.minutes }, (_, i) => range.from + i);
  const decisions = events.filter((e) => e.fields.kind !== "source");
  const verdict: Verdict | null = incident
    ? containmentVerdict(
        verdictInputFrom({
          now,
          incident,
          traffic,
          events,
          isolates,
          ledger,
          switches: switchList,
          freshMs: ISOLATE_FRESH_MS,
          lookbackMinutes: VERDICT_LOOKBACK_MINUTES,
        }),
      )
    : null;
  if (verdict && problems.some((p) => /^(traffic|events|isolate reports|mirror ledger):/.test(p)))
    Object.assign(verdict, unreadable(verdict));
  return {
    v: 1,
    generatedAt: now,
    prefix: source.prefix,
    minutes,
    series: [...seriesOf(counts, minutes), ...admittedSeries(traffic.rows, minutes, incident, switchList)],
    verdict,
    switches: switchList,
    switchesSource,
    regions,
    top: { tenant: topOf(tenants), user: topOf(users), ip: topOf(ips) },
    topWindowMinutes: source.topMinutes,
    quarantines: quarantines
      .map(quarantineOf)
      .sort((a, b) => a.dimension.localeCompare(b.dimension) || a.id.localeCompare(b.id)),
    detections: detections.map(detectionOf),
    events: decisions.slice(0, source.events).map(eventOf),
    rejectedPushes: events
      .filter((e) => e.fields.kind === "source" && e.fields.outcome === "rules-invalid")
      .map((e) => ({
        id: e.streamId,
        ts: e.first,
        reason: (e.fields.reason ?? "").slice(0, 500),
        ...(e.fields.region ? { region: e.fields.region } : {}),
      })),
    mirror: {
      drops: drops.decisions,
      eventDrops: drops.events,
      gap: ledger.reduce((sum, l) => sum + l.gap, 0),
    },
    incident,
    audit,
    problems,
  };
}

export function seriesOf(rows: readonly CountRow[], minutes: readonly number[]): SeriesEntry[] {
  const index = new Map(minutes.map((m, i) => [m, i]));
  const byKey = new Map<string, SeriesEntry>();
  for (const row of rows) {
    const outcome = row.outcome as SeriesEntry["outcome"];
    const at = index.get(row.minute);
    if (at === undefined || !(CHARTED_OUTCOMES as readonly string[]).includes(outcome)) continue;
    const id = `${row.rule}|${outcome}`;
    let entry = byKey.get(id);
    if (!entry) {
      entry = { rule: row.rule || "-", outcome, counts: minutes.map(() => 0), total: 0 };
      byKey.set(id, entry);
    }
    entry.counts[at] = (entry.counts[at] ?? 0) + row.n;
    entry.total += row.n;
  }
  return [...byKey.values()].sort((a, b) => b.total - a.total || a.rule.localeCompare(b.rule));
}

/** A verdict built on parts that could not be read proves nothing: it says so. */
function unreadable(verdict: Verdict): Partial<Verdict> {
  if (verdict.state === "not-contained") return {};
  const reason = "part of the mirror could not be read (see the problems above)";
  return { state: "unknown", headline: `Unknown: ${reason}`, reasons: [reason, ...verdict.reasons] };
}

/**
 * Requests admitted on protected routes, per minute: in the incident's declared scope, or on the
 * active kill switches' routes (with their tenants and methods) when it declares none. A switch that
 * misses a tenant or a method shows here as admitted traffic, never as silence.
 */
export function admittedSeries(
  rows: readonly TrafficRow[],
  minutes: readonly number[],
  incident: IncidentEntry | null,
  switches: readonly SwitchEntry[],
): SeriesEntry[] {
  const scopes: Array<{ label: string; scope: DeclaredScope }> = incident?.scope
    ? [
        {
          label: `${incident.id} scope`,
          scope: {
            routes: incident.scope.routes,
            tenants: incident.scope.tenants ?? [],
            methods: incident.scope.methods ?? [],
          },
        },
      ]
    : switches
        // A switch known only from isolate reports has no readable path to match.
        .filter((s) => s.state !== "expired" && s.path.startsWith("/"))
        .map((s) => ({
          label: `${s.id} route`,
          scope: { routes: [s.path], tenants: [], methods: [] },
        }));
  const index = new Map(minutes.map((m, i) => [m, i]));
  return scopes.map(({ label, scope }) => {
    const matcher = compileScope(scope);
    const entry: SeriesEntry = { rule: label, outcome: "admitted", counts: minutes.map(() => 0), total: 0 };
    for (const row of rows) {
      const at = index.get(row.minute);
      if (at === undefined || (row.outcome !== "allow" && row.outcome !== "monitor")) continue;
      if (matcher.match(row) !== "yes") continue;
      entry.counts[at] = (entry.counts[at] ?? 0) + row.n;
      entry.total += row.n;
    }
    return entry;
  });
}

export function topOf(entries: readonly MirrorTopEntry[]): TopEntry[] {
  return entries.map((e) => ({ id: e.member, blocked: e.n }));
}

interface Report {
  digest: string;
  at: number;
  switches: string[];
  verified: boolean;
}

/** Per-isolate reports (docs/contracts.md, the isolate report) when the edge writes them; else the legacy `enforcing` hash. */
export function regionsOf(
  isolates: readonly IsolateRecord[],
  enforcing: Record<string, string>,
): RegionEntry[] {
  const groups = new Map<string, Report[]>();
  for (const isolate of isolates) {
    const report = isolate.report;
    if (!report) continue;
    const list = groups.get(isolate.region) ?? [];
    list.push({
      digest: report.digest,
      at: report.at,
      switches: [...report.switches, ...report.fast],
      verified: isolate.trust === "verified",
    });
    groups.set(isolate.region, list);
  }
  const out: RegionEntry[] = [];
  for (const [region, list] of groups) {
    const tally = new Map<string, number>();
    for (const r of list) tally.set(r.digest, (tally.get(r.digest) ?? 0) + 1);
    const digests = [...tally]
      .map(([digest, n]) => ({ digest, isolates: n }))
      .sort((a, b) => b.isolates - a.isolates);
    const digest = digests[0]?.digest ?? "";
    const current = list.filter((r) => r.digest === digest);
    out.push({
      region,
      digest,
      digests,
      since: Math.min(...current.map((r) => r.at)),
      lastSeen: Math.max(...list.map((r) => r.at)),
      isolates: list.length,
      verified: list.filter((r) => r.verified).length,
      switches: [...new Set(current.flatMap((r) => r.switches))].sort(),
      source: "isolates",
    });
  }
  if (out.length === 0) out.push(...legacyRegions(enforcing));
  return out.sort((a, b) => a.region.localeCompare(b.region));
}

function legacyRegions(enforcing: Record<string, string>): RegionEntry[] {
  const out: RegionEntry[] = [];
  for (const [region, value] of Object.entries(enforcing)) {
    let record: { digest?: unknown; at?: unknown } | undefined;
    try {
      record = JSON.parse(value) as { digest?: unknown; at?: unknown };
    } catch {
      continue;
    }
    if (!record || typeof record.digest !== "string") continue;
    const at = typeof record.at === "number" ? record.at : 0;
    out.push({
      region,
      digest: record.digest,
      digests: [{ digest: record.digest, isolates: 1 }],
      since: at,
      lastSeen: at,
      isolates: 1,
      verified: 0,
      switches: [],
      source: "enforcing",
    });
  }
  return out;
}

function quarantineOf(q: QuarantineRecord): QuarantineEntry {
  const entry: QuarantineEntry = {
    dimension: q.dimension,
    id: q.id,
    ttlSeconds: q.ttlMs < 0 ? -1 : Math.ceil(q.ttlMs / 1000),
  };
  if (q.rule !== undefined) entry.rule = q.rule;
  // The key holds a pseudonym; the stored record names the tenant as events do.
  const tenant = typeof q.record === "object" ? q.record.tenant : undefined;
  if (typeof tenant === "string" && tenant !== "") entry.tenant = tenant.slice(0, 128);
  return entry;
}

/** A detection row as the API gives it: text fields bounded, absent fields left out. */
export function detectionOf(row: DetectionRow): DetectionEntry {
  const text = (value: string): string => value.slice(0, 300);
  const entry: DetectionEntry = {
    id: text(row.id),
    detector: text(row.detector),
    type: text(row.type),
    route: text(row.route),
    key: text(row.key),
    value: row.value,
    threshold: row.threshold,
    windowMs: row.windowMs,
    at: row.at,
    action: text(row.action),
    state: row.state,
  };
  if (row.tenant !== null) entry.tenant = text(row.tenant);
  if (row.releasedBy !== null) entry.releasedBy = text(row.releasedBy);
  if (row.releasedAt !== null) entry.releasedAt = row.releasedAt;
  if (row.approvedBy !== null) entry.approvedBy = text(row.approvedBy);
  return entry;
}

const EVENT_TEXT = [
  "rule",
  "kind",
  "method",
  "path",
  "route",
  "tenant",
  "user",
  "ip",
  "region",
  "reason",
  "incident",
] as const;

export function eventOf(event: MirrorEvent): EventEntry {
  const fields = event.fields;
  const entry: EventEntry = {
    id: event.streamId,
    ts: event.last,
    outcome: fields.outcome ?? "?",
    count: event.count,
  };
  for (const name of EVENT_TEXT) {
    const value = fields[name];
    if (value !== undefined && value !== "") entry[name] = value.slice(0, 300);
  }
  const status = Number(fields.status);
  if (Number.isInteger(status) && fields.status !== undefined) entry.status = status;
  return entry;
}
