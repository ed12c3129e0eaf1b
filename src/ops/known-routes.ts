/**
 * The routes the app is known to have, so a kill or rules push on a misspelled route is caught
 * before it is written (docs/runbook.md, "A route nobody has"): Next.js's own route manifests when
 * the project was built (`.next/routes-manifest.json`, `.next/app-path-routes-manifest.json`), and
 * the path shapes of recorded traffic. `knownRoutes` is the one entry point; `recordedShapes` is the
 * one place that says where recorded shapes come from.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type PatternSegment, parsePattern } from "../rules/pattern.js";
import { UNDECLARED_TENANT } from "../stores/mirror/layout.js";
import type { OpsContext } from "./context.js";

export interface KnownRoutes {
  /** Route patterns (`/api/:tenant/patients/:id/export`, `/docs/**`), deduplicated. */
  routes: string[];
  /** Where they came from, for the message: `next manifest`, `recorded traffic`. */
  sources: string[];
  /** Why a source could not be read (Redis down), one phrase each. */
  notes: string[];
}

/** How far back recorded traffic counts as "the app has this route". */
const RECORDED_WINDOW_MS = 7 * 24 * 60 * 60_000;
const RECORDED_LIMIT = 10_000;

/** `[param]` → `:param`, `[...x]` and `[[...x]]` → `**`, route groups `(group)` dropped. */
export function nextRouteToPattern(route: string): string | undefined {
  const out: string[] = [];
  for (const part of route.split("/").filter((p) => p !== "")) {
    if (/^\(.*\)$/.test(part) || part.startsWith("@")) continue;
    const catchAll = /^\[\[?\.\.\.[^\]]+\]\]?$/.test(part);
    if (catchAll) {
      out.push("**");
      break;
    }
    const param = /^\[([A-Za-z_]\w{0,31})\]$/.exec(part);
    out.push(param ? `:${param[1]}` : part);
  }
  const pattern = `/${out.join("/")}`.replace(/\/(page|route)$/, "") || "/";
  return typeof parsePattern(pattern) === "string" ? undefined : pattern;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** The routes of a built Next.js app in `projectDir`; empty when it has no `.next` manifests. */
export async function manifestRoutes(projectDir: string): Promise<string[]> {
  const found: string[] = [];
  const routes = (await readJson(join(projectDir, ".next", "routes-manifest.json"))) as
    | { staticRoutes?: Array<{ page?: unknown }>; dynamicRoutes?: Array<{ page?: unknown }> }
    | undefined;
  for (const entry of [...(routes?.staticRoutes ?? []), ...(routes?.dynamicRoutes ?? [])])
    if (typeof entry?.page === "string") found.push(entry.page);
  const app = await readJson(join(projectDir, ".next", "app-path-routes-manifest.json"));
  if (app !== null && typeof app === "object")
    for (const value of Object.values(app)) if (typeof value === "string") found.push(value);
  return found.map(nextRouteToPattern).filter((p): p is string => p !== undefined);
}

/** How far back the per-minute route shapes are read (one round trip; events reach further back). */
const SHAPES_WINDOW_MINUTES = 6 * 60;

/**
 * The route shapes of recorded traffic (identifiers already redacted to `:id` by the isolates):
 * every decision of the last hours from `shapes:<minute>` (docs/recorded-format.md), whatever rule
 * matched, plus the sampled events' paths of the last week. Folded fields (`~other`) and format-1
 * minutes (a rule's pattern, not a route) are not routes the app is known to have.
 */
export async function recordedShapes(ctx: OpsContext): Promise<string[]> {
  if (ctx.reader === undefined) return [];
  const minute = Math.floor(ctx.now() / 60_000);
  const [rows, events] = await Promise.all([
    ctx.reader.shapes({ from: minute - SHAPES_WINDOW_MINUTES + 1, to: minute }),
    ctx.reader.events({ sinceMs: ctx.now() - RECORDED_WINDOW_MS, limit: RECORDED_LIMIT }),
  ]);
  const shapes = rows.filter((row) => row.format === 2).map((row) => row.shape);
  const paths = events
    .filter((event) => event.fields.kind !== "source")
    .map((event) => event.fields.path ?? event.fields.route ?? "");
  // An undeclared tenant's segment was recorded as the bucket: the route had some tenant there.
  const routes = [...shapes, ...paths].map((path) =>
    path
      .split("/")
      .map((segment) => (segment === UNDECLARED_TENANT ? "*" : segment))
      .join("/"),
  );
  return [...new Set(routes)].filter(
    (path) => path.startsWith("/") && typeof parsePattern(path) !== "string",
  );
}

