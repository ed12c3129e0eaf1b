/**
 * Turns what the mirror and Edge Config hold into the API's Snapshot (api.ts). Pure functions over
 * the raw read, so the numbers the page shows are tested without a browser.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import {
  type AuditState,
  CHARTED_OUTCOMES,
  type EventEntry,
  type IncidentEntry,
  type QuarantineEntry,
  type RegionEntry,
  type SeriesEntry,
  type Snapshot,
  type SwitchEntry,
  type TopEntry,
} from "./api.js";
import { DIMENSIONS, type RawMirror, readMirror } from "./read-mirror.js";
import { readSwitches, switchesFromReports } from "./switches.js";

export interface SnapshotSource {
  redis: Redis;
  prefix: string;
  /** Edge Config connection string (read token) for the kill-switch panel; optional. */
  edgeConfig?: string | undefined;
  now: () => number;
  timeoutMs: number;
  minutes: number;
  topMinutes: number;
  events: number;
  fetch?: typeof fetch;
}

const TOP_N = 10;

export async function buildSnapshot(source: SnapshotSource): Promise<Snapshot> {
  const now = source.now();
  const [raw, switches] = await Promise.all([
    readMirror(source.redis, {
      prefix: source.prefix,
      now,
      minutes: source.minutes,
      topMinutes: source.topMinutes,
      events: source.events,
      timeoutMs: source.timeoutMs,
    }),
    source.edgeConfig === undefined
      ? Promise.resolve(undefined)
      : readSwitches(source.edgeConfig, now, source.timeoutMs, source.fetch).catch(
          (error: unknown) => new Error(error instanceof Error ? error.message : String(error)),
        ),
  ]);
  const problems = [...raw.problems];
  const regions = regionsOf(raw);
  let switchList: SwitchEntry[] = [];
  let switchesSource: Snapshot["switchesSource"] = "none";
  if (Array.isArray(switches)) {
    switchList = switches;
    switchesSource = "edge-config";
  } else {
    if (switches instanceof Error) problems.push(`kill switches: ${switches.message}`);
    const reported = regions.flatMap((r) => r.switches);
    if (reported.length > 0) {
      switchList = switchesFromReports(reported);
      switchesSource = "isolate-reports";
    }
  }
  const nowMinute = Math.floor(now / 60_000);
  const minutes = Array.from({ length: source.minutes }, (_, i) => nowMinute - source.minutes + 1 + i);
  return {
    v: 1,
    generatedAt: now,
    prefix: source.prefix,
    minutes,
    series: seriesOf(raw.counts),
    switches: switchList,
    switchesSource,
    regions,
    top: {
      tenant: topOf(raw.top.tenant),
      user: topOf(raw.top.user),
      ip: topOf(raw.top.ip),
    },
    topWindowMinutes: source.topMinutes,
    quarantines: quarantinesOf(raw, source.prefix),
    events: raw.events.filter((e) => e.fields.kind !== "source").map(eventOf),
    rejectedPushes: raw.events
      .filter((e) => e.fields.kind === "source" && e.fields.outcome === "rules-invalid")
      .map((e) => ({
        id: e.id,
        ts: Number(e.fields.ts) || 0,
        reason: e.fields.reason ?? "",
        ...(e.fields.region ? { region: e.fields.region } : {}),
      })),
    mirror: { drops: raw.drops },
    incident: incidentOf(raw, now),
    audit: auditOf(raw),
    problems,
  };
}

export function seriesOf(counts: RawMirror["counts"]): SeriesEntry[] {
  const byKey = new Map<string, SeriesEntry>();
  counts.forEach((fields, index) => {
    for (const [field, value] of Object.entries(fields)) {
      const bar = field.lastIndexOf("|");
      const rule = field.slice(0, bar);
      const outcome = field.slice(bar + 1) as SeriesEntry["outcome"];
      if (bar < 0 || !CHARTED_OUTCOMES.includes(outcome)) continue;
      const id = `${rule}|${outcome}`;
      let entry = byKey.get(id);
      if (!entry) {
        entry = { rule, outcome, counts: counts.map(() => 0), total: 0 };
        byKey.set(id, entry);
      }
      const n = Number(value) || 0;
      entry.counts[index] = (entry.counts[index] ?? 0) + n;
      entry.total += n;
    }
  });
  return [...byKey.values()].sort((a, b) => b.total - a.total || a.rule.localeCompare(b.rule));
}

export function topOf(perMinute: Array<Record<string, number>>): TopEntry[] {
  const sum = new Map<string, number>();
  for (const minute of perMinute)
    for (const [id, n] of Object.entries(minute)) sum.set(id, (sum.get(id) ?? 0) + n);
  return [...sum]
    .map(([id, blocked]) => ({ id, blocked }))
    .sort((a, b) => b.blocked - a.blocked || a.id.localeCompare(b.id))
    .slice(0, TOP_N);
}

interface IsolateRecord {
  region?: unknown;
  isolate?: unknown;
  digest?: unknown;
  at?: unknown;
  switches?: unknown;
  mac?: unknown;
}

