/**
 * `lift`: delete one switch (`lift exports`) or every switch of an incident (`lift --incident
 * INC-1`), each with a `delete` of the item as read, audited one by one, and withdrawn from the fast
 * lane. Deleting what someone else already lifted is a conflict, reported, never a blind success.
 */

import { killSwitchIdOf } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import type { OpsContext } from "../context.js";
import type { PatchOperation } from "../edge-config-api.js";
import { failureCause, OpsError, usageError } from "../errors.js";
import { withdrawFastLane } from "../fastlane.js";
import { applyChange, type ChangeOutcome } from "./change.js";
import { readStore } from "./edge-config-snapshot.js";
import { asSwitch, describeMatch, type SwitchItem, switchKey } from "./switch-item.js";
import { revisionGuard } from "./switch-revision.js";

export interface LiftPlan {
  switches: Array<{ id: string; key: string; before: SwitchItem; guard: PatchOperation[] }>;
  anchor: Json | undefined;
}

export async function planLift(
  ctx: OpsContext,
  input: { id?: string; incident?: string },
): Promise<LiftPlan> {
  if ((input.id === undefined) === (input.incident === undefined))
    throw usageError("give a switch id or --incident ID (one of them)");
  const snapshot = await readStore(ctx);
  const switches: LiftPlan["switches"] = [];
  for (const [key, value] of snapshot.items) {
    const id = killSwitchIdOf(key);
    const item = id === undefined ? undefined : asSwitch(value);
    if (id === undefined || item === undefined) continue;
    if (input.id !== undefined ? key === switchKey(input.id) : item.incident === input.incident)
      switches.push({ id, key, before: item, guard: revisionGuard(snapshot.items, id) });
  }
  if (switches.length === 0)
    throw new OpsError(
      "ERR_NOT_FOUND",
      input.id !== undefined
        ? `no kill switch ${input.id} in Edge Config (containment list shows them): nothing was changed`
        : `no kill switch references incident ${input.incident}: nothing was changed`,
    );
  return { switches, anchor: snapshot.anchor };
}

export interface LiftResult extends ChangeOutcome {
  id: string;
  version: number;
}

/** A switch of the plan that was not lifted, and why (a conflict, Edge Config down meanwhile). */
export interface LiftFailure {
  id: string;
  error: unknown;
}

/**
 * Lifts each switch of the plan. Without `failed`, the first failure is thrown (what was lifted
 * before it stays lifted). With `failed`, a switch that could not be lifted is recorded there and
 * the others are still lifted; only when none was lifted is the first failure thrown, since
 * nothing was changed then.
 */
export async function applyLift(
  ctx: OpsContext,
  plan: LiftPlan,
  reason: string | null,
  failed?: LiftFailure[],
): Promise<LiftResult[]> {
  const results: LiftResult[] = [];
  let anchor = plan.anchor;
  for (const target of plan.switches) {
    let outcome: ChangeOutcome;
    try {
      outcome = await applyChange(ctx, {
        action: "lift",
        key: target.key,
        before: target.before as unknown as Json,
        after: undefined,
        incident: target.before.incident ?? null,
        reason,
        anchorCurrent: anchor,
        summary: `kill switch ${target.id} lifted: ${describeMatch(target.before.match)} passes again (${target.before.incident ?? "no incident"})`,
        detail: "lifted",
        guard: target.guard,
      });
    } catch (error) {
      if (failed === undefined) throw error;
      failed.push({ id: target.id, error });
      // The anchor as read may be stale now; the next change re-reads it.
      anchor = undefined;
      continue;
    }
    // The next change in this batch must build on the anchor this one moved.
    anchor = undefined;
    if (ctx.fastLane !== undefined) {
      try {
        await withdrawFastLane(ctx.fastLane, target.id, target.before.version ?? 0);
      } catch (error) {
        outcome.incomplete = true;
        outcome.warnings.push(
          `warning: not withdrawn from the fast lane (Redis ${failureCause(error)}); its entry lapses within minutes`,
        );
      }
    }
    results.push({ ...outcome, id: target.id, version: target.before.version ?? 0 });
  }
  const first = failed?.[0];
  if (results.length === 0 && first !== undefined) throw first.error;
  return results;
}