export async function knownRoutes(ctx: OpsContext, projectDir = ctx.config.cwd): Promise<KnownRoutes> {
  const sources: string[] = [];
  const notes: string[] = [];
  const manifest = await manifestRoutes(projectDir);
  if (manifest.length > 0) sources.push("the Next.js route manifest");
  let recorded: string[] = [];
  try {
    recorded = await recordedShapes(ctx);
  } catch {
    notes.push("recorded traffic could not be read (Redis unavailable)");
  }
  if (recorded.length > 0) sources.push("recorded traffic");
  return { routes: [...new Set([...manifest, ...recorded])], sources, notes };
}

/** Whether some path both patterns match (segment by segment; `**` matches any rest). */
export function patternsOverlap(a: readonly PatternSegment[], b: readonly PatternSegment[]): boolean {
  for (let index = 0; ; index++) {
    const x = a[index];
    const y = b[index];
    if (x?.type === "rest" || y?.type === "rest") return true;
    if (x === undefined || y === undefined) return x === y;
    if (x.type === "literal" && y.type === "literal" && x.value !== y.value) return false;
  }
}

function segmentText(segment: PatternSegment): string {
  if (segment.type === "literal") return segment.value;
  if (segment.type === "param") return `:${segment.name}`;
  return segment.type === "rest" ? "**" : "*";
}

/** Edit distance of two strings (small: path segments). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/** A literal that is a parameter written in another router's syntax: `{tenant}`, `[id]`, `<id>`, `$id`. */
const FOREIGN_PARAM = /^(\{[^}]*\}|\[[^\]]*\]|<[^>]*>|\$\w+)$/;

/**
 * Distance of two patterns, segment by segment: a placeholder (`:x`, `*`) against a placeholder or
 * any literal costs nothing (a parameter's name is not part of the route), two literals cost their
 * normalized edit distance, a missing or extra segment costs 1.
 */
export function routeDistance(a: string, b: string): number {
  const x = parsePattern(a);
  const y = parsePattern(b);
  if (typeof x === "string" || typeof y === "string") return Number.POSITIVE_INFINITY;
  let cost = Math.abs(x.length - y.length);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] as PatternSegment;
    const q = y[i] as PatternSegment;
    if (p.type === "literal" && FOREIGN_PARAM.test(p.value) && q.type !== "literal") {
      cost += 0.2;
      continue;
    }
    if (p.type !== "literal" || q.type !== "literal") {
      cost += p.type === "rest" || q.type === "rest" ? (p.type === q.type ? 0 : 0.5) : 0;
      continue;
    }
    const text = [segmentText(p), segmentText(q)];
    const longest = Math.max(text[0]?.length ?? 0, text[1]?.length ?? 0, 1);
    cost += editDistance(text[0] ?? "", text[1] ?? "") / longest;
  }
  return cost;
}

/** A known route as a kill switch may be written: itself, and without a leading parameter (see withoutLeadingParam). */
function spellings(route: string): string[] {
  const parsed = parsePattern(route);
  if (typeof parsed === "string") return [route];
  return withoutLeadingParam(parsed).map((segments) => `/${segments.map(segmentText).join("/")}`);
}

/** Up to `count` known routes nearest to `pattern`, nearest first. */
export function nearestRoutes(pattern: string, routes: readonly string[], count = 3): string[] {
  return [...new Set(routes.flatMap(spellings))]
    .map((route) => ({ route, d: routeDistance(pattern, route) }))
    .filter(({ d }) => Number.isFinite(d))
    .sort((a, b) => a.d - b.d || a.route.localeCompare(b.route))
    .slice(0, count)
    .map(({ route }) => route);
}

/**
 * A known route, and the same route without its first segment when that is a parameter: an i18n
 * library's `app/[locale]/account/export` serves `/de/account/export`, which a kill switch on
 * `/account/export` blocks (a locale-shaped first segment is read without it: docs/rules.md,
 * "Locale prefixes"), so `/account/export` is a route the app has.
 */
function withoutLeadingParam(route: readonly PatternSegment[]): Array<readonly PatternSegment[]> {
  return route[0]?.type === "param" && route.length > 1 ? [route, route.slice(1)] : [route];
}

/** The patterns of `patterns` that overlap no known route (all of them fine when none are known). */
export function unknownPatterns(patterns: readonly string[], known: readonly string[]): string[] {
  const parsedKnown = known
    .map((route) => parsePattern(route))
    .filter((p): p is readonly PatternSegment[] => typeof p !== "string")
    .flatMap(withoutLeadingParam);
  if (parsedKnown.length === 0) return [];
  return patterns.filter((pattern) => {
    const parsed = parsePattern(pattern);
    if (typeof parsed === "string") return false;
    if (parsed.some((s) => s.type === "literal" && FOREIGN_PARAM.test(s.value))) return true;
    return !parsedKnown.some((route) => patternsOverlap(parsed, route));
  });
}
