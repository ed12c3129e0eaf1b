/**
 * Whether a mirrored route (a rule's route template or a redacted path, as the traffic aggregates
 * store it) lies inside a rule's path pattern. The aggregates never hold raw paths, so the answer is
 * about what the aggregate can prove: a redacted `:id` segment lies inside `*` or `:name`, never
 * inside a literal; `**` in the route lies inside the pattern only where the pattern has `**` too.
 */
import { parsePattern, patternList } from "../../rules/pattern.js";

export interface ScopeMatch {
  path: string | readonly string[];
  methods?: readonly string[] | undefined;
  tenants?: readonly string[] | undefined;
}

function segmentsOf(route: string): string[] {
  return route
    .split("/")
    .slice(1)
    .filter((part) => part !== "");
}

const WILD = /^(:[\w]+|\*)$/;

/** `route` (e.g. `/api/:tenant/export`) lies inside `pattern` (e.g. `/api/*\/export`). */
export function routeWithin(pattern: string, route: string, tenant?: string): boolean {
  const parsed = parsePattern(pattern);
  if (typeof parsed === "string") return false;
  const parts = segmentsOf(route);
  for (const [index, part] of parsed.entries()) {
    if (part.type === "rest") return true;
    let segment = parts[index];
    if (segment === undefined || segment === "**") return false;
    if (segment === ":tenant" && tenant !== undefined && tenant !== "-") segment = tenant;
    if (part.type === "literal" && (WILD.test(segment) || segment.toLowerCase() !== part.value)) return false;
  }
  return parts.length === parsed.length;
}

/** A traffic row (route, method, tenant) is inside a rule's match scope. */
export function rowInScope(scope: ScopeMatch, route: string, method: string, tenant: string): boolean {
  if (scope.methods && !scope.methods.includes(method.toUpperCase())) return false;
  if (scope.tenants && !scope.tenants.some((t) => t.toLowerCase() === tenant.toLowerCase())) return false;
  const patterns = patternList(scope.path);
  return patterns.some((pattern) => routeWithin(pattern, route, tenant));
}
