/**
 * What still blocks a route after a lift (docs/runbook.md, "Lifting"): the other kill switches in
 * force whose paths share a path with it, and the rules of the document whose scope overlaps it.
 * Read from the store after the lift, so a responder sees whether the route is open again or not.
 */
import { killSwitchIdOf, RULES_ITEM } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import type { MatchSpec } from "../../rules/common.js";
import { type PatternSegment, parsePattern } from "../../rules/pattern.js";
import type { OpsContext } from "../context.js";
import { patternsOverlap } from "../known-routes.js";
import { readStore } from "./edge-config-snapshot.js";
import { asSwitch, describeMatch } from "./switch-item.js";
import { inForce } from "./switch-scope.js";

export interface StillBlocking {
  switches: Array<{ id: string; incident: string | undefined; match: string }>;
  rules: Array<{ id: string; kind: string; match: string }>;
}

function parsedPaths(match: MatchSpec | undefined): Array<readonly PatternSegment[]> {
  if (match === undefined) return [];
  const paths = Array.isArray(match.path) ? match.path : [match.path];
  return paths
    .map((path) => parsePattern(path))
    .filter((p): p is readonly PatternSegment[] => typeof p !== "string");
}

function overlaps(a: MatchSpec | undefined, b: MatchSpec | undefined): boolean {
  const x = parsedPaths(a);
  return parsedPaths(b).some((q) => x.some((p) => patternsOverlap(p, q)));
}

/** What in `items` still blocks some request `lifted` matched (scopes of tenants etc. aside: a path shared is named). */
export function stillBlocking(
  items: ReadonlyMap<string, Json>,
  lifted: MatchSpec,
  now: number,
): StillBlocking {
  const out: StillBlocking = { switches: [], rules: [] };
  for (const [key, value] of items) {
    const id = killSwitchIdOf(key);
    const item = id === undefined ? undefined : asSwitch(value);
    if (id === undefined || item === undefined || !inForce(item, now) || !overlaps(item.match, lifted))
      continue;
    out.switches.push({ id, incident: item.incident, match: describeMatch(item.match) });
  }
  const doc = items.get(RULES_ITEM) as { rules?: unknown } | undefined;
  const rules = Array.isArray(doc?.rules) ? doc.rules : [];
  for (const rule of rules as Array<{ id?: unknown; kind?: unknown; match?: MatchSpec; enabled?: unknown }>) {
    if (rule === null || typeof rule !== "object" || rule.enabled === false) continue;
    if (typeof rule.id !== "string" || !overlaps(rule.match, lifted)) continue;
    out.rules.push({
      id: rule.id,
      kind: String(rule.kind ?? "rule"),
      match: describeMatch(rule.match as MatchSpec),
    });
  }
  return out;
}

/** The store as it is now, asked what still blocks `lifted`; undefined when it cannot be read. */
export async function stillBlockingNow(
  ctx: OpsContext,
  lifted: MatchSpec,
): Promise<StillBlocking | undefined> {
  try {
    return stillBlocking((await readStore(ctx)).items, lifted, ctx.now());
  } catch {
    return undefined;
  }
}

/** One line for the responder. */
export function describeStillBlocking(route: string, still: StillBlocking | undefined): string {
  if (still === undefined) return `${route}: could not read Edge Config again to say what else blocks it`;
  const parts = [
    ...still.switches.map((s) => `kill switch ${s.id} (${s.incident ?? "no incident"}: ${s.match})`),
    ...still.rules.map((r) => `${r.kind} rule ${r.id} (${r.match})`),
  ];
  return parts.length === 0
    ? `${route}: nothing else blocks it now (no other kill switch or rule on this route)`
    : `${route} is still covered by ${parts.join(", ")}`;
}
