/**
 * `extend`: a later `expiresAt` for a live switch, written as an `update` of the item as read with
 * `version + 1`, so an extend racing a lift fails instead of bringing the lifted switch back.
 */

import type { Json } from "../../model/json.js";
import type { OpsContext } from "../context.js";
import type { PatchOperation } from "../edge-config-api.js";
import { OpsError, usageError } from "../errors.js";
import { applyChange, type ChangeOutcome } from "./change.js";
import { readStore } from "./edge-config-snapshot.js";
import { publish } from "./kill.js";
import { asSwitch, checkSwitchItem, type SwitchItem, switchKey } from "./switch-item.js";
import { revisionGuard } from "./switch-revision.js";

export interface ExtendPlan {
  id: string;
  key: string;
  before: SwitchItem;
  item: SwitchItem;
  anchor: Json | undefined;
  guard: PatchOperation[];
}

export async function planExtend(
  ctx: OpsContext,
  input: { id: string; forMs?: number; until?: string },
): Promise<ExtendPlan> {
  if ((input.forMs === undefined) === (input.until === undefined))
    throw usageError("give --for 1h or --until TIME (one of them)");
  const key = switchKey(input.id);
  const snapshot = await readStore(ctx);
  const before = asSwitch(snapshot.items.get(key));
  if (before === undefined)
    throw new OpsError(
      "ERR_NOT_FOUND",
      `no kill switch ${input.id} in Edge Config: it was lifted or never set; use containment kill`,
    );
  const now = ctx.now();
  let expiresAt: number;
  if (input.forMs !== undefined) {
    // From the current expiry if it is still ahead: "extend by 1h" means one more hour.
    const current = before.expiresAt === undefined ? now : Math.max(now, Date.parse(before.expiresAt));
    expiresAt = current + input.forMs;
  } else {
    expiresAt = Date.parse(input.until as string);
    if (!Number.isFinite(expiresAt))
      throw usageError(
        `--until must be a time like 2026-11-23T20:00:00Z, got ${JSON.stringify(input.until)}`,
      );
    if (expiresAt <= now) throw usageError(`--until ${input.until} is in the past`);
  }
  const item = checkSwitchItem(key, {
    ...(before as unknown as Record<string, Json>),
    expiresAt: new Date(expiresAt).toISOString(),
    version: (before.version ?? 0) + 1,
  });
  return {
    id: input.id,
    key,
    before,
    item,
    anchor: snapshot.anchor,
    guard: revisionGuard(snapshot.items, input.id),
  };
}

export interface ExtendResult extends ChangeOutcome {
  id: string;
  version: number;
  expiresAt: string;
}

export async function applyExtend(
  ctx: OpsContext,
  plan: ExtendPlan,
  reason: string | null,
): Promise<ExtendResult> {
  const outcome = await applyChange(ctx, {
    action: "extend",
    key: plan.key,
    before: plan.before as unknown as Json,
    after: plan.item as unknown as Json,
    incident: plan.item.incident ?? null,
    reason,
    anchorCurrent: plan.anchor,
    summary: `kill switch ${plan.id} extended until ${plan.item.expiresAt} (${plan.item.incident ?? "no incident"})`,
    detail: "extended",
    guard: plan.guard,
  });
  if ((await publish(ctx, plan.item, outcome.warnings)) === "failed") outcome.incomplete = true;
  return {
    ...outcome,
    id: plan.id,
    version: plan.item.version ?? 1,
    expiresAt: plan.item.expiresAt as string,
  };
}
