/**
 * What the incident commands share: an incident change between an audited intent and result, and
 * the incident context (incidents live in Redis).
 */
import { errorText } from "../../core/errors.js";
import type { Json } from "../../model/json.js";
import { type AppendResult, appendAudit, appendWarnings } from "../../ops/audit/index.js";
import { configError, failureCause } from "../../ops/errors.js";
import type { Opened } from "../ops.js";

/**
 * Runs `change` between an audited intent and result (the result says whether it failed). Once
 * `change` succeeded nothing here throws: the answer says whether an entry went to the journal.
 */
export async function audited<T>(
  opened: Opened,
  draft: { action: string; incident: string; reason: string | null; after: Json },
  change: () => Promise<T>,
): Promise<{ value: T; journaled: boolean; warnings: string[] }> {
  const { ctx } = opened;
  const base = {
    ...draft,
    actor: await ctx.actor(),
    claimedActor: ctx.config.actorClaim ?? null,
    key: `incident:${draft.incident}`,
    before: null,
  };
  const warnings: string[] = [];
  const note = (entry: AppendResult, where: string) => {
    warnings.push(...appendWarnings(ctx.audit, entry, where));
  };
  const intent = await appendAudit(ctx.audit, { ...base, phase: "intent" });
  note(intent, "intent");
  let value: T;
  try {
    value = await change();
  } catch (error) {
    const failed = await appendAudit(ctx.audit, {
      ...base,
      phase: "result",
      outcome: "failed",
      detail: errorText(error).slice(0, 300),
    }).catch(() => undefined);
    if (failed !== undefined) note(failed, "result");
    for (const line of warnings) ctx.warn(line);
    throw error;
  }
  let journaled = intent.journaled;
  try {
    const result = await appendAudit(ctx.audit, {
      ...base,
      phase: "result",
      outcome: "ok",
      after: JSON.parse(JSON.stringify(value)) as Json,
    });
    note(result, "result");
    journaled ||= result.journaled;
  } catch (error) {
    journaled = true;
    warnings.push(
      `AUDIT ENTRY NOT RECORDED: neither Redis nor the journal took the result entry (${failureCause(error)}); note it in the incident's record`,
    );
  }
  return { value, journaled, warnings };
}

export function requireRedis(opened: Opened) {
  const redis = opened.ctx.redis;
  if (redis === undefined)
    throw configError(
      "incidents live in Redis: set UPSTASH_REDIS_REST_URL/TOKEN or --redis (or use --local)",
    );
  return { client: redis, prefix: opened.config.prefix, now: opened.ctx.now };
}
