/**
 * `kill`: block a route now. `planKill` validates and reads (nothing written): the item, whether
 * it creates or replaces, the field-by-field diff and every way a replacement blocks less, whether
 * the route is known, the store size against the plan, what it would have blocked in the last
 * 15 minutes, and whether it blocks everything. `applyKill` writes it (create, or update of the
 * item as read, guarded by its revision marker), audits it, and publishes it to the fast lane.
 *
 * A switch of another incident on the same route is never replaced by default: the new switch gets
 * its own id (`<route-id>-<incident>`), so both are enforced (docs/runbook.md, "A second kill on
 * the same route"). A replacement that blocks less, and a route nobody has, are refused by
 * `applyKill` unless the plan was made with `narrow` / `newRoute`.
 */

import type { Json } from "../../model/json.js";
import type { MatchSpec } from "../../rules/common.js";
import type { OpsContext } from "../context.js";
import type { PatchOperation } from "../edge-config-api.js";
import { failureCause, OpsError, usageError } from "../errors.js";
import { publishFastLane } from "../fastlane.js";
import { knownRoutes, nearestRoutes, unknownPatterns } from "../known-routes.js";
import { applyChange, type ChangeOutcome } from "./change.js";
import { readStore, type SizeReport, sizeReport } from "./edge-config-snapshot.js";
import { lastRecordedVersion } from "./next-switch-version.js";
import { type Preview, previewMatch } from "./preview.js";
import {
  asSwitch,
  blocksEverything,
  checkSwitchItem,
  describeMatch,
  idFromPattern,
  type SwitchItem,
  switchKey,
} from "./switch-item.js";
import { revisionGuard } from "./switch-revision.js";
import { type FieldChange, narrowings, switchDiff } from "./switch-scope.js";

export interface KillInput {
  pattern: string | string[];
  reason: string;
  incident: string;
  tenants?: string[];
  methods?: string[];
  hosts?: string[];
  /** Lifetime in ms (`--for 2h`); or `until`. Neither: until lifted. */
  forMs?: number;
  until?: string;
  status?: number;
  message?: string;
  id?: string;
  monitor?: boolean;
  /** The responder means a replacement that blocks less (`--narrow`). */
  narrow?: boolean;
  /** The responder means a route no manifest or traffic knows (`--new-route`). */
  newRoute?: boolean;
  /** Where `.next/` is looked for; default the project directory (`config.cwd`). */
  projectDir?: string;
}

/** The route check: patterns nothing known overlaps, with the nearest known routes. */
export interface RouteCheck {
  /** How many routes are known, and from where; 0 means the check could not be made. */
  known: number;
  sources: string[];
  unknown: Array<{ pattern: string; nearest: string[] }>;
  notes: string[];
}

export interface KillPlan {
  id: string;
  key: string;
  item: SwitchItem;
  before: SwitchItem | undefined;
  /** `create` for a new id, `update` when it replaces the switch as read. */
  operation: "create" | "update";
  size: SizeReport;
  preview: Preview;
  /** `/**` with no scope: needs an extra confirmation. */
  everyRoute: boolean;
  anchor: Json | undefined;
  /** Old → new for each field (old `-` when it creates). */
  diff: FieldChange[];
  /** Every way the replacement blocks less than the switch it replaces; empty when it does not. */
  narrows: string[];
  /** Switches of other incidents on the route, left in force beside this one. */
  alongside: Array<{ id: string; incident: string | undefined }>;
  routes: RouteCheck;
  /** Operations sent with the write so it fails if the switch changed since this read. */
  guard: PatchOperation[];
  narrow: boolean;
  newRoute: boolean;
}

function expiryOf(ctx: OpsContext, input: KillInput): string | undefined {
  if (input.forMs !== undefined && input.until !== undefined)
    throw usageError("give --for or --until, not both");
  if (input.forMs !== undefined) return new Date(ctx.now() + input.forMs).toISOString();
  if (input.until === undefined) return undefined;
  const at = Date.parse(input.until);
  if (!Number.isFinite(at))
    throw usageError(`--until must be a time like 2026-11-23T20:00:00Z, got ${JSON.stringify(input.until)}`);
  if (at <= ctx.now()) throw usageError(`--until ${input.until} is in the past`);
  return new Date(at).toISOString();
}

