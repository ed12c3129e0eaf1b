/**
 * Whether a recorded decision falls in an incident's declared exposure scope (docs/dashboard.md, the
 * verdict). The recorded route is a redacted path (`/api/acme/patients/:id`) or, while the mirror
 * keys traffic by the deciding rule, that rule's pattern (`/api/:tenant/**`); either may be broader
 * than the scope, so the answer has three values: `yes`, `maybe` (a recorded `:id`, `*` or `**`
 * stands where the scope names a literal, or the tenant is not known) and `no`.
 */
import { type PatternSegment, parsePattern } from "../rules/pattern.js";
import { UNDECLARED_TENANT } from "../stores/mirror/layout.js";

export type ScopeMatch = "yes" | "maybe" | "no";

export interface DeclaredScope {
  /** Path patterns; at least one. */
  routes: readonly string[];
  /** Tenants (compared case-insensitively); empty: every tenant. */
  tenants: readonly string[];
  /** Methods; empty: every method. */
  methods: readonly string[];
}

/** Tenant columns that mean "no tenant known" (the mirror's `-`, version 2's `~undeclared`). */
const UNKNOWN_TENANTS = new Set(["", "-", UNDECLARED_TENANT]);

const RANK: Record<ScopeMatch, number> = { no: 0, maybe: 1, yes: 2 };
const weakest = (a: ScopeMatch, b: ScopeMatch): ScopeMatch => (RANK[a] <= RANK[b] ? a : b);
const strongest = (a: ScopeMatch, b: ScopeMatch): ScopeMatch => (RANK[a] >= RANK[b] ? a : b);

type Recorded = { kind: "literal"; value: string } | { kind: "one" } | { kind: "rest" };

function recordedSegments(route: string): Recorded[] {
  if (route === "/" || route === "") return [];
  return route
    .split("/")
    .slice(1)
    .map((part): Recorded => {
      if (part === "**") return { kind: "rest" };
      // An undeclared tenant's segment, recorded as the bucket: any one segment may have been there.
      if (part === "*" || part.startsWith(":") || part === UNDECLARED_TENANT) return { kind: "one" };
      return { kind: "literal", value: part.toLowerCase() };
    });
}

/** One scope pattern against one recorded route (a path or a rule's pattern). */
export function matchRoute(pattern: readonly PatternSegment[], route: string): ScopeMatch {
  const recorded = recordedSegments(route);
  let result: ScopeMatch = "yes";
  for (const [index, part] of pattern.entries()) {
    if (part.type === "rest") return result;
    const seen = recorded[index];
    if (seen === undefined) return "no";
    // A recorded `**` covers paths both inside and outside the scope.
    if (seen.kind === "rest") return "maybe";
    if (part.type === "literal") {
      if (seen.kind === "one") result = weakest(result, "maybe");
      else if (seen.value !== part.value) return "no";
    }
  }
  return recorded.length === pattern.length ? result : "no";
}

export interface CompiledScope {
  match(row: { route: string; method: string; tenant: string }): ScopeMatch;
}

/** Compiles the scope once; patterns that do not parse were refused when the incident was opened. */
export function compileScope(scope: DeclaredScope): CompiledScope {
  const patterns = scope.routes
    .map((route) => parsePattern(route))
    .filter((p): p is readonly PatternSegment[] => typeof p !== "string");
  const tenants = new Set(scope.tenants.map((t) => t.toLowerCase()));
  const methods = new Set(scope.methods.map((m) => m.toUpperCase()));
  return {
    match(row) {
      if (methods.size > 0 && !methods.has(row.method.toUpperCase())) return "no";
      let route: ScopeMatch = "no";
      for (const pattern of patterns) route = strongest(route, matchRoute(pattern, row.route));
      if (route === "no" || tenants.size === 0) return route;
      const tenant = row.tenant.toLowerCase();
      if (UNKNOWN_TENANTS.has(tenant)) return "maybe";
      return tenants.has(tenant) ? route : "no";
    },
  };
}
