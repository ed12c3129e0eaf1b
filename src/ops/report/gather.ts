/**
 * Gathers what the report is built from: the incident, its incident-scoped copies of the
 * aggregates and events (refreshed first while the incident is open), the audit chain (verified
 * whole, against the Edge Config anchor when the API can be asked), confirmations, quarantines,
 * and the data-class map of the rules document.
 */
import { RULES_ITEM } from "../../model/edge-config-items.js";
import type { ResponderRedis } from "../../model/responder-redis.js";
import { type AuditRecord, isAnchor, readAudit, readForVerify, verifyAudit } from "../audit/index.js";
import type { KeySet } from "../audit/sign.js";
import { readDetections } from "../detections.js";
import type { VercelApi } from "../edge-config-api.js";
import {
  readConfirmations,
  readIncidentQuarantines,
  readTampering,
  readVersions,
  type SnapshotOptions,
  snapshotIncident,
} from "../incident-copies.js";
import {
  getIncident,
  type IncidentContext,
  incidentKeys,
  incidentWindow,
  invalid,
  unknownIncident,
} from "../incident-records.js";
import { numericFields } from "./aggregates.js";
import { detectionEvidence } from "./detections.js";
import type { AuditView, DataClassMap, EventRecord, MinuteFields, ReportInputs } from "./model.js";

export interface ReportContext {
  redis: ResponderRedis;
  prefix: string;
  now: () => number;
  /** The Vercel API: the audit anchor and the live rules document (data classes). Optional. */
  api?: VercelApi | undefined;
}

export interface GatherOptions {
  since?: number | undefined;
  until?: number | undefined;
  /** The rules document whose data classes apply; default the live one (or the last pushed). */
  document?: unknown;
  keys?: KeySet | undefined;
  /** Enters a new version of the incident copy in the audit chain (see snapshotIncident). */
  onVersion?: SnapshotOptions["onVersion"];
}

export interface Gathered {
  inputs: ReportInputs;
  /** The incident's audit records as stored. */
  audit: AuditRecord[];
  /** The whole chain as stored (the bundle carries it whole: only a whole chain verifies). */
  chain: AuditRecord[];
  top: Array<{ minute: number; dimension: string; members: Record<string, number> }>;
  events: Array<{ streamId: string; fields: EventRecord }>;
}

const MINUTE = 60_000;
const MAX_MINUTES = 60 * 24 * 31;

function fieldsOf(flat: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] as string] = flat[i + 1] as string;
  return out;
}

/** The audit entry as the report reads it: the verified actor's name, the hash beside the entry. */
export function auditView(record: AuditRecord): AuditView {
  const entry = record.entry as unknown as Record<string, unknown> & {
    actor?: { name?: string } | string | null;
  };
  const actor = typeof entry.actor === "string" ? entry.actor : (entry.actor?.name ?? null);
  return { ...(entry as unknown as AuditView), actor, hash: record.hash };
}

/** The incident a switch version as recorded belongs to (the audit entry's before or after item). */
function itemIncident(item: unknown): unknown {
  return item !== null && typeof item === "object" ? (item as { incident?: unknown }).incident : undefined;
}

/**
 * An entry is in an incident's report when it was made for it, or when it changed a switch the
 * incident owned (a version that moved or replaced that incident's switch is part of its story).
 */
export function belongsToIncident(record: AuditRecord, id: string, since: number, until: number): boolean {
  const entry = record.entry;
  if (entry?.incident === id) return true;
  if (itemIncident(entry?.before) === id || itemIncident(entry?.after) === id) return true;
  const at = Date.parse(String(entry?.ts));
  return (entry?.incident === null || entry?.incident === undefined) && at >= since && at <= until;
}

function patternsOf(match: unknown): string[] {
  const path = (match as { path?: unknown } | undefined)?.path;
  if (typeof path === "string") return [path];
  return Array.isArray(path) ? path.filter((p): p is string => typeof p === "string") : [];
}

/** Route pattern → data classes: the document's map plus every rule's patterns with its `dataClasses`. */
export function dataClassMapOf(document: unknown): DataClassMap {
  const out: Record<string, string[]> = {};
  const add = (pattern: string, names: unknown) => {
    if (!Array.isArray(names)) return;
    out[pattern] = [
      ...new Set([...(out[pattern] ?? []), ...names.filter((n): n is string => typeof n === "string")]),
    ];
  };
  const doc = document as { dataClasses?: Record<string, unknown>; rules?: unknown[] } | undefined;
  for (const [pattern, names] of Object.entries(doc?.dataClasses ?? {})) add(pattern, names);
  for (const rule of doc?.rules ?? []) {
    const r = rule as { match?: unknown; dataClasses?: unknown };
    for (const pattern of patternsOf(r.match)) add(pattern, r.dataClasses);
  }
  return out;
}

async function liveDocument(ctx: ReportContext, audit: readonly AuditRecord[]): Promise<unknown> {
  try {
    const item = await ctx.api?.item(RULES_ITEM);
    if (item?.value !== undefined) return item.value;
  } catch {
    // Unreachable or no token: fall back to the last pushed document in the chain.
  }
  const pushed = [...audit]
    .reverse()
    .find((r) => r.entry?.action === "rules-push" && r.entry.phase === "result");
  return pushed?.entry.after ?? undefined;
}

