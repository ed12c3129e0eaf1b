/**
 * The answer at the top of the dashboard: has the leak stopped, everywhere? Measured against the
 * open incident's DECLARED exposure scope (its routes, tenants and methods), never against the kill
 * switches' own scope, so a switch that misses a tenant, a method or a spelling reads NOT contained.
 * A pure function of what the mirror recorded (verdict-input.ts builds its input), so each state is
 * tested without Redis or a browser (docs/dashboard.md, the verdict):
 *
 * - `not-contained`: requests in scope were admitted in the last complete minute or the current one;
 *   each is named by route, method and tenant;
 * - `unknown`: nothing proves it either way, and the reasons say why: no scope declared, no traffic
 *   in scope, decisions the mirror lost or could not itemize, routes recorded more broadly than the
 *   scope, regions that served traffic in scope and did not confirm;
 * - `contained`: traffic in scope arrived, none was admitted, and every region that served traffic in
 *   scope confirmed with fresh, verified enforcement reports.
 */
import { compileScope, type DeclaredScope, type ScopeMatch } from "./scope-match.js";

/** Outcomes that served the request: a monitor-only rule logs and lets it through. */
const ADMITTED = new Set(["allow", "monitor"]);
/** Outcomes that refused it. `error` is neither: fail-open or fail-closed is not recorded per minute. */
const REFUSED = new Set(["block", "rate-limited"]);

/** Decisions of one minute, as counted (exact counts; the route as recorded). */
export interface ScopeRow {
  minute: number;
  route: string;
  method: string;
  tenant: string;
  outcome: string;
  n: number;
  /** When the source records it (isolate's region). */
  region?: string;
}

/** One decision seen with its region (an event), to know which regions served traffic in scope. */
export interface RegionSighting {
  minute: number;
  route: string;
  method: string;
  tenant: string;
  outcome: string;
  region: string;
}

/** One isolate heard from recently, with what its last enforcement report shows. */
export interface IsolateState {
  region: string;
  isolate: string;
  /** Time of its last report, ms. */
  lastSeen: number;
  /** Only a report whose MAC verified is a confirmation. */
  verified: boolean;
  /** Kill switches it enforces, `id@version`. */
  enforcing: readonly string[];
  /** Decisions it made that never reached Redis. */
  gap: number;
}

export interface VerdictInput {
  now: number;
  incident: string;
  /** Undefined when the incident was opened without one. */
  scope: DeclaredScope | undefined;
  rows: readonly ScopeRow[];
  sightings: readonly RegionSighting[];
  isolates: readonly IsolateState[];
  /** The incident's kill switches: a confirming region enforces each at this version or later. */
  switches: ReadonlyArray<{ id: string; version: number }>;
  /** minute → decisions beyond the mirror's cardinality cap (counted, not itemized). */
  overflow: Readonly<Record<number, number>>;
  /** An isolate not heard from for this long is silent. */
  freshMs: number;
  /** Minutes back (before the judged ones) a region counts as having served traffic in scope. */
  lookbackMinutes: number;
}

export interface AdmittedEntry {
  route: string;
  method: string;
  tenant: string;
  n: number;
  /** Minutes in which they were admitted. */
  minutes: number[];
  /** Regions seen admitting them (from events; may be empty when none was sampled). */
  regions: string[];
}

export interface RegionVerdict {
  region: string;
  /** Requests in scope it admitted in the judged minutes, as far as events show. */
  admitted: number;
  confirmed: boolean;
  /** What its isolates show, in a few words. */
  detail: string;
}

