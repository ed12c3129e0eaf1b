/**
 * "This would have blocked 4,210 requests from 3 tenants": what a switch's match covered in the last
 * 15 minutes, from the mirror's route shapes (every decision, whatever rule matched it; evaluated by
 * src/ops/exposure.ts, docs/recorded-format.md). Where shapes cannot tell (a cap was reached, hosts
 * were not recorded, an identifier-like literal) the preview gives bounds and says why. Where the
 * mirror holds no aggregates at all, an estimate from the sampled `events` stream, labelled as one.
 */
import type { MatchSpec } from "../../rules/common.js";
import { ANY_HOST, UNDECLARED_TENANT } from "../../stores/mirror/layout.js";
import type { ShapeRow } from "../../stores/mirror/shape-rows.js";
import type { OpsContext } from "../context.js";
import { failureCause } from "../errors.js";
import { addTo, type Bounds, boundsText, compileScope, emptyBounds, MAY_REASONS } from "../exposure.js";

export const PREVIEW_MINUTES = 15;
/** The mirror's default share of sampled allows (`mirror.sampleAllows`). */
const DEFAULT_SAMPLE_ALLOWS = 0.01;

export interface Preview {
  source: "shapes" | "events-estimate" | "unavailable";
  minutes: number;
  /** Requests certainly inside the match. */
  requests: number;
  /** Requests that may be (equal to `requests` when the shapes tell exactly). */
  upper: number;
  tenants: number;
  /** Busiest matching routes, most first. */
  routes: Array<{ route: string; n: number }>;
  notes: string[];
}

function summarize(
  rows: readonly ShapeRow[],
  match: MatchSpec,
  source: Preview["source"],
  notes: string[],
): Preview {
  const scope = compileScope(match);
  const bounds: Bounds = emptyBounds();
  const byRoute = new Map<string, number>();
  const tenants = new Set<string>();
  for (const row of rows) {
    const reach = scope.reach(row);
    addTo(bounds, reach, row.n);
    if (reach.reach !== "match") continue;
    byRoute.set(row.shape, (byRoute.get(row.shape) ?? 0) + row.n);
    if (reach.tenant !== UNDECLARED_TENANT) tenants.add(reach.tenant.toLowerCase());
  }
  const routes = [...byRoute]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([route, n]) => ({ route, n: Math.round(n) }));
  for (const why of bounds.why)
    notes.push(`up to ${Math.round(bounds.upper - bounds.exact)} more: ${MAY_REASONS[why]}`);
  return {
    source,
    minutes: PREVIEW_MINUTES,
    requests: Math.round(bounds.exact),
    upper: Math.round(bounds.upper),
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
    upper: 0,
    tenants: 0,
    routes: [],
    notes: [note],
  });
  if (ctx.reader === undefined) return empty("no Redis configured: cannot show what this would have blocked");
  const now = ctx.now();
  const to = Math.floor(now / 60_000);
  try {
    const shapes = await ctx.reader.shapes({ from: to - PREVIEW_MINUTES + 1, to });
    if (shapes.length > 0) return summarize(shapes, match, "shapes", []);
    const events = await ctx.reader.events({ sinceMs: now - PREVIEW_MINUTES * 60_000, limit: 10_000 });
    const rows = events.map(
      (event): ShapeRow => ({
        minute: Math.floor(event.last / 60_000),
        host: event.fields.host ?? ANY_HOST,
        // Single events carry the shape (`path`); aggregates only the rule's pattern.
        shape: event.fields.path ?? event.fields.route ?? "",
        method: event.fields.method ?? "",
        tenant: event.fields.tenant ?? UNDECLARED_TENANT,
        outcome: event.fields.outcome ?? "",
        n: event.count * (event.fields.outcome === "allow" ? 1 / DEFAULT_SAMPLE_ALLOWS : 1),
        format: event.fields.path ? 2 : 1,
      }),
    );
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
  const count =
    preview.upper > preview.requests
      ? `between ${boundsText({ exact: preview.requests, upper: preview.upper, why: [] }).replace("–", " and ")}`
      : preview.requests.toLocaleString("en-US");
  const head = `in the last ${preview.minutes} minutes this would have blocked ${label}${count} requests from ${preview.tenants} tenant${preview.tenants === 1 ? "" : "s"}`;
  const routes = preview.routes.map((r) => `${r.route} (${r.n.toLocaleString("en-US")})`).join(", ");
  return [head + (routes ? `: ${routes}` : ""), ...preview.notes.map((note) => `  (${note})`)].join("\n");
}
