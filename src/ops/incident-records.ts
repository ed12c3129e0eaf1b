/** Incident records in Redis (docs/contracts.md, audit chain and incidents): keys, parsing, reading. See incidents.ts. */
import { ConfigInvalid, type ContainmentError } from "../core/errors.js";
import type { ResponderRedis } from "../model/responder-redis.js";
import { MIRROR_KEYS } from "../stores/mirror/layout.js";
import { OpsError } from "./errors.js";
import type { GdprRole, HipaaRole } from "./report/clocks.js";
import type { IncidentRecord } from "./report/model.js";
import {
  NARRATIVE_FIELDS,
  type NoticeEntry,
  type NotificationDecision,
  type SignOff,
} from "./report/narrative.js";

export interface IncidentContext {
  client: ResponderRedis;
  prefix: string;
  now?: () => number;
}

export const INCIDENT_ID = /^[\w.:-]{1,64}$/;
export const DATA_CLASS = /^[a-z][a-z0-9-]{0,31}$/;
/** Default look-back before discovery copied with the incident: the earliest evidence is often earlier. */
export const DEFAULT_LOOKBACK_MS = 24 * 3_600_000;

export const incidentKeys = {
  incident: (id: string) => `incident:${id}`,
  all: "incidents",
  counts: (id: string, minute: number) => `incident:${id}:${MIRROR_KEYS.counts(minute)}`,
  shapes: (id: string, minute: number) => `incident:${id}:${MIRROR_KEYS.shapes(minute)}`,
  traffic: (id: string, minute: number) => `incident:${id}:${MIRROR_KEYS.traffic(minute)}`,
  top: (id: string, minute: number, dimension: string) =>
    `incident:${id}:${MIRROR_KEYS.top(minute, dimension)}`,
  events: (id: string) => `incident:${id}:events`,
  confirmations: (id: string) => `incident:${id}:confirmations`,
  quarantines: (id: string) => `incident:${id}:quarantines`,
  /** hash `<n>` → a version of the copy (incident-versions.ts), `~through` → last minute covered */
  versions: (id: string) => `incident:${id}:versions`,
  /** hash `<kind>|<minute>|<reason>|<field>` → JSON TamperFinding, the first time a refresh saw it */
  tampering: (id: string) => `incident:${id}:tampering`,
} as const;

export function invalid(message: string): ContainmentError {
  return new ConfigInvalid(message);
}

/** Lists of entries (not of names) are stored as JSON in their hash field. */
const JSON_FIELDS = new Set(["decisions", "notices", "signoffs"]);

/** An incident id nobody opened: the same exit code as any unknown id (`notFound`, docs/cli.md). */
export function unknownIncident(id: string): OpsError {
  return new OpsError("ERR_NOT_FOUND", `no incident ${id}: see \`containment incident list\``);
}

export function toHash(incident: IncidentRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, value] of Object.entries(incident)) {
    if (value === undefined) continue;
    if (JSON_FIELDS.has(field)) out[field] = JSON.stringify(value);
    else out[field] = Array.isArray(value) ? value.join(",") : String(value);
  }
  return out;
}

function jsonList<T>(text: string | undefined): T[] | undefined {
  if (text === undefined || text === "") return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? (parsed as T[]) : undefined;
  } catch {
    return undefined;
  }
}

const num = (text: string | undefined): number | undefined =>
  text === undefined || text === "" ? undefined : Number(text);

const list = (text: string | undefined): string[] | undefined =>
  text === undefined || text === "" ? undefined : text.split(",").filter(Boolean);

export function fromHash(hash: Record<string, string>): IncidentRecord | undefined {
  if (!hash.id || !hash.discovered) return undefined;
  return {
    id: hash.id,
    title: hash.title ?? "",
    discovered: Number(hash.discovered),
    opened: Number(hash.opened),
    closed: num(hash.closed),
    dataClasses: hash.dataClasses ? hash.dataClasses.split(",").filter(Boolean) : [],
    hipaaRole: hash.hipaaRole as HipaaRole | undefined,
    gdprRole: hash.gdprRole as GdprRole | undefined,
    baaTerm: hash.baaTerm,
    dpaTerm: hash.dpaTerm,
    individuals: num(hash.individuals),
    maxStateResidents: num(hash.maxStateResidents),
    scopeRoutes: list(hash.scopeRoutes),
    scopeTenants: list(hash.scopeTenants),
    scopeMethods: list(hash.scopeMethods),
    openedBy: hash.openedBy,
    closedBy: hash.closedBy,
    ...Object.fromEntries(NARRATIVE_FIELDS.map((f) => [f.key, hash[f.key] || undefined])),
    discoveredBy: hash.discoveredBy,
    discoveryReason: hash.discoveryReason,
    individualsBasis: hash.individualsBasis,
    records: num(hash.records),
    recordsBasis: hash.recordsBasis,
    decisions: jsonList<NotificationDecision>(hash.decisions),
    notices: jsonList<NoticeEntry>(hash.notices),
    signoffs: jsonList<SignOff>(hash.signoffs),
    version: num(hash.version),
    replaces: hash.replaces,
    revision: num(hash.revision),
  };
}

export function strip(record: IncidentRecord): IncidentRecord {
  return Object.fromEntries(
    Object.entries(record).filter(([, v]) => v !== undefined),
  ) as unknown as IncidentRecord;
}

/** A hash of the incident's, as a record (empty when it does not exist). */
export async function readHash(ctx: IncidentContext, name: string): Promise<Record<string, string>> {
  return (await ctx.client.hgetall(ctx.prefix + name)) ?? {};
}

export async function getIncident(ctx: IncidentContext, id: string): Promise<IncidentRecord | undefined> {
  const found = fromHash(await readHash(ctx, incidentKeys.incident(id)));
  return found ? strip(found) : undefined;
}

/** The minutes an incident covers: look-back before discovery through close (or now). */
export async function incidentWindow(
  ctx: IncidentContext,
  id: string,
): Promise<{ since: number; until: number }> {
  const hash = await readHash(ctx, incidentKeys.incident(id));
  const incident = fromHash(hash);
  if (!incident) throw unknownIncident(id);
  const lookback = Number(hash.lookbackMs) || DEFAULT_LOOKBACK_MS;
  return { since: incident.discovered - lookback, until: incident.closed ?? (ctx.now ?? Date.now)() };
}