function buildMatch(input: KillInput): MatchSpec {
  const match: MatchSpec = { path: input.pattern };
  if (input.methods?.length) match.methods = input.methods.map((m) => m.toUpperCase());
  if (input.tenants?.length) match.tenants = input.tenants;
  if (input.hosts?.length) match.hosts = input.hosts.map((h) => h.toLowerCase());
  return match;
}

/** `INC-2041` → `inc-2041`, for an id. */
function incidentSlug(incident: string): string {
  return (
    incident
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 24) || "incident"
  );
}

/**
 * The id of the new switch: `--id` when given; else the route's id when it is free or the switch
 * there is this incident's own; else `<route-id>-<incident>` (then `-2`, `-3`…), so a switch owned
 * by another incident stays in force beside it.
 */
function chooseId(items: ReadonlyMap<string, Json>, base: string, incident: string): string {
  const ownerOf = (id: string) => asSwitch(items.get(switchKey(id)));
  const free = (id: string) => {
    const owner = ownerOf(id);
    return owner === undefined || owner.incident === incident;
  };
  if (free(base)) return base;
  const stem = `${base.slice(0, 63 - incidentSlug(incident).length).replace(/-+$/, "")}-${incidentSlug(incident)}`;
  if (free(stem)) return stem;
  for (let n = 2; ; n++) {
    const id = `${stem.slice(0, 60)}-${n}`;
    if (free(id)) return id;
  }
}

/** Switches of other incidents whose paths share the route. */
function othersOnRoute(
  items: ReadonlyMap<string, Json>,
  key: string,
  base: string,
  incident: string,
): KillPlan["alongside"] {
  const out: KillPlan["alongside"] = [];
  for (const [k, value] of items) {
    const other = k === key ? undefined : asSwitch(value);
    if (other === undefined || other.incident === incident || typeof other.id !== "string") continue;
    if (
      idFromPattern(
        Array.isArray(other.match?.path) ? (other.match.path[0] ?? "") : (other.match?.path ?? ""),
      ) === base
    )
      out.push({ id: other.id, incident: other.incident });
  }
  return out;
}

async function checkRoutes(ctx: OpsContext, input: KillInput): Promise<RouteCheck> {
  const patterns = Array.isArray(input.pattern) ? input.pattern : [input.pattern];
  const known = await knownRoutes(ctx, input.projectDir);
  return {
    known: known.routes.length,
    sources: known.sources,
    notes: known.notes,
    unknown: unknownPatterns(patterns, known.routes).map((pattern) => ({
      pattern,
      nearest: nearestRoutes(pattern, known.routes),
    })),
  };
}

export async function planKill(ctx: OpsContext, input: KillInput): Promise<KillPlan> {
  if (!input.reason?.trim()) throw usageError("--reason is required: say why, for the audit trail");
  const incident = input.incident ?? ctx.config.incident;
  if (!incident?.trim()) throw usageError('--incident is required (or set "incident" in containment.json)');
  const firstPattern = Array.isArray(input.pattern) ? (input.pattern[0] ?? "") : input.pattern;
  const base = idFromPattern(firstPattern);
  if (input.id !== undefined) switchKey(input.id);
  const expiresAt = expiryOf(ctx, input);
  const draft: Record<string, Json> = {
    id: input.id ?? base,
    match: buildMatch(input) as unknown as Json,
    status: input.status ?? 503,
    reason: input.reason.trim(),
    incident,
    by: (await ctx.actor()).name,
    at: new Date(ctx.now()).toISOString(),
  };
  if (input.message !== undefined) draft.message = input.message;
  if (expiresAt !== undefined) draft.expiresAt = expiresAt;
  if (input.monitor) draft.mode = "monitor";
  // Validate before reading anything: a bad pattern is the user's to fix, offline.
  checkSwitchItem(switchKey(input.id ?? base), { ...draft, id: input.id ?? base, version: 1 });
  const snapshot = await readStore(ctx);
  const id = input.id ?? chooseId(snapshot.items, base, incident);
  const key = switchKey(id);
  draft.id = id;
  const before = asSwitch(snapshot.items.get(key));
  const last = before === undefined ? await lastRecordedVersion(ctx, key) : (before.version ?? 0);
  const item = checkSwitchItem(key, { ...draft, version: last + 1 });
  const size = sizeReport(ctx, snapshot, key, item as unknown as Json);
  if (size.after > size.limit)
    throw new OpsError(
      "ERR_REJECTED",
      `the store would be ${size.after} bytes, over the ${size.plan} plan's ${size.limit}-byte Edge Config limit: lift expired switches first (containment list)`,
      { size },
    );
  return {
    id,
    key,
    item,
    before,
    operation: before === undefined ? "create" : "update",
    size,
    preview: await previewMatch(ctx, item.match),
    everyRoute: blocksEverything(item.match),
    anchor: snapshot.anchor,
    diff: switchDiff(before, item),
    narrows: before === undefined ? [] : narrowings(before, item, ctx.now()),
    alongside: othersOnRoute(snapshot.items, key, base, incident),
    routes: await checkRoutes(ctx, input),
    guard: revisionGuard(snapshot.items, id),
    narrow: input.narrow === true,
    newRoute: input.newRoute === true,
  };
}

