/**
 * "This would have blocked 4,210 requests from 3 tenants": what a switch's match covered in the last
 * 15 minutes, from the all-decision traffic aggregates (`traffic:<minute>`). Where those are empty
 * (a deployment from before them), an estimate from the sampled `events` stream, labelled as one.
 * Hosts are not in the aggregates, so a host-scoped switch is previewed without that scope (an
 * overestimate, said so): for a warning before a block, too high is the safe side.
 */
import type { MatchSpec } from "../../rules/common.js";
import { type PatternSegment, parsePattern } from "../../rules/pattern.js";
import type { OpsContext } from "../context.js";
import { failureCause } from "../errors.js";

export const PREVIEW_MINUTES = 15;
/** The mirror's default share of sampled allows (`mirror.sampleAllows`). */
const DEFAULT_SAMPLE_ALLOWS = 0.01;

export interface Preview {
  source: "traffic" | "events-estimate" | "unavailable";
  minutes: number;
  requests: number;
  tenants: number;
  /** Busiest matching routes, most first. */
  routes: Array<{ route: string; n: number }>;
  notes: string[];
}

/** Does a route template (`/api/:tenant/export`) fall under the pattern? Template placeholders count as matches. */
export function routeMatches(pattern: readonly PatternSegment[], route: string): boolean {
  const segments = route
    .split("/")
    .slice(1)
    .filter((part, index, all) => part !== "" || index < all.length - 1);
  for (const [index, part] of pattern.entries()) {
    if (part.type === "rest") return true;
    const segment = segments[index];
    if (segment === undefined) return false;
    if (part.type === "literal" && segment.toLowerCase() !== part.value && !/^[:*]/.test(segment))
      return false;
  }
  return segments.length === pattern.length;
}

interface Row {
  route: string;
  method: string;
  tenant: string;
  n: number;
}

function matcher(match: MatchSpec): (row: Row) => boolean {
  const patterns = (Array.isArray(match.path) ? match.path : [match.path])
    .map((path) => parsePattern(path))
    .filter((parsed): parsed is PatternSegment[] => typeof parsed !== "string");
  const methods = match.methods === undefined ? undefined : new Set(match.methods);
  const tenants =
    match.tenants === undefined ? undefined : new Set(match.tenants.map((t) => t.toLowerCase()));
  return (row) =>
    (methods === undefined || methods.has(row.method.toUpperCase())) &&
    (tenants === undefined || tenants.has(row.tenant.toLowerCase())) &&
    patterns.some((pattern) => routeMatches(pattern, row.route));
}

function summarize(
  rows: readonly Row[],
  match: MatchSpec,
  source: Preview["source"],
  notes: string[],
): Preview {
  const covered = rows.filter(matcher(match));
  const byRoute = new Map<string, number>();
  const tenants = new Set<string>();
  let requests = 0;
  for (const row of covered) {
    requests += row.n;
    byRoute.set(row.route, (byRoute.get(row.route) ?? 0) + row.n);
    if (row.tenant !== "-" && row.tenant !== "") tenants.add(row.tenant.toLowerCase());
  }
  const routes = [...byRoute]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([route, n]) => ({ route, n: Math.round(n) }));
  if (match.hosts !== undefined)
    notes.push("hosts are not in the aggregates: counted without the host scope");
  return {
    source,
    minutes: PREVIEW_MINUTES,
    requests: Math.round(requests),
    tenants: tenants.size,
    routes,
    notes,
  };
}

/** What `match` covered in the last 15 minutes. Never throws: without Redis the preview says it is unavailable. */
export async function previewMatch(ctx: OpsContext, match: MatchSpec): Promise<Preview> {
  const empty = (note: string): Preview => ({
    source: "unavailable",
    minutes: PREVIEW_MINUTES,
    requests: 0,
    tenants: 0,
    routes: [],
    notes: [note],
  });
  if (ctx.reader === undefined) return empty("no Redis configured: cannot show what this would have blocked");
  const now = ctx.now();
  const to = Math.floor(now / 60_000);
  try {
    const traffic = await ctx.reader.traffic({ from: to - PREVIEW_MINUTES + 1, to });
    if (traffic.rows.length > 0) {
      const notes: string[] = [];
      const overflow = Object.values(traffic.overflow).reduce((sum, n) => sum + n, 0);
      if (overflow > 0)
        notes.push(`${overflow} decisions beyond the aggregates' cardinality cap are not itemized`);
      return summarize(traffic.rows, match, "traffic", notes);
    }
    const events = await ctx.reader.events({ sinceMs: now - PREVIEW_MINUTES * 60_000, limit: 10_000 });
    const rows = events.map((event) => ({
      route: event.fields.route ?? event.fields.path ?? "",
      method: event.fields.method ?? "",
      tenant: event.fields.tenant ?? "-",
      n: event.count * (event.fields.outcome === "allow" ? 1 / DEFAULT_SAMPLE_ALLOWS : 1),
    }));
    return summarize(rows, match, "events-estimate", [
      `estimate: no traffic aggregates yet, so counted from sampled events (allows × ${1 / DEFAULT_SAMPLE_ALLOWS})`,
    ]);
  } catch (error) {
    return empty(`the mirror could not be read (Redis ${failureCause(error)})`);
  }
}

export function describePreview(preview: Preview): string {
  if (preview.source === "unavailable") return `preview: ${preview.notes.join("; ")}`;
  const label = preview.source === "events-estimate" ? "about " : "";
  const head = `in the last ${preview.minutes} minutes this would have blocked ${label}${preview.requests.toLocaleString("en-US")} requests from ${preview.tenants} tenant${preview.tenants === 1 ? "" : "s"}`;
  const routes = preview.routes.map((r) => `${r.route} (${r.n.toLocaleString("en-US")})`).join(", ");
  return [head + (routes ? `: ${routes}` : ""), ...preview.notes.map((note) => `  (${note})`)].join("\n");
}
