/**
 * `containment audit anchor`: moves the Edge Config anchor over entries a person has reviewed.
 * An anchor vouches for every entry before it, so changes never move it over more entries they did
 * not write than one change in flight leaves (ops/audit/index.ts, anchorMove), and `audit verify`
 * fails when more follow it. After a person read those entries (`audit log`) and found them
 * legitimate (a responder whose anchor write failed, journaled entries synced late), this re-anchors,
 * itself audited: an `intent` naming the head reviewed and the anchor it replaces, the PATCH that
 * moves the anchor to that intent, and a `result`. Refused on a chain that does not verify (a
 * rewritten or truncated anchored part, a bad signature): that is evidence, not something to paper over.
 */
import { AUDIT_ANCHOR_ITEM } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import {
  type Anchor,
  type AuditRecord,
  anchorMove,
  appendAudit,
  isAnchor,
  type KeySet,
  type MalformedAnchor,
  readForVerify,
  type TailEntry,
  verifyAudit,
} from "../audit/index.js";
import type { OpsContext } from "../context.js";
import { OpsError } from "../errors.js";

export interface ReanchorPlan {
  /** The head the person reviews, `<seq>:<hash>`. */
  head: { seq: number; hash: string };
  /** The anchor as read: `null` when absent, `{malformed}` when it is no chain head. */
  anchor: Anchor | MalformedAnchor | null | undefined;
  /** The anchor item's value as read (the PATCH is made against it). */
  anchorCurrent: Json | undefined;
  /** The entries the new anchor will vouch for that the old one did not. */
  tail: TailEntry[];
  /** Why the chain cannot be re-anchored (it does not verify), when it cannot. */
  broken?: string;
}

export interface ReanchorResult {
  /** The entry the anchor now names: the re-anchor's own intent, then its result. */
  anchoredAt: number;
  reviewed: number;
  warnings: string[];
}

/** Reads the chain and the anchor and checks everything but the allowance. */
export async function planReanchor(ctx: OpsContext, keys?: KeySet): Promise<ReanchorPlan> {
  if (ctx.redis === undefined)
    throw new OpsError(
      "ERR_CONFIG",
      "the audit chain lives in Redis: set UPSTASH_REDIS_REST_URL/TOKEN (or --redis, or --local)",
    );
  const { records, anchor } = await readForVerify(ctx.audit, ctx.api);
  const last = records[records.length - 1] as AuditRecord | undefined;
  const anchorCurrent = (await ctx.api.item(AUDIT_ANCHOR_ITEM))?.value;
  const verified = await verifyAudit(records, {
    anchor: isAnchor(anchor) ? anchor : undefined,
    allowUnanchored: true,
    ignoreAllowance: true,
    keys,
  });
  const from = isAnchor(anchor) ? anchor.seq : 0;
  const plan: ReanchorPlan = {
    head: last === undefined ? { seq: 0, hash: "" } : { seq: last.entry.seq, hash: last.hash },
    anchor,
    anchorCurrent,
    tail: records.slice(from).map((record) => ({
      seq: record.entry.seq,
      id: record.id,
      ts: String(record.entry.ts),
      action: String(record.entry.action),
      phase: String(record.entry.phase),
      actor: String(record.entry.actor?.name ?? "?"),
      key: record.entry.key ?? null,
      outcome: record.entry.outcome ?? null,
    })),
  };
  if (!verified.ok) plan.broken = verified.firstBreak?.reason ?? "the chain does not verify";
  return plan;
}

/** Re-anchors after review; refuses when the chain grew since the plan was read. */
export async function applyReanchor(
  ctx: OpsContext,
  plan: ReanchorPlan,
  reason: string | null,
): Promise<ReanchorResult> {
  if (plan.broken !== undefined)
    throw new OpsError("ERR_REJECTED", `the chain does not verify, so it is not re-anchored: ${plan.broken}`);
  const base = {
    actor: await ctx.actor(),
    claimedActor: ctx.config.actorClaim ?? null,
    action: "audit-anchor",
    incident: null,
    reason,
    key: AUDIT_ANCHOR_ITEM,
    before: (plan.anchorCurrent ?? null) as Json,
    after: { seq: plan.head.seq, hash: plan.head.hash },
  };
  const intent = await appendAudit(ctx.audit, { ...base, phase: "intent" }, { anchor: false });
  if (intent.record === undefined)
    throw new OpsError(
      "ERR_UNAVAILABLE",
      `Redis did not take the entry (${intent.error}): nothing was re-anchored; run \`containment audit sync\`, then this again`,
    );
  const fail = async (detail: string) => {
    await appendAudit(ctx.audit, { ...base, phase: "result", outcome: "failed", detail }).catch(
      () => undefined,
    );
  };
  if (intent.record.entry.prev !== (plan.head.hash === "" ? null : plan.head.hash)) {
    await fail("the chain grew during the review");
    throw new OpsError(
      "ERR_CONFLICT",
      "entries were appended while you reviewed: nothing was re-anchored; review again and re-run",
    );
  }
  const move = anchorMove(plan.anchorCurrent, intent.record.entry.seq, intent.record.hash, {
    reviewed: true,
  });
  try {
    if (move.op !== undefined) await ctx.api.patch([move.op]);
  } catch (error) {
    await fail(error instanceof Error ? error.message.slice(0, 300) : String(error));
    throw error;
  }
  const warnings: string[] = [];
  const result = await appendAudit(ctx.audit, {
    ...base,
    phase: "result",
    outcome: "ok",
    detail: `anchored at #${intent.record.entry.seq} after review of ${plan.tail.length} entries`,
  });
  if (result.anchorError !== undefined)
    warnings.push(`warning: the anchor stays at the re-anchor's intent (${result.anchorError})`);
  return {
    anchoredAt:
      result.record !== undefined && result.anchorError === undefined
        ? result.record.entry.seq
        : intent.record.entry.seq,
    reviewed: plan.tail.length,
    warnings,
  };
}
