/**
 * Rules in Edge Config (the item `containment`): pull, diff against what is live (rules added,
 * removed, changed field by field), and push: refused before sending when the firewall would reject
 * it or the store would exceed the plan; written as create/update of the item as read; audited.
 */
import { type DigestedSwitch, rulesetDigest } from "../../core/digest.js";
import { KILL_SWITCH_PREFIX, RULES_ITEM } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import { checkDocument } from "../../rules/check.js";
import type { RulesDocument } from "../../rules/document.js";
import { canonicalJson } from "../audit/index.js";
import type { OpsContext } from "../context.js";
import { OpsError } from "../errors.js";
import { knownRoutes, nearestRoutes, unknownPatterns } from "../known-routes.js";
import { applyChange, type ChangeOutcome } from "./change.js";
import { readStore, type SizeReport, sizeReport } from "./edge-config-snapshot.js";

export interface FieldChange {
  path: string;
  before: Json | undefined;
  after: Json | undefined;
}

export interface RulesDiff {
  added: string[];
  removed: string[];
  changed: Array<{ id: string; fields: FieldChange[] }>;
  /** Top-level fields other than `rules` (mode, tenants, …). */
  document: FieldChange[];
  same: boolean;
}

function fieldChanges(
  before: Json | undefined,
  after: Json | undefined,
  path: string,
  out: FieldChange[],
): void {
  if (before !== undefined && after !== undefined && canonicalJson(before) === canonicalJson(after)) return;
  const isObject = (v: Json | undefined): v is { [key: string]: Json } =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObject(before) && isObject(after)) {
    for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort())
      fieldChanges(before[key], after[key], `${path}.${key}`, out);
    return;
  }
  out.push({ path, before, after });
}

type RuleLike = { id: string } & Record<string, Json>;

export function diffRules(live: Json | undefined, next: Json): RulesDiff {
  const rulesOf = (doc: Json | undefined): Map<string, RuleLike> => {
    const list = (doc as { rules?: RuleLike[] } | undefined)?.rules ?? [];
    return new Map(list.map((rule) => [rule.id, rule]));
  };
  const before = rulesOf(live);
  const after = rulesOf(next);
  const diff: RulesDiff = { added: [], removed: [], changed: [], document: [], same: false };
  for (const id of after.keys()) if (!before.has(id)) diff.added.push(id);
  for (const id of before.keys()) if (!after.has(id)) diff.removed.push(id);
  for (const [id, rule] of after) {
    const old = before.get(id);
    if (old === undefined) continue;
    const fields: FieldChange[] = [];
    fieldChanges(old as unknown as Json, rule as unknown as Json, "", fields);
    if (fields.length > 0)
      diff.changed.push({ id, fields: fields.map((f) => ({ ...f, path: f.path.replace(/^\./, "") })) });
  }
  const strip = (doc: Json | undefined): Json | undefined => {
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return doc;
    const { rules: _rules, ...rest } = doc;
    return rest;
  };
  fieldChanges(strip(live), strip(next), "", diff.document);
  diff.document = diff.document.map((f) => ({ ...f, path: f.path.replace(/^\./, "") || "(document)" }));
  diff.same = diff.added.length + diff.removed.length + diff.changed.length + diff.document.length === 0;
  return diff;
}

export async function pullRules(ctx: OpsContext): Promise<Json | undefined> {
  return (await readStore(ctx)).items.get(RULES_ITEM);
}

export interface PushPlan {
  document: RulesDocument;
  before: Json | undefined;
  diff: RulesDiff;
  size: SizeReport;
  anchor: Json | undefined;
  /** The kill-switch items as read: with the document they make the digest isolates will report. */
  switches: DigestedSwitch[];
}

/** Patterns of the rules a push adds, or whose match it changes: the ones checked against known routes. */
function newPatterns(diff: RulesDiff, document: RulesDocument): string[] {
  const touched = new Set([
    ...diff.added,
    ...diff.changed.filter((c) => c.fields.some((f) => f.path.startsWith("match"))).map((c) => c.id),
  ]);
  const out: string[] = [];
  for (const rule of document.rules as Array<{ id?: string; match?: { path?: string | string[] } }>) {
    if (rule.id === undefined || !touched.has(rule.id)) continue;
    const path = rule.match?.path;
    out.push(...(Array.isArray(path) ? path : typeof path === "string" ? [path] : []));
  }
  return [...new Set(out)];
}