function parse(textValue: string | undefined): IsolateRecord | undefined {
  if (textValue === undefined) return undefined;
  try {
    const value = JSON.parse(textValue) as unknown;
    return value && typeof value === "object" ? (value as IsolateRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** Per-isolate reports when the edge writes them (CONTRACTS.md format 1); else the legacy `enforcing` hash. */
export function regionsOf(raw: Pick<RawMirror, "isolates" | "enforcing">): RegionEntry[] {
  const groups = new Map<
    string,
    Array<{ digest: string; at: number; switches: string[]; signed: boolean }>
  >();
  for (const isolate of raw.isolates) {
    const record = parse(isolate.record);
    if (!record || typeof record.digest !== "string") continue;
    const region = typeof record.region === "string" ? record.region : (isolate.member.split(":")[0] ?? "?");
    const list = groups.get(region) ?? [];
    list.push({
      digest: record.digest,
      at: typeof record.at === "number" ? record.at : isolate.score,
      switches: Array.isArray(record.switches) ? record.switches.filter((s) => typeof s === "string") : [],
      signed: typeof record.mac === "string",
    });
    groups.set(region, list);
  }
  const out: RegionEntry[] = [];
  for (const [region, list] of groups) {
    const tally = new Map<string, number>();
    for (const r of list) tally.set(r.digest, (tally.get(r.digest) ?? 0) + 1);
    const digests = [...tally]
      .map(([digest, isolates]) => ({ digest, isolates }))
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
      signed: list.filter((r) => r.signed).length,
      switches: [...new Set(current.flatMap((r) => r.switches))].sort(),
      source: "isolates",
    });
  }
  if (out.length === 0) {
    for (const [region, value] of Object.entries(raw.enforcing)) {
      const record = parse(value) as { digest?: unknown; at?: unknown } | undefined;
      if (!record || typeof record.digest !== "string") continue;
      const at = typeof record.at === "number" ? record.at : 0;
      out.push({
        region,
        digest: record.digest,
        digests: [{ digest: record.digest, isolates: 1 }],
        since: at,
        lastSeen: at,
        isolates: 1,
        signed: 0,
        switches: [],
        source: "enforcing",
      });
    }
  }
  return out.sort((a, b) => a.region.localeCompare(b.region));
}

function quarantinesOf(raw: RawMirror, prefix: string): QuarantineEntry[] {
  return raw.quarantines
    .map(({ key, pttl }) => {
      const rest = key.slice(prefix.length + "quarantine:".length);
      const colon = rest.indexOf(":");
      return {
        dimension: colon < 0 ? rest : rest.slice(0, colon),
        id: colon < 0 ? "" : rest.slice(colon + 1),
        ttlSeconds: pttl < 0 ? -1 : Math.ceil(pttl / 1000),
      };
    })
    .sort((a, b) => a.dimension.localeCompare(b.dimension) || a.id.localeCompare(b.id));
}

const EVENT_TEXT = [
  "outcome",
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

export function eventOf(entry: { id: string; fields: Record<string, string> }): EventEntry {
  const event: EventEntry = {
    id: entry.id,
    ts: Number(entry.fields.ts) || 0,
    outcome: entry.fields.outcome ?? "?",
  };
  for (const name of EVENT_TEXT) {
    const value = entry.fields[name];
    if (value !== undefined && name !== "outcome") event[name] = value.slice(0, 300);
  }
  const status = Number(entry.fields.status);
  if (Number.isInteger(status)) event.status = status;
  return event;
}

/** GDPR Art. 33: 72 h to notify the authority; HIPAA 164.404: 60 days to notify individuals. */
const CLOCKS: Array<{ name: string; ms: number; applies: (classes: string[]) => boolean }> = [
  {
    name: "GDPR Art. 33 notification (72 h)",
    ms: 72 * 3_600_000,
    applies: (c) => c.length === 0 || c.some((x) => x !== "phi"),
  },
  {
    name: "HIPAA breach notification (60 days)",
    ms: 60 * 86_400_000,
    applies: (c) => c.length === 0 || c.includes("phi"),
  },
];

function timeOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(n) ? n : undefined;
}

export function incidentOf(raw: Pick<RawMirror, "incidents">, now: number): IncidentEntry | null {
  const open = raw.incidents
    .filter((i) => i.fields.closed === undefined || i.fields.closed === "")
    .map((i) => ({ ...i, opened: timeOf(i.fields.opened) ?? 0 }))
    .sort((a, b) => b.opened - a.opened)[0];
  if (!open) return null;
  const discovered = timeOf(open.fields.discovered);
  const dataClasses = (open.fields.dataClasses ?? "")
    .replace(/[[\]"]/g, "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const clocks =
    discovered === undefined
      ? []
      : CLOCKS.filter((c) => c.applies(dataClasses))
          .map((c) => ({ name: c.name, deadline: discovered + c.ms, msLeft: discovered + c.ms - now }))
          .sort((a, b) => a.deadline - b.deadline);
  const entry: IncidentEntry = { id: open.fields.id ?? open.id, dataClasses, clocks };
  if (open.fields.title) entry.title = open.fields.title.slice(0, 300);
  if (discovered !== undefined) entry.discovered = discovered;
  if (open.opened) entry.opened = open.opened;
  return entry;
}

function auditOf(raw: RawMirror): AuditState {
  const recent = raw.audit.recent.map((e) => {
    // Entries carry their canonical JSON in one field (`entry`) or as plain fields.
    const body = parse(e.fields.entry) as Record<string, unknown> | undefined;
    const get = (name: string): string | undefined => {
      const value = body?.[name] ?? e.fields[name];
      return value === undefined || value === null ? undefined : String(value).slice(0, 200);
    };
    const seq = Number(get("seq"));
    const out: AuditState["recent"][number] = {};
    if (Number.isInteger(seq)) out.seq = seq;
    for (const name of ["ts", "actor", "action", "phase", "incident", "key"] as const) {
      const value = get(name);
      if (value !== undefined) out[name] = value;
    }
    return out;
  });
  const state: AuditState = {
    length: raw.audit.length,
    recent,
    state: raw.audit.length === 0 ? "empty" : "unverified",
  };
  if (raw.audit.head !== undefined) state.head = raw.audit.head;
  return state;
}

export { DIMENSIONS };
