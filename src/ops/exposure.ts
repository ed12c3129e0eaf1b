/**
 * Which recorded requests a pattern covers, after the fact (docs/recorded-format.md, "Answering a
 * pattern from shapes"): the one evaluation behind the kill preview, the report's "reached before
 * containment" and "affected tenants", `rules test` replay and the dashboard. Each row of the
 * mirror's `shapes` (src/stores/mirror/shape-rows.ts) is matched against a scope (patterns,
 * methods, hosts, tenants) segment by segment with the firewall's own pattern semantics
 * (src/rules/pattern.ts), whatever rule matched the request then:
 *
 * - **match**: every request of the row is inside the scope;
 * - **may**: some may be, and the row cannot tell which: a literal pattern segment that looks
 *   like an identifier against a redacted `:id` (a literal that does not look like one is never
 *   redacted, so it cannot be behind an `:id`), a host-scoped pattern against a row recorded
 *   without host, a tenant the row cannot name (`~undeclared`, in the tenant column or in the path
 *   segment that carried it), a folded field (`~other`, `~overflow-reserved`),
 *   or a format-1 row whose rule pattern only overlaps the scope;
 * - **none**.
 *
 * The exact count is the sum of matching rows; the upper bound adds the may rows. Where they are
 * equal a consumer prints one number; otherwise both, and why.
 */
import { redactPath } from "../core/redact.js";
import { type PatternSegment, parsePattern, patternList } from "../rules/pattern.js";
import {
  ANY_HOST,
  SHAPE_OTHER,
  SHAPE_OVERFLOW_RESERVED,
  TRAFFIC_OVERFLOW,
  UNDECLARED_TENANT,
} from "../stores/mirror/layout.js";
import type { ShapeRow } from "../stores/mirror/shape-rows.js";

export interface ExposureScope {
  path: string | readonly string[];
  methods?: readonly string[] | undefined;
  hosts?: readonly string[] | undefined;
  tenants?: readonly string[] | undefined;
}

export type Reach = "match" | "may" | "none";

/** Why a row was a `may`: said beside bounds. */
export type MayReason = "identifier" | "host" | "tenant" | "folded" | "format-1";

export interface RowReach {
  reach: Reach;
  /** The tenant the scope reads for this row (its `:tenant` segment, else the recorded one). */
  tenant: string;
  why?: MayReason;
}

export interface CompiledScope {
  readonly scope: ExposureScope;
  reach(row: ShapeRow): RowReach;
}

const TENANT_VALUE = /^[\w.-]{1,128}$/;
const REDACTED = ":id";

function segmentsOf(path: string): string[] {
  return path
    .split("/")
    .slice(1)
    .filter((part) => part !== "");
}

/** A literal the redaction would have turned into `:id`: only such a literal can hide behind one. */
function hidesAsId(literal: string): boolean {
  return redactPath([literal]) === `/${REDACTED}`;
}

interface PathReach {
  reach: Reach;
  params: Record<string, string>;
  why?: MayReason;
}

/** A route shape against one pattern (pattern.ts's matchPattern, with `:id` read as unknown). */
function shapeReach(pattern: readonly PatternSegment[], segments: readonly string[]): PathReach {
  const params: Record<string, string> = {};
  let reach: Reach = "match";
  let why: MayReason | undefined;
  const out = (): PathReach => (why === undefined ? { reach, params } : { reach, params, why });
  for (const [index, part] of pattern.entries()) {
    if (part.type === "rest") return out();
    const segment = segments[index];
    if (segment === undefined) return { reach: "none", params };
    if (part.type === "param") params[part.name] = segment;
    if (part.type !== "literal") continue;
    if (segment === REDACTED) {
      if (!hidesAsId(part.value)) return { reach: "none", params };
      reach = "may";
    } else if (segment === UNDECLARED_TENANT) {
      // An undeclared tenant's segment, recorded as the bucket: any literal may have been there.
      reach = "may";
      why ??= "tenant";
    } else if (segment.toLowerCase() !== part.value) return { reach: "none", params };
  }
  return segments.length === pattern.length ? out() : { reach: "none", params };
}

/** A format-1 route (a rule's pattern) against a scope pattern: inside it, overlapping it, or apart. */
function templateReach(pattern: readonly PatternSegment[], route: readonly string[]): PathReach {
  const params: Record<string, string> = {};
  let reach: Reach = "match";
  for (const [index, part] of pattern.entries()) {
    if (part.type === "rest") return { reach, params };
    const segment = route[index];
    if (segment === undefined) return { reach: "none", params };
    if (segment === "**") return { reach: "may", params };
    const wild = segment === "*" || segment.startsWith(":");
    if (part.type === "param") params[part.name] = wild ? REDACTED : segment;
    if (part.type !== "literal") continue;
    if (wild) reach = "may";
    else if (segment.toLowerCase() !== part.value) return { reach: "none", params };
  }
  if (route.length === pattern.length) return { reach, params };
  return route[pattern.length] === "**" && route.length === pattern.length + 1
    ? { reach: "may", params }
    : { reach: "none", params };
}

function weaker(a: Reach, b: Reach): Reach {
  if (a === "none" || b === "none") return "none";
  return a === "may" || b === "may" ? "may" : "match";
}

