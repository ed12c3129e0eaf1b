/**
 * `kill`: block a route now. `planKill` validates and reads (nothing written): the item, whether
 * it creates or replaces, the store size against the plan, what it would have blocked in the last
 * 15 minutes, and whether it blocks everything. `applyKill` writes it (create, or update of the
 * item as read), audits it, and publishes it to the fast lane when one is configured.
 */

import type { Json } from "../../model/json.js";
import type { MatchSpec } from "../../rules/common.js";
import type { OpsContext } from "../context.js";
import { failureCause, OpsError, usageError } from "../errors.js";
import { publishFastLane } from "../fastlane.js";
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

export async function planKill(ctx: OpsContext, input: KillInput): Promise<KillPlan> {
  if (!input.reason?.trim()) throw usageError("--reason is required: say why, for the audit trail");
  const incident = input.incident ?? ctx.config.incident;
  if (!incident?.trim()) throw usageError('--incident is required (or set "incident" in containment.json)');
  const firstPattern = Array.isArray(input.pattern) ? (input.pattern[0] ?? "") : input.pattern;
  const id = input.id ?? idFromPattern(firstPattern);
  const key = switchKey(id);
  const expiresAt = expiryOf(ctx, input);
  const draft: Record<string, Json> = {
    id,
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
  checkSwitchItem(key, { ...draft, version: 1 });
  const snapshot = await readStore(ctx);
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
  };
}

export interface KillResult extends ChangeOutcome {
  id: string;
  version: number;
  created: boolean;
  fastLane: "published" | "off" | "failed";
}

export async function applyKill(ctx: OpsContext, plan: KillPlan): Promise<KillResult> {
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
    summary: `kill switch ${plan.id} ${created ? "created" : "replaced"}: ${describeMatch(plan.item.match)} → ${plan.item.status ?? 503}, ${lifetime}${plan.item.mode === "monitor" ? " (monitor only)" : ""}; ${plan.item.incident}: ${plan.item.reason}`,
    detail: created ? "created" : "replaced",
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
