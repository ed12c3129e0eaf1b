/**
 * Incidents (docs/contracts.md, audit chain and incidents): hash `<prefix>incident:<id>` and set `<prefix>incidents`, plus
 * incident-scoped copies of the window's aggregates WITHOUT expiry, so the evidence outlives the
 * mirror's retention (counts/top/traffic expire after days, `events` is capped; a SOC 2 Type II
 * period runs a year and HIPAA documentation is kept six years):
 *
 *   incident:<id>                     hash: id, title, discovered, opened, closed?, dataClasses, roles, terms,
 *                                     scopeRoutes?, scopeTenants?, scopeMethods? (the declared exposure scope)
 *   incident:<id>:counts:<minute>     copy of counts:<minute>   (PERSIST)
 *   incident:<id>:traffic:<minute>    copy of traffic:<minute>  (PERSIST)
 *   incident:<id>:top:<minute>:<dim>  copy of top:<minute>:<dim> (PERSIST)
 *   incident:<id>:events              stream: the window's events, original stream ids
 *   incident:<id>:confirmations       hash `switch@version|state|region` → first confirmation ms
 *   incident:<id>:quarantines         hash `dimension:id[:rule]` → JSON {firstSeen, until, rule}
 *
 * A copy is refreshed (COPY … REPLACE) while the source key exists and kept once it has expired.
 * Copying runs on `incident open` (the look-back before discovery), on every report, evidence export
 * and on `incident close`: run one of them within the mirror's retention (8 days by default).
 */
import { parseDuration } from "../core/duration.js";
import { parsePattern } from "../rules/pattern.js";
import { OpsError } from "./errors.js";
import { type SnapshotOptions, snapshotIncident } from "./incident-copies.js";
import {
  DATA_CLASS,
  DEFAULT_LOOKBACK_MS,
  getIncident,
  INCIDENT_ID,
  type IncidentContext,
  incidentKeys,
  invalid,
  strip,
  toHash,
  unknownIncident,
} from "./incident-records.js";
import { GDPR_ROLES, type GdprRole, HIPAA_ROLES, type HipaaRole } from "./report/clocks.js";
import type { IncidentRecord } from "./report/model.js";

export * from "./incident-copies.js";
export * from "./incident-records.js";

export interface OpenIncidentInput {
  id: string;
  title: string;
  /** UTC ms; default now. */
  discovered?: number | undefined;
  /** Why this discovery time (the person deciding it is `actor`). */
  discoveryReason?: string | undefined;
  dataClasses?: readonly string[] | undefined;
  hipaaRole?: HipaaRole | undefined;
  gdprRole?: GdprRole | undefined;
  baaTerm?: string | undefined;
  dpaTerm?: string | undefined;
  individuals?: number | undefined;
  maxStateResidents?: number | undefined;
  /** The declared exposure scope: path patterns (`/api/:tenant/patients/**`), tenants, methods. */
  scopeRoutes?: readonly string[] | undefined;
  scopeTenants?: readonly string[] | undefined;
  scopeMethods?: readonly string[] | undefined;
  actor?: string | undefined;
  lookbackMs?: number | undefined;
}

/** Checks the responder's inputs; one clear message per fault. */
export function checkIncidentInput(input: OpenIncidentInput, now: number): void {
  if (!INCIDENT_ID.test(input.id))
    throw invalid(`incident id must be 1-64 letters, digits, _ . : or - (got ${JSON.stringify(input.id)})`);
  if (input.title.trim() === "" || input.title.length > 200)
    throw invalid("--title must be 1-200 characters");
  if (
    input.discoveryReason !== undefined &&
    (input.discoveryReason.trim() === "" || input.discoveryReason.length > 4000)
  )
    throw invalid("--discovery-reason must be text of 1-4000 characters");
  if (
    input.discovered !== undefined &&
    (!Number.isFinite(input.discovered) || input.discovered > now + 60_000)
  )
    throw invalid("--discovered must be a time in the past, like 2026-12-01T21:40:00Z");
  for (const name of input.dataClasses ?? [])
    if (!DATA_CLASS.test(name))
      throw invalid(
        `data class ${JSON.stringify(name)} must be lower-case letters, digits or -, like phi or pii`,
      );
  if (input.hipaaRole !== undefined && !HIPAA_ROLES.includes(input.hipaaRole))
    throw invalid(`--hipaa-role must be one of ${HIPAA_ROLES.join(", ")}`);
  if (input.gdprRole !== undefined && !GDPR_ROLES.includes(input.gdprRole))
    throw invalid(`--gdpr-role must be one of ${GDPR_ROLES.join(", ")}`);
  for (const [flag, term] of [
    ["baaTerm", input.baaTerm],
    ["dpaTerm", input.dpaTerm],
  ] as const)
    if (term !== undefined && parseDuration(term) === undefined)
      throw invalid(`${flag} must be a duration like 24h or 10d`);
  for (const [flag, n] of [
    ["--individuals", input.individuals],
    ["--max-state-residents", input.maxStateResidents],
  ] as const)
    if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw invalid(`${flag} must be a whole number`);
  checkScope(input);
}

