/**
 * Quarantines (identities auto-blocked after repeated rate-limit trips): list them, and release a
 * false positive in one audited command. Releasing deletes the Redis key (the trips toward it went
 * when it started); isolates that knew of it ask Redis again within 5 s (src/stores/redis.ts).
 */

import type { QuarantineRecord } from "../../stores/mirror/reader-types.js";
import { appendAudit } from "../audit/index.js";
import type { OpsContext } from "../context.js";
import { OpsError, usageError } from "../errors.js";

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
  warnings: string[];
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
  const key = `quarantine:${target}`;
  const full = ctx.config.prefix + key;
  const before = (await ctx.redis.get(full)) ?? null;
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
  const removed = Number(await ctx.redis.del(full)) > 0;
  const result = await appendAudit(ctx.audit, {
    ...base,
    phase: "result",
    before,
    after: null,
    outcome: removed ? "ok" : "failed",
    detail: removed ? "released" : "already gone",
  });
  for (const entry of [intent, result]) {
    if (entry.journaled)
      warnings.push(
        `AUDIT NOT IN REDIS: journaled in ${ctx.audit.journal?.location} (${entry.error}); run containment audit sync`,
      );
    if (entry.anchorError !== undefined)
      warnings.push(`warning: the audit anchor was not moved (${entry.anchorError})`);
  }
  await ctx.notify({
    kind: "change",
    action: "quarantine-release",
    summary: `quarantine ${target} released`,
    incident,
    key,
    actor: actor.name,
    at: new Date(ctx.now()).toISOString(),
  });
  return { key, released: removed, journaled: intent.journaled || result.journaled, warnings };
}
