/**
 * One audited change to Edge Config, shared by every action: an `intent` entry, the PATCH (the
 * item's own create/update/delete against the item as read, plus the audit anchor moved to the
 * intent), a `result` entry (which moves the anchor again), then the notification. If the PATCH
 * fails nothing changed, the result entry says so, and the error goes up. If Redis is down the
 * change still stands and the entries are journaled; the outcome says so, loudly.
 */

import { errorText } from "../../core/errors.js";
import { AUDIT_ANCHOR_ITEM } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import {
  type AppendResult,
  type AuditAction,
  anchorMove,
  appendAudit,
  appendWarnings,
  canonicalJson,
} from "../audit/index.js";
import type { OpsContext } from "../context.js";
import type { PatchOperation } from "../edge-config-api.js";
import { failureCause, isOpsError, OpsError } from "../errors.js";

export interface Change {
  action: AuditAction;
  key: string;
  /** The item as read; undefined when there is none. */
  before: Json | undefined;
  /** The item to write; undefined deletes it. */
  after: Json | undefined;
  incident: string | null;
  reason: string | null;
  /** The anchor item as read with the rest (saves a round trip). */
  anchorCurrent: Json | undefined;
  /** One line for people and webhooks. */
  summary: string;
  /** What the result says happened, e.g. `created`, `replaced`, `extended`, `lifted`. */
  detail: string;
  /** Sent in the same PATCH, so it fails if the item was written since it was read (switch-revision.ts). */
  guard?: PatchOperation[];
}

export interface AuditTrace {
  intent?: number;
  result?: number;
  journaled: boolean;
}

export interface ChangeOutcome {
  key: string;
  operation: PatchOperation["operation"];
  detail: string;
  /** Client time the PATCH was accepted (start of `--wait`'s clock). */
  writtenAt: number;
  audit: AuditTrace;
  /** One line each for what failed after the write: journaled audit, anchor, fast lane, webhooks. */
  warnings: string[];
  /** A step after the write other than the audit append failed (anchor, webhook, fast lane). */
  incomplete: boolean;
}

function operationFor(change: Change): PatchOperation {
  if (change.after === undefined) return { operation: "delete", key: change.key };
  return {
    operation: change.before === undefined ? "create" : "update",
    key: change.key,
    value: change.after,
  };
}

function same(a: Json | undefined, b: Json | undefined): boolean {
  return (
    (a === undefined) === (b === undefined) && (a === undefined || canonicalJson(a) === canonicalJson(b))
  );
}

/**
 * Sends the PATCH; on a conflict caused only by the anchor moving meanwhile, retries with a fresh
 * anchor. When the anchor may not move (entries this change did not write lie before its intent,
 * or the anchor is malformed) the change is still made, without the anchor, and a warning says why.
 */
async function patchWithAnchor(
  ctx: OpsContext,
  change: Change,
  op: PatchOperation,
  intent: AppendResult,
  warnings: string[],
): Promise<void> {
  let anchorCurrent = change.anchorCurrent;
  let warned = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    const move =
      intent.record === undefined
        ? {}
        : anchorMove(anchorCurrent, intent.record.entry.seq, intent.record.hash);
    if (move.refused !== undefined && !warned) {
      warned = true;
      warnings.push(`warning: the audit anchor was not moved: ${move.refused}`);
    }
    const anchorOp = move.op;
    try {
      const guard = change.guard ?? [];
      await ctx.api.patch(anchorOp === undefined ? [op, ...guard] : [op, ...guard, anchorOp]);
      return;
    } catch (error) {
      if (!isOpsError(error) || error.code !== "ERR_CONFLICT" || anchorOp === undefined) throw error;
      const [item, anchor] = await Promise.all([ctx.api.item(change.key), ctx.api.item(AUDIT_ANCHOR_ITEM)]);
      if (!same(item?.value, change.before) || same(anchor?.value, anchorCurrent)) throw error;
      anchorCurrent = anchor?.value;
    }
  }
  throw new OpsError("ERR_CONFLICT", "the audit anchor kept moving: nothing was changed; try again");
}

/** After a PATCH that timed out, the store tells whether it was applied. */
async function appliedAnyway(ctx: OpsContext, change: Change): Promise<boolean> {
  try {
    const item = await ctx.api.item(change.key);
    return same(item?.value, change.after) && !same(change.before, change.after);
  } catch {
    return false;
  }
}

export async function applyChange(ctx: OpsContext, change: Change): Promise<ChangeOutcome> {
  const actor = await ctx.actor();
  const claimedActor = ctx.config.actorClaim ?? null;
  const warnings: string[] = [];
  const base = {
    actor,
    claimedActor,
    action: change.action,
    incident: change.incident,
    reason: change.reason,
    key: change.key,
  };
  const before = change.before ?? null;
  const after = change.after ?? null;
  const intent = await appendAudit(ctx.audit, { ...base, phase: "intent", before, after }, { anchor: false });
  warnings.push(...appendWarnings(ctx.audit, intent, "intent"));
  const op = operationFor(change);
  try {
    await patchWithAnchor(ctx, change, op, intent, warnings);
  } catch (error) {
    const timedOut = isOpsError(error) && error.details.timedOut === true;
    if (!(timedOut && (await appliedAnyway(ctx, change)))) {
      const failed = await appendAudit(ctx.audit, {
        ...base,
        phase: "result",
        before,
        after: before,
        outcome: "failed",
        detail: errorText(error).slice(0, 300),
      }).catch(() => undefined);
      if (failed !== undefined) warnings.push(...appendWarnings(ctx.audit, failed, "result"));
      for (const line of warnings) ctx.warn(line);
      throw error;
    }
  }
  const writtenAt = ctx.now();
  // The change stands from here on: nothing after it may throw it away (docs/runbook.md, "When a
  // dependency fails"). Each failure is a warning, and `incomplete` or `audit.journaled` says so.
  let incomplete = false;
  let result: AppendResult | undefined;
  try {
    result = await appendAudit(ctx.audit, {
      ...base,
      phase: "result",
      before,
      after,
      outcome: "ok",
      detail: change.detail,
    });
    warnings.push(...appendWarnings(ctx.audit, result, "result"));
  } catch (error) {
    warnings.push(
      `AUDIT ENTRY NOT RECORDED: neither Redis nor the journal took the result entry (${failureCause(error)}); the change stands: note it in the incident's record`,
    );
  }
  if (result?.anchorError !== undefined) incomplete = true;
  const notified = await ctx.notify({
    kind: "change",
    action: change.action,
    summary: change.summary,
    incident: change.incident,
    key: change.key,
    actor: actor.name,
    at: new Date(writtenAt).toISOString(),
  });
  if (notified.length > 0) incomplete = true;
  warnings.push(...notified);
  const audit: AuditTrace = { journaled: intent.journaled || result?.journaled !== false };
  if (intent.record !== undefined) audit.intent = intent.record.entry.seq;
  if (result?.record !== undefined) audit.result = result.record.entry.seq;
  return {
    key: change.key,
    operation: op.operation,
    detail: change.detail,
    writtenAt,
    audit,
    warnings,
    incomplete,
  };
}
