/**
 * Quarantines (identities auto-blocked after repeated rate-limit trips): list them, and release a
 * false positive in one audited command. Releasing deletes the Redis key (the trips toward it went
 * when it started); isolates that knew of it ask Redis again within 5 s (src/stores/redis.ts).
 */

import type { QuarantineRecord } from "../../stores/mirror/reader-types.js";
import { appendAudit, appendWarnings } from "../audit/index.js";
import type { OpsContext } from "../context.js";
import { describeFailure, failureCause, isOpsError, OpsError, usageError } from "../errors.js";

export async function listQuarantines(ctx: OpsContext): Promise<QuarantineRecord[]> {
  if (ctx.reader === undefined)
    throw new OpsError(
      "ERR_CONFIG",
      "quarantines live in Redis: set UPSTASH_REDIS_REST_URL/TOKEN (or --redis, or --local)",
    );
  return ctx.reader.quarantines();
}

const TARGET = /^([a-z+]{2,40}):([\w.~-]{1,200})(?::([A-Za-z0-9][\w-]{0,63}))?$/;

export interface ReleaseResult {
  key: string;
  released: boolean;
  journaled: boolean;
  /** One line each for what failed after the release: journaled audit, anchor, webhooks. */
  warnings: string[];
  /** A step after the release other than the audit append failed (anchor, webhook). */
  incomplete: boolean;
}

/** A Redis failure before the release: nothing was changed, said in one line without the client's words. */
function redisDown(error: unknown, what: string): OpsError {
  return new OpsError(
    isOpsError(error) ? error.code : "ERR_UNAVAILABLE",
    `${describeFailure(error)}: ${what}; nothing was changed`,
    isOpsError(error) ? error.details : {},
  );
}

/** `target` is `<dimension>:<id>` or `<dimension>:<id>:<rule>` as `quarantine list` prints it. */
export async function releaseQuarantine(
  ctx: OpsContext,
  target: string,
  reason: string | null,
  incident: string | null,
): Promise<ReleaseResult> {
  const match = TARGET.exec(target);
  if (!match)
    throw usageError(
      `${JSON.stringify(target)} is not <dimension>:<id>[:<rule>] as \`containment quarantine list\` prints it`,
    );
  if (ctx.redis === undefined)
    throw new OpsError(
      "ERR_CONFIG",
      "quarantines live in Redis: set UPSTASH_REDIS_REST_URL/TOKEN (or --redis, or --local)",
    );
  const redis = ctx.redis;
  const key = `quarantine:${target}`;
  const full = ctx.config.prefix + key;
  const before = await redis.get(full).then(
    (value) => value ?? null,
    (error: unknown) => {
      throw redisDown(error, `cannot read quarantine ${target}`);
    },
  );
  if (before === null)
    throw new OpsError(
      "ERR_NOT_FOUND",
      `no quarantine ${target} (it expired or was released): nothing was changed`,
    );
  const actor = await ctx.actor();
  const base = {
    actor,
    claimedActor: ctx.config.actorClaim ?? null,
    action: "quarantine-release",
    incident,
    reason,
    key,
  };
  const warnings: string[] = [];
  const intent = await appendAudit(ctx.audit, { ...base, phase: "intent", before, after: null });
  warnings.push(...appendWarnings(ctx.audit, intent, "intent"));
  let removed: boolean;
  try {
    removed = Number(await redis.del(full)) > 0;
  } catch (error) {
    const failed = await appendAudit(ctx.audit, {
      ...base,
      phase: "result",
      before,
      after: before,
      outcome: "failed",
      detail: `Redis ${failureCause(error)}`,
    }).catch(() => undefined);
    if (failed !== undefined) warnings.push(...appendWarnings(ctx.audit, failed, "result"));
    for (const line of warnings) ctx.warn(line);
    throw redisDown(error, `quarantine ${target} was not released`);
  }
  // Released: nothing after this may throw it away (docs/runbook.md, "When a dependency fails").
  let incomplete = intent.anchorError !== undefined;
  let journaled = intent.journaled;
  try {
    const result = await appendAudit(ctx.audit, {
      ...base,
      phase: "result",
      before,
      after: null,
      outcome: removed ? "ok" : "failed",
      detail: removed ? "released" : "already gone",
    });
    warnings.push(...appendWarnings(ctx.audit, result, "result"));
    journaled ||= result.journaled;
    if (result.anchorError !== undefined) incomplete = true;
  } catch (error) {
    journaled = true;
    warnings.push(
      `AUDIT ENTRY NOT RECORDED: neither Redis nor the journal took the result entry (${failureCause(error)}); the release stands: note it in the incident's record`,
    );
  }
  const notified = await ctx.notify({
    kind: "change",
    action: "quarantine-release",
    summary: `quarantine ${target} released`,
    incident,
    key,
    actor: actor.name,
    at: new Date(ctx.now()).toISOString(),
  });
  if (notified.length > 0) incomplete = true;
  warnings.push(...notified);
  return { key, released: removed, journaled, warnings, incomplete };
}