function hostMatches(hosts: readonly string[], host: string): boolean {
  return hosts.some((h) => (h.startsWith("*.") ? host.endsWith(h.slice(1)) : h === host));
}

/** Methods the firewall checks a method-scoped rule against (src/core/request.ts): HEAD is GET too. */
function methodReach(methods: ReadonlySet<string> | undefined, method: string): Reach {
  if (methods === undefined || methods.has(method)) return "match";
  if (method === "*") return "may";
  if (method === "HEAD" && methods.has("GET")) return "match";
  // A preflight is checked against the method it announces, which no row records.
  return method === "OPTIONS" ? "may" : "none";
}

const FOLDED = new Set([SHAPE_OTHER, SHAPE_OVERFLOW_RESERVED, TRAFFIC_OVERFLOW]);

/** Compiles a scope once; `reach` then answers per row. */
export function compileScope(scope: ExposureScope): CompiledScope {
  const patterns = patternList(scope.path)
    .map((path) => parsePattern(path))
    .filter((parsed): parsed is readonly PatternSegment[] => typeof parsed !== "string");
  const methods = scope.methods ? new Set(scope.methods.map((m) => m.toUpperCase())) : undefined;
  const tenants = scope.tenants ? new Set(scope.tenants.map((t) => t.toLowerCase())) : undefined;
  return {
    scope,
    reach(row) {
      const recorded = row.tenant;
      const method = methodReach(methods, row.method.toUpperCase());
      if (method === "none") return { reach: "none", tenant: recorded };
      if (FOLDED.has(row.shape)) return tenantReach(tenants, recorded, "may", "folded");
      let path: PathReach = { reach: "none", params: {} };
      const segments = segmentsOf(row.shape);
      for (const pattern of patterns) {
        const found = row.format === 1 ? templateReach(pattern, segments) : shapeReach(pattern, segments);
        if (found.reach === "match" || (found.reach === "may" && path.reach === "none")) path = found;
        if (path.reach === "match") break;
      }
      if (path.reach === "none") return { reach: "none", tenant: recorded };
      let why: MayReason | undefined =
        path.reach === "may" ? (path.why ?? (row.format === 1 ? "format-1" : "identifier")) : undefined;
      let reach = weaker(path.reach, method);
      if (method === "may") why ??= "folded";
      if (scope.hosts && !(row.host !== ANY_HOST && hostMatches(scope.hosts, row.host))) {
        if (row.host !== ANY_HOST) return { reach: "none", tenant: recorded };
        reach = weaker(reach, "may");
        why ??= "host";
      }
      // The firewall reads a pattern's own `:tenant` first (rules/tenancy.ts addressedTenant).
      const segment = path.params.tenant;
      const tenant =
        segment !== undefined && segment !== REDACTED && TENANT_VALUE.test(segment) ? segment : recorded;
      return tenantReach(tenants, tenant, reach, why);
    },
  };
}

function tenantReach(
  tenants: ReadonlySet<string> | undefined,
  tenant: string,
  reach: Reach,
  why: MayReason | undefined,
): RowReach {
  const out = (r: Reach, w: MayReason | undefined): RowReach =>
    r === "may" && w !== undefined ? { reach: r, tenant, why: w } : { reach: r, tenant };
  if (tenants === undefined) return out(reach, why);
  if (tenant === UNDECLARED_TENANT) return out(weaker(reach, "may"), why ?? "tenant");
  return tenants.has(tenant.toLowerCase()) ? out(reach, why) : out("none", undefined);
}

export interface Bounds {
  /** Requests certainly inside the scope. */
  exact: number;
  /** `exact` plus every request that may be. */
  upper: number;
  /** Why `upper` exceeds `exact`, one per kind of doubt. */
  why: MayReason[];
}

export function emptyBounds(): Bounds {
  return { exact: 0, upper: 0, why: [] };
}

export function addTo(bounds: Bounds, reach: RowReach, n: number): void {
  if (reach.reach === "none") return;
  bounds.upper += n;
  if (reach.reach === "match") bounds.exact += n;
  else if (reach.why && !bounds.why.includes(reach.why)) bounds.why.push(reach.why);
}

/** What each doubt means, for a line beside bounds. */
export const MAY_REASONS: Readonly<Record<MayReason, string>> = {
  identifier: "the pattern names a literal that looks like an identifier, which shapes record as :id",
  host: "hosts were not recorded then (no rule scoped by host)",
  tenant:
    "some requests named no tenant the document declares (recorded as ~undeclared, their tenant unknown)",
  folded:
    "the mirror's per-minute cardinality cap was reached: some requests were counted without their route",
  "format-1":
    "minutes written before recorded format 2 are counted by the pattern of the rule that matched, which overlaps this scope",
};

/** `12` when exact, `12–40` otherwise. */
export function boundsText(bounds: Bounds): string {
  const exact = bounds.exact.toLocaleString("en-US");
  return bounds.upper === bounds.exact ? exact : `${exact}–${bounds.upper.toLocaleString("en-US")}`;
}

/** Admitted: not refused at the edge. A folded format-1 row has no outcome (`*`): it may be either. */
export function admittedReach(outcome: string): Reach {
  if (outcome === "block" || outcome === "rate-limited") return "none";
  return outcome === "*" ? "may" : "match";
}