/**
 * Why the plan may not be written as it is, or undefined: a replacement that blocks less without
 * `--narrow`, or a route nobody has without `--new-route`. `--yes` answers neither.
 */
export function refusal(plan: KillPlan): OpsError | undefined {
  if (plan.narrows.length > 0 && !plan.narrow)
    return new OpsError(
      "ERR_REJECTED",
      `refused: this replaces kill switch ${plan.id} (${plan.before?.incident ?? "no incident"}) with one that blocks less: ${plan.narrows.join("; ")}. Nothing was changed; add --narrow if that is what you mean, or use another --id to add a switch beside it`,
      { narrows: plan.narrows, diff: plan.diff },
    );
  const unknown = plan.routes.unknown;
  if (unknown.length > 0 && !plan.newRoute) {
    const nearest = unknown[0]?.nearest ?? [];
    return new OpsError(
      "ERR_REJECTED",
      `refused: ${unknown.map((u) => u.pattern).join(", ")} matches no route known from ${plan.routes.sources.join(" and ")}${nearest.length > 0 ? `; did you mean ${nearest.join(" or ")}?` : ""} Nothing was changed; add --new-route if the route is new`,
      { unknownRoutes: unknown },
    );
  }
  return undefined;
}

export interface KillResult extends ChangeOutcome {
  id: string;
  version: number;
  created: boolean;
  fastLane: "published" | "off" | "failed";
}

export async function applyKill(ctx: OpsContext, plan: KillPlan): Promise<KillResult> {
  const refused = refusal(plan);
  if (refused !== undefined) throw refused;
  const created = plan.before === undefined;
  const lifetime = plan.item.expiresAt === undefined ? "until lifted" : `until ${plan.item.expiresAt}`;
  const outcome = await applyChange(ctx, {
    action: "kill",
    key: plan.key,
    before: plan.before as unknown as Json | undefined,
    after: plan.item as unknown as Json,
    incident: plan.item.incident ?? null,
    reason: plan.item.reason ?? null,
    anchorCurrent: plan.anchor,
    summary: `kill switch ${plan.id} ${created ? "created" : plan.narrows.length > 0 ? "NARROWED" : "replaced"}: ${describeMatch(plan.item.match)} → ${plan.item.status ?? 503}, ${lifetime}${plan.item.mode === "monitor" ? " (monitor only)" : ""}; ${plan.item.incident}: ${plan.item.reason}${plan.narrows.length > 0 ? ` (blocks less: ${plan.narrows.join("; ")})` : ""}`,
    detail: created ? "created" : plan.narrows.length > 0 ? "narrowed" : "replaced",
    guard: plan.guard,
  });
  const fastLane = await publish(ctx, plan.item, outcome.warnings);
  if (fastLane === "failed") outcome.incomplete = true;
  return { ...outcome, id: plan.id, version: plan.item.version ?? 1, created, fastLane };
}

/** Fast lane after Edge Config accepted the switch; a failure only delays enforcement to Edge Config's propagation. */
export async function publish(
  ctx: OpsContext,
  item: SwitchItem,
  warnings: string[],
): Promise<KillResult["fastLane"]> {
  if (ctx.fastLane === undefined || item.mode === "monitor") return "off";
  try {
    await publishFastLane(ctx.fastLane, item as unknown as { id: string; version: number });
    return "published";
  } catch (error) {
    warnings.push(
      `warning: not published to the fast lane (Redis ${failureCause(error)}); Edge Config propagation still applies it (up to 10 s)`,
    );
    return "failed";
  }
}