/** The declared scope is stored comma-joined, so a comma can be in none of its parts. */
function checkScope(input: OpenIncidentInput): void {
  for (const route of input.scopeRoutes ?? []) {
    const parsed = parsePattern(route);
    if (typeof parsed === "string" || route.includes(","))
      throw invalid(
        `--scope-route ${JSON.stringify(route)} ${typeof parsed === "string" ? parsed : "may not contain a comma"}: give a path pattern like /api/:tenant/patients/**`,
      );
  }
  for (const tenant of input.scopeTenants ?? [])
    if (!SCOPE_TENANT.test(tenant))
      throw invalid(`--scope-tenant ${JSON.stringify(tenant)} must be a tenant id (letters, digits, _ . -)`);
  for (const method of input.scopeMethods ?? [])
    if (!/^[A-Z]{1,16}$/.test(method))
      throw invalid(`--scope-method ${JSON.stringify(method)} must be an HTTP method like GET or POST`);
}

const SCOPE_TENANT = /^[\w.-]{1,128}$/;

function scopeOf(input: OpenIncidentInput): Partial<IncidentRecord> {
  const unique = (items: readonly string[] | undefined) =>
    items === undefined || items.length === 0 ? undefined : [...new Set(items)];
  return {
    scopeRoutes: unique(input.scopeRoutes),
    scopeTenants: unique(input.scopeTenants),
    scopeMethods: unique(input.scopeMethods),
  };
}

export async function listIncidents(ctx: IncidentContext): Promise<IncidentRecord[]> {
  const ids = (await ctx.client.smembers(ctx.prefix + incidentKeys.all)).sort();
  const found = await Promise.all(ids.map((id) => getIncident(ctx, id)));
  return found.filter((x): x is IncidentRecord => x !== undefined).sort((a, b) => b.opened - a.opened);
}

/** Claims the id and records the incident in one step: a Redis failure never leaves a claimed id without its fields. */
const OPEN_SCRIPT = `
if redis.call('HSETNX', KEYS[1], 'id', ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`;

/**
 * Opens an incident; refuses an id already used (an incident's discovery time is evidence and is
 * never silently replaced). Copies the look-back window's aggregates at once; with
 * `onSnapshotError`, a failure of that copy (the incident is recorded by then) goes there instead
 * of being thrown.
 */
export async function openIncident(
  ctx: IncidentContext,
  input: OpenIncidentInput,
  options: { onSnapshotError?: (error: unknown) => void } & SnapshotOptions = {},
): Promise<IncidentRecord> {
  const now = (ctx.now ?? Date.now)();
  checkIncidentInput(input, now);
  const incident = strip({
    id: input.id,
    title: input.title.trim(),
    discovered: Math.floor(input.discovered ?? now),
    opened: now,
    dataClasses: [...new Set(input.dataClasses ?? [])],
    hipaaRole: input.hipaaRole,
    gdprRole: input.gdprRole,
    baaTerm: input.baaTerm,
    dpaTerm: input.dpaTerm,
    individuals: input.individuals,
    maxStateResidents: input.maxStateResidents,
    ...scopeOf(input),
    openedBy: input.actor,
    discoveryReason: input.discoveryReason?.trim() || undefined,
    discoveredBy: input.discoveryReason?.trim() ? input.actor : undefined,
  });
  const key = (name: string) => ctx.prefix + name;
  const hash = toHash(incident);
  hash.lookbackMs = String(input.lookbackMs ?? DEFAULT_LOOKBACK_MS);
  const claimed = Number(
    await ctx.client.eval(
      OPEN_SCRIPT,
      [key(incidentKeys.incident(incident.id)), key(incidentKeys.all)],
      [incident.id, ...Object.entries(hash).flat()],
    ),
  );
  if (claimed !== 1)
    throw new OpsError(
      "ERR_CONFLICT",
      `incident ${incident.id} exists already: pick another id, or see \`containment incident list\``,
    );
  try {
    await snapshotIncident(ctx, incident.id, undefined, options);
  } catch (error) {
    if (options.onSnapshotError === undefined) throw error;
    options.onSnapshotError(error);
  }
  return incident;
}

export async function closeIncident(
  ctx: IncidentContext,
  id: string,
  options: { actor?: string | undefined } & SnapshotOptions = {},
): Promise<IncidentRecord> {
  const incident = await getIncident(ctx, id);
  if (!incident) throw unknownIncident(id);
  if (incident.closed !== undefined)
    throw new OpsError(
      "ERR_CONFLICT",
      `incident ${id} was closed at ${new Date(incident.closed).toISOString()} already`,
    );
  const now = (ctx.now ?? Date.now)();
  await snapshotIncident(ctx, id, now, options);
  const fields = { closed: String(now), ...(options.actor ? { closedBy: options.actor } : {}) };
  await ctx.client.hset(ctx.prefix + incidentKeys.incident(id), fields);
  return { ...incident, closed: now, ...(options.actor ? { closedBy: options.actor } : {}) };
}