/**
 * A rule added (or moved) onto a route no manifest or traffic knows is refused unless `newRoute`
 * (docs/runbook.md, "A route nobody has"); with nothing known at all, nothing is refused.
 */
async function checkRoutes(ctx: OpsContext, patterns: string[], newRoute: boolean): Promise<void> {
  if (patterns.length === 0 || newRoute) return;
  const known = await knownRoutes(ctx);
  const unknown = unknownPatterns(patterns, known.routes);
  if (unknown.length === 0) return;
  const nearest = nearestRoutes(unknown[0] as string, known.routes);
  throw new OpsError(
    "ERR_REJECTED",
    `refused: ${unknown.join(", ")} matches no route known from ${known.sources.join(" and ")}${nearest.length > 0 ? `; did you mean ${nearest.join(" or ")}?` : ""} Nothing was sent; add --new-route if the route is new`,
    { unknownRoutes: unknown.map((pattern) => ({ pattern, nearest: nearestRoutes(pattern, known.routes) })) },
  );
}

export async function planRulesPush(
  ctx: OpsContext,
  document: unknown,
  options: { newRoute?: boolean } = {},
): Promise<PushPlan> {
  const checked = checkDocument(document);
  if (!checked.ok) {
    const first = checked.issues[0];
    throw new OpsError(
      "ERR_REJECTED",
      `the firewall would reject this document (${first?.path}: ${first?.message}): nothing was sent`,
      { issues: checked.issues },
    );
  }
  const snapshot = await readStore(ctx);
  const before = snapshot.items.get(RULES_ITEM);
  const size = sizeReport(ctx, snapshot, RULES_ITEM, document as Json);
  if (size.after > size.limit)
    throw new OpsError(
      "ERR_REJECTED",
      `the store would be ${size.after} bytes, over the ${size.plan} plan's ${size.limit}-byte limit: nothing was sent`,
      { size },
    );
  const diff = diffRules(before, document as Json);
  await checkRoutes(ctx, newPatterns(diff, checked.value), options.newRoute === true);
  return {
    document: checked.value,
    before,
    diff,
    switches: [...snapshot.items]
      .filter(([key]) => key.startsWith(KILL_SWITCH_PREFIX))
      .map(([key, spec]) => ({ key, spec })),
    size,
    anchor: snapshot.anchor,
  };
}

function document(plan: PushPlan): unknown {
  return plan.document;
}

export interface PushResult extends ChangeOutcome {
  /** Ruleset digest of the pushed document with the switches as read: what isolates report once they enforce it. */
  digest: string;
}

export async function applyRulesPush(
  ctx: OpsContext,
  plan: PushPlan,
  reason: string | null,
  incident: string | null,
): Promise<PushResult> {
  const d = plan.diff;
  const outcome = await applyChange(ctx, {
    action: "rules-push",
    key: RULES_ITEM,
    before: plan.before,
    after: plan.document as unknown as Json,
    incident,
    reason,
    anchorCurrent: plan.anchor,
    summary: `rules pushed: ${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} changed`,
    detail: plan.before === undefined ? "created" : "replaced",
  });
  // Checked, so the same value the edge compiles (a kill switch flipped meanwhile changes it: say so then).
  return { ...outcome, digest: rulesetDigest(document(plan), plan.switches) };
}

/**
 * The digest isolates report once they enforce the pushed document with the kill switches live
 * now: a responder who flips a switch after the push changes the digest, not what the push did.
 * Undefined once someone else's document replaced this one (nothing can confirm it any more).
 */
export async function pushedDigestNow(ctx: OpsContext, plan: PushPlan): Promise<string | undefined> {
  const snapshot = await readStore(ctx);
  const live = snapshot.items.get(RULES_ITEM);
  if (live === undefined || canonicalJson(live) !== canonicalJson(plan.document)) return undefined;
  const switches = [...snapshot.items]
    .filter(([key]) => key.startsWith(KILL_SWITCH_PREFIX))
    .map(([key, spec]) => ({ key, spec }));
  return rulesetDigest(document(plan), switches);
}