async function readMinutes(ctx: IncidentContext, id: string, from: number, to: number) {
  const counts: MinuteFields[] = [];
  const traffic: MinuteFields[] = [];
  const shapes: MinuteFields[] = [];
  const top: Gathered["top"] = [];
  const dims = ["tenant", "user", "ip"] as const;
  const key = (name: string) => ctx.prefix + name;
  // A day of minutes at a time, issued together: one round trip each (REST pipelines them).
  for (let start = from; start <= to; start += 1_440) {
    const end = Math.min(to, start + 1_439);
    const minutes = Array.from({ length: end - start + 1 }, (_, i) => start + i);
    const read = await Promise.all(
      minutes.map((m) =>
        Promise.all([
          ctx.client.hgetall(key(incidentKeys.counts(id, m))),
          ctx.client.hgetall(key(incidentKeys.traffic(id, m))),
          ctx.client.hgetall(key(incidentKeys.shapes(id, m))),
          Promise.all(dims.map((d) => ctx.client.zrangeWithScores(key(incidentKeys.top(id, m, d)), 0, -1))),
        ]),
      ),
    );
    read.forEach(([countFields, trafficFields, shapeFields, tops], index) => {
      const minute = minutes[index] as number;
      const c = numericFields(countFields ?? {});
      const t = numericFields(trafficFields ?? {});
      if (Object.keys(c).length > 0) counts.push({ minute, fields: c });
      if (Object.keys(t).length > 0) traffic.push({ minute, fields: t });
      const sh = numericFields(shapeFields ?? {});
      if (Object.keys(sh).length > 0) shapes.push({ minute, fields: sh });
      dims.forEach((dimension, d) => {
        const members = numericFields(Object.fromEntries(tops[d] ?? []));
        if (Object.keys(members).length > 0) top.push({ minute, dimension, members });
      });
    });
  }
  return { counts, traffic, shapes, top };
}

async function readEvents(ctx: IncidentContext, id: string, since: number, until: number) {
  const out: Gathered["events"] = [];
  let start = String(since);
  for (let round = 0; round < 200; round++) {
    const batch = await ctx.client.xrange(ctx.prefix + incidentKeys.events(id), start, String(until), 1000);
    for (const [streamId, fields] of batch) {
      out.push({ streamId, fields: fieldsOf(fields) });
      start = `(${streamId}`;
    }
    if (batch.length < 1000) break;
  }
  return out;
}

/** @example const { inputs } = await gatherReport(ctx, "INC-7"); const report = buildReport(inputs); */
export async function gatherReport(
  ctx: ReportContext,
  id: string,
  options: GatherOptions = {},
): Promise<Gathered> {
  const incidents: IncidentContext = { client: ctx.redis, prefix: ctx.prefix, now: ctx.now };
  const incident = await getIncident(incidents, id);
  if (!incident) throw unknownIncident(id);
  if (incident.closed === undefined)
    await snapshotIncident(incidents, id, undefined, { onVersion: options.onVersion });
  const window = await incidentWindow(incidents, id);
  const since = options.since ?? window.since;
  const until = options.until ?? window.until;
  if (!(since < until)) throw invalid("--since must be before --until");
  const from = Math.floor(since / MINUTE);
  const to = Math.floor(until / MINUTE);
  if (to - from > MAX_MINUTES)
    throw invalid("the report window is longer than 31 days: narrow it with --since/--until");

  const audited = { redis: ctx.redis, prefix: ctx.prefix };
  // Without the Vercel API the anchor is not asked: the report says so (anchor null) and checks
  // the links alone. When it answers, a missing or malformed anchor fails like `audit verify`.
  const { records: chain, anchor } = await readForVerify(audited, ctx.api).catch(async () => ({
    records: await readAudit(audited),
    anchor: undefined,
  }));
  const verified = await verifyAudit(chain, {
    anchor,
    keys: options.keys,
    allowUnanchored: anchor === undefined,
  });
  const audit = chain.filter((record) => belongsToIncident(record, id, since, until));
  const [
    { counts, traffic, shapes, top },
    events,
    confirmations,
    quarantines,
    versions,
    tampering,
    liveDetections,
  ] = await Promise.all([
    readMinutes(incidents, id, from, to),
    readEvents(incidents, id, since, until),
    readConfirmations(incidents, id),
    readIncidentQuarantines(incidents, id),
    readVersions(incidents, id),
    readTampering(incidents, id),
    // The newest detections still live (30 days); older ones are known from the audit chain.
    readDetections(ctx.redis, ctx.prefix, 1000),
  ]);
  const document = options.document ?? (await liveDocument(ctx, chain));
  return {
    inputs: {
      incident,
      since,
      until,
      generatedAt: ctx.now(),
      audit: audit.map(auditView),
      verification: {
        ok: verified.ok,
        head: verified.head === "" ? null : verified.head,
        count: verified.count,
        firstBreak: verified.firstBreak
          ? {
              ...(verified.firstBreak.seq === null ? {} : { seq: verified.firstBreak.seq }),
              reason: verified.firstBreak.reason,
            }
          : undefined,
        anchor: isAnchor(anchor) ? `${anchor.seq}:${anchor.hash}` : null,
      },
      counts,
      traffic,
      shapes,
      events: events.map((e) => e.fields),
      confirmations,
      quarantines,
      detections: detectionEvidence(chain.map(auditView), liveDetections, since, until),
      dataClassMap: dataClassMapOf(document),
      preserved: { versions, tampering },
    },
    audit,
    chain,
    top,
    events,
  };
}