export interface Verdict {
  state: "contained" | "not-contained" | "unknown";
  /** One line: the answer. */
  headline: string;
  /** The last complete minute; the one after it is the current, partial minute. Both are judged. */
  minute: number;
  admitted: AdmittedEntry[];
  /** Requests in scope refused in the judged minutes. */
  refused: number;
  /** Only regions that served traffic in scope. */
  regions: RegionVerdict[];
  /** Why the answer is not `contained`. */
  reasons: string[];
  /** What limits the answer without changing it. */
  notes: string[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function utcMinute(minute: number): string {
  return `${new Date(minute * 60_000).toISOString().slice(11, 16)} UTC`;
}

function judgedRows(input: VerdictInput, from: number) {
  const scope = compileScope(input.scope as DeclaredScope);
  const sure: ScopeRow[] = [];
  const maybe: ScopeRow[] = [];
  for (const row of input.rows) {
    if (row.minute < from || row.n <= 0) continue;
    const match: ScopeMatch = scope.match(row);
    if (match === "yes") sure.push(row);
    else if (match === "maybe") maybe.push(row);
  }
  return { scope, sure, maybe };
}

function admittedEntries(rows: readonly ScopeRow[], sightings: readonly RegionSighting[]): AdmittedEntry[] {
  const byKey = new Map<string, AdmittedEntry>();
  for (const row of rows) {
    if (!ADMITTED.has(row.outcome)) continue;
    const key = `${row.route}|${row.method}|${row.tenant}`;
    const entry = byKey.get(key) ?? {
      route: row.route,
      method: row.method,
      tenant: row.tenant,
      n: 0,
      minutes: [],
      regions: [],
    };
    entry.n += row.n;
    if (!entry.minutes.includes(row.minute)) entry.minutes.push(row.minute);
    if (row.region && !entry.regions.includes(row.region)) entry.regions.push(row.region);
    byKey.set(key, entry);
  }
  for (const s of sightings) {
    if (!ADMITTED.has(s.outcome)) continue;
    const entry = byKey.get(`${s.route}|${s.method}|${s.tenant}`);
    if (entry && !entry.regions.includes(s.region)) entry.regions.push(s.region);
  }
  return [...byKey.values()]
    .map((e) => ({ ...e, minutes: e.minutes.sort((a, b) => a - b), regions: e.regions.sort() }))
    .sort((a, b) => b.n - a.n || a.route.localeCompare(b.route));
}

/** Why a region's isolates do not confirm, or undefined when they do. */
function unconfirmed(
  region: string,
  isolates: readonly IsolateState[],
  input: VerdictInput,
): string | undefined {
  const fresh = isolates.filter((i) => i.region === region && input.now - i.lastSeen <= input.freshMs);
  if (fresh.length === 0) {
    const last = Math.max(0, ...isolates.filter((i) => i.region === region).map((i) => i.lastSeen));
    return last > 0
      ? `silent: no enforcement report since ${new Date(last).toISOString().slice(11, 19)} UTC`
      : `silent: no enforcement report in the last ${Math.round(input.freshMs / 1000)} s`;
  }
  const unverified = fresh.filter((i) => !i.verified).length;
  if (unverified > 0)
    return `${plural(unverified, "isolate")} of ${fresh.length} sent reports that did not verify (is CONTAINMENT_REPORT_SECRET set for the dashboard?)`;
  for (const s of input.switches) {
    const lagging = fresh.filter((i) => !enforces(i, s)).length;
    if (lagging > 0)
      return `${plural(lagging, "isolate")} of ${fresh.length} not enforcing ${s.id}@${s.version} yet`;
  }
  return undefined;
}

function enforces(isolate: IsolateState, s: { id: string; version: number }): boolean {
  return isolate.enforcing.some((token) => {
    const at = token.lastIndexOf("@");
    const id = at < 0 ? token : token.slice(0, at);
    const version = at < 0 ? 0 : Number(token.slice(at + 1));
    return id === s.id && version >= s.version;
  });
}

function regionVerdicts(input: VerdictInput, from: number, sure: readonly ScopeRow[], notes: string[]) {
  const scope = compileScope(input.scope as DeclaredScope);
  const since = from - input.lookbackMinutes;
  const served = new Set<string>();
  const admittedBy = new Map<string, number>();
  for (const s of input.sightings) {
    if (s.minute < since || scope.match(s) !== "yes") continue;
    served.add(s.region);
    if (s.minute >= from && ADMITTED.has(s.outcome))
      admittedBy.set(s.region, (admittedBy.get(s.region) ?? 0) + 1);
  }
  for (const row of input.rows)
    if (row.region && row.minute >= since && scope.match(row) === "yes") served.add(row.region);
  if (served.size === 0 && sure.length > 0) {
    // Counted, but no event says where: every region heard from recently may have served it.
    for (const i of input.isolates) if (input.now - i.lastSeen <= input.freshMs) served.add(i.region);
    notes.push("which regions served the traffic in scope is not recorded: every reporting region counts");
  }
  return [...served].sort().map((region): RegionVerdict => {
    const why = unconfirmed(region, input.isolates, input);
    return {
      region,
      admitted: admittedBy.get(region) ?? 0,
      confirmed: why === undefined,
      detail: why ?? "confirmed: every isolate reports enforcing, verified",
    };
  });
}

function mirrorReasons(
  input: VerdictInput,
  from: number,
  maybe: readonly ScopeRow[],
  errors: number,
): string[] {
  const reasons: string[] = [];
  const maybeAdmitted = maybe.filter((r) => ADMITTED.has(r.outcome)).reduce((sum, r) => sum + r.n, 0);
  if (maybeAdmitted > 0) {
    const routes = [...new Set(maybe.filter((r) => ADMITTED.has(r.outcome)).map((r) => r.route))].slice(0, 3);
    reasons.push(
      `${plural(maybeAdmitted, "admitted request")} recorded as ${routes.join(", ")} may be in scope (recorded more broadly than the scope, or without a tenant)`,
    );
  }
  if (errors > 0)
    reasons.push(
      `${plural(errors, "decision")} in scope ended in an error (admitted if the rule fails open)`,
    );
  const overflow = Object.entries(input.overflow)
    .filter(([minute]) => Number(minute) >= from)
    .reduce((sum, [, n]) => sum + n, 0);
  if (overflow > 0)
    reasons.push(`${plural(overflow, "decision")} counted beyond the mirror's per-minute cap, route unknown`);
  // An isolate that went quiet within the look-back may have taken admitted requests with it.
  const since = (from - input.lookbackMinutes) * 60_000;
  const gaps = input.isolates.filter((i) => i.gap > 0 && i.lastSeen >= since);
  for (const i of gaps)
    reasons.push(`isolate ${i.region}:${i.isolate}: ${plural(i.gap, "decision")} never reached the mirror`);
  return reasons;
}

export function containmentVerdict(input: VerdictInput): Verdict {
  const minute = Math.floor(input.now / 60_000) - 1;
  const base = { minute, admitted: [], refused: 0, regions: [], notes: [] };
  if (input.scope === undefined || input.scope.routes.length === 0)
    return {
      ...base,
      state: "unknown",
      headline: `Unknown: incident ${input.incident} declares no exposure scope`,
      reasons: [
        `the verdict is measured against the routes and tenants the incident is about: open it with --scope-route (and --scope-tenant, --scope-method)`,
      ],
    };
  const { sure, maybe } = judgedRows(input, minute);
  const admitted = admittedEntries(
    sure,
    input.sightings.filter((s) => s.minute >= minute),
  );
  const refused = sure.filter((r) => REFUSED.has(r.outcome)).reduce((sum, r) => sum + r.n, 0);
  const errors = sure.filter((r) => r.outcome === "error").reduce((sum, r) => sum + r.n, 0);
  const reasons: string[] = [];
  const notes: string[] = [];
  const regions = regionVerdicts(input, minute, sure, notes);
  reasons.push(...mirrorReasons(input, minute, maybe, errors));
  const judged = `${utcMinute(minute)} (last complete minute) or since`;
  if (admitted.length > 0) {
    const total = admitted.reduce((sum, a) => sum + a.n, 0);
    const first = admitted[0] as AdmittedEntry;
    const more = admitted.length > 1 ? ` and ${plural(admitted.length - 1, "more")}` : "";
    return {
      ...base,
      state: "not-contained",
      headline: `NOT contained: ${plural(total, "request")} in scope admitted in ${judged}: ${first.method} ${first.route} (tenant ${first.tenant})${more}`,
      admitted,
      refused,
      regions,
      reasons,
      notes,
    };
  }
  if (sure.length === 0 && maybe.length === 0)
    reasons.unshift(`no requests in scope arrived in ${judged}: nothing shows whether the switches hold`);
  const silent = regions.filter((r) => !r.confirmed);
  for (const r of silent) reasons.push(`region ${r.region} not confirmed: ${r.detail}`);
  const blocking = sure.length > 0 && reasons.length === 0;
  return {
    ...base,
    state: blocking ? "contained" : "unknown",
    headline: blocking
      ? `Contained: ${plural(refused, "request")} in scope refused and none admitted in ${judged}; ${plural(regions.length, "region")} confirmed`
      : `Unknown: ${reasons[0]}`,
    refused,
    regions,
    reasons,
    notes,
  };
}
