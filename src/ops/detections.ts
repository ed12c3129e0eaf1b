/**
 * Detections on the responder's side (docs/detection.md): list them, enter each into the audit chain
 * labelled as attested by the edge (the edge has no audit right: it wrote `detection:<id>` and the
 * `detections` stream), release one (its quarantine is deleted, its alert resolved), and approve a
 * whole-tenant containment that waits for a person. Every change is audited like a quarantine release.
 */
import type { Detection } from "../model/detect-store.js";
import type { Json } from "../model/json.js";
import type { ResponderRedis } from "../model/responder-redis.js";
import { DETECT_KEYS, DETECTION_ID } from "../rules/detector/keys.js";
import { type AlertTargets, sendAlerts } from "../stores/detect/alerts.js";
import { appendAudit, appendWarnings } from "./audit/index.js";
import type { OpsContext } from "./context.js";
import { failureCause, OpsError, usageError } from "./errors.js";

/** A detection as stored in `detection:<id>`, with what responders did to it. */
export interface DetectionRow {
  id: string;
  detector: string;
  type: string;
  route: string;
  /** `dimension:pseudonyms`, never raw. */
  key: string;
  tenant: string | null;
  value: number;
  threshold: number;
  windowMs: number;
  /** What the edge did: quarantined, alert, monitor, awaiting-approval, budget-exhausted, paused-…. */
  action: string;
  at: number;
  isolate: string;
  state: "open" | "released";
  quarantineKey: string | null;
  releasedBy: string | null;
  releasedAt: number | null;
  approvedBy: string | null;
  /** When a responder's command entered it into the audit chain (attested by the edge). */
  audited: string | null;
}

function needRedis(ctx: OpsContext): NonNullable<OpsContext["redis"]> {
  if (ctx.redis === undefined)
    throw new OpsError(
      "ERR_CONFIG",
      "detections live in Redis: set UPSTASH_REDIS_REST_URL/TOKEN (or --redis, or --local)",
    );
  return ctx.redis;
}

function rowOf(fields: Record<string, string>): DetectionRow {
  const number = (name: string): number => Number(fields[name] ?? 0);
  const optional = (name: string): string | null => (fields[name] ? (fields[name] as string) : null);
  return {
    id: fields.id ?? "",
    detector: fields.detector ?? "",
    type: fields.type ?? "",
    route: fields.route ?? "",
    key: `${fields.dimension ?? ""}:${fields.key ?? ""}`,
    tenant: optional("tenant"),
    value: number("value"),
    threshold: number("threshold"),
    windowMs: number("windowMs"),
    action: fields.action ?? "",
    at: number("at"),
    isolate: fields.isolate ?? "",
    state: fields.state === "released" ? "released" : "open",
    quarantineKey: optional("quarantineKey"),
    releasedBy: optional("releasedBy"),
    releasedAt: fields.releasedAt ? number("releasedAt") : null,
    approvedBy: optional("approvedBy"),
    audited: optional("audited"),
  };
}

/** The detection as alerts describe it (for the resolve event). */
export function detectionOf(row: DetectionRow): Detection {
  const split = row.key.indexOf(":");
  return {
    id: row.id,
    detector: row.detector,
    type: row.type as Detection["type"],
    route: row.route,
    dimension: row.key.slice(0, split),
    keyId: row.key.slice(split + 1),
    tenant: row.tenant ?? undefined,
    value: row.value,
    threshold: row.threshold,
    windowMs: row.windowMs,
    action: row.action,
    at: row.at,
  };
}

/**
 * The most recent detections (newest first), each with its current state, from any reader of the
 * responder's Redis: the CLI (through its context), the dashboard and the report.
 */
export async function readDetections(
  redis: Pick<ResponderRedis, "xrevrange" | "hgetall">,
  prefix: string,
  limit = 100,
): Promise<DetectionRow[]> {
  const entries = await redis.xrevrange(prefix + DETECT_KEYS.stream, "+", "-", limit);
  const rows: DetectionRow[] = [];
  const seen = new Set<string>();
  for (const [, fields] of entries) {
    const flat: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) flat[fields[i] as string] = fields[i + 1] as string;
    const id = flat.id;
    if (id === undefined || seen.has(id)) continue;
    seen.add(id);
    // The hash holds the current state; the stream entry is what the edge wrote at the trip.
    const current = await redis.hgetall(prefix + DETECT_KEYS.detection(id));
    rows.push(rowOf(current ?? flat));
  }
  return rows;
}

/** The most recent detections (newest first), each with its current state. */
export async function listDetections(ctx: OpsContext, limit = 100): Promise<DetectionRow[]> {
  return readDetections(needRedis(ctx), ctx.config.prefix, limit);
}

export async function readDetection(ctx: OpsContext, id: string): Promise<DetectionRow> {
  if (!DETECTION_ID.test(id))
    throw usageError(
      `${JSON.stringify(id)} is not a detection id as \`containment detections list\` prints it`,
    );
  const fields = await needRedis(ctx).hgetall(ctx.config.prefix + DETECT_KEYS.detection(id));
  if (fields === null)
    throw new OpsError(
      "ERR_NOT_FOUND",
      `no detection ${id} (wrong id, or older than 30 days): nothing was changed`,
    );
  return rowOf(fields);
}

function attested(row: DetectionRow): Json {
  return {
    attestedBy: "edge",
    isolate: row.isolate,
    detection: row.id,
    detector: row.detector,
    type: row.type,
    route: row.route,
    key: row.key,
    tenant: row.tenant,
    value: row.value,
    threshold: row.threshold,
    windowMs: row.windowMs,
    action: row.action,
    at: new Date(row.at).toISOString(),
  };
}

/**
 * Enters detections not yet in the audit chain, once each (an `audited` mark taken with HSETNX, so
 * two responders never enter the same one twice). Answers how many were entered and warnings.
 */
export async function enterDetections(
  ctx: OpsContext,
  rows: readonly DetectionRow[],
): Promise<{ entered: number; warnings: string[] }> {
  const redis = needRedis(ctx);
  const warnings: string[] = [];
  let entered = 0;
  const actor = rows.some((row) => row.audited === null) ? await ctx.actor() : undefined;
  for (const row of rows) {
    if (row.audited !== null || actor === undefined) continue;
    const key = ctx.config.prefix + DETECT_KEYS.detection(row.id);
    const mark = new Date(ctx.now()).toISOString();
    if (!(await redis.hsetnx(key, "audited", mark))) continue;
    try {
      const result = await appendAudit(ctx.audit, {
        actor,
        claimedActor: ctx.config.actorClaim ?? null,
        action: "detection",
        phase: "result",
        incident: null,
        reason: null,
        key: DETECT_KEYS.detection(row.id),
        before: null,
        after: attested(row),
        outcome: "ok",
        detail: `attested by the edge (isolate ${row.isolate}); entered by ${actor.name}`,
      });
      warnings.push(...appendWarnings(ctx.audit, result, "result"));
      row.audited = mark;
      entered++;
    } catch (error) {
      await redis.hdel(key, "audited").catch(() => 0);
      warnings.push(
        `detection ${row.id} is not in the audit chain yet (${failureCause(error)}): run the command again`,
      );
    }
  }
  return { entered, warnings };
}

export interface DetectionChange {
  id: string;
  /** The quarantine it had set was deleted (release) or set (approve). */
  quarantine: "released" | "was-gone" | "none" | "set" | "already-set";
  warnings: string[];
}

async function audited(
  ctx: OpsContext,
  row: DetectionRow,
  action: string,
  reason: string | null,
  incident: string | null,
  change: () => Promise<Json>,
  detail: (after: Json) => string,
): Promise<{ after: Json; warnings: string[] }> {
  const actor = await ctx.actor();
  const base = {
    actor,
    claimedActor: ctx.config.actorClaim ?? null,
    action,
    incident,
    reason,
    key: DETECT_KEYS.detection(row.id),
  };
  const warnings: string[] = [];
  const intent = await appendAudit(ctx.audit, {
    ...base,
    phase: "intent",
    before: attested(row),
    after: null,
  });
  warnings.push(...appendWarnings(ctx.audit, intent, "intent"));
  let after: Json;
  try {
    after = await change();
  } catch (error) {
    await appendAudit(ctx.audit, {
      ...base,
      phase: "result",
      before: attested(row),
      after: null,
      outcome: "failed",
      detail: `Redis ${failureCause(error)}`,
    }).catch(() => undefined);
    throw new OpsError(
      "ERR_UNAVAILABLE",
      `Redis ${failureCause(error)}: detection ${row.id} was not changed`,
    );
  }
  try {
    const result = await appendAudit(ctx.audit, {
      ...base,
      phase: "result",
      before: attested(row),
      after,
      outcome: "ok",
      detail: detail(after),
    });
    warnings.push(...appendWarnings(ctx.audit, result, "result"));
  } catch (error) {
    warnings.push(
      `AUDIT ENTRY NOT RECORDED: neither Redis nor the journal took the result entry (${failureCause(error)}); the change stands: note it in the incident's record`,
    );
  }
  return { after, warnings };
}

/** Releases a detection: deletes the quarantine it set (if still there), marks it released, resolves its alert. */
export async function releaseDetection(
  ctx: OpsContext,
  id: string,
  reason: string | null,
  incident: string | null,
  alerts: AlertTargets,
): Promise<DetectionChange> {
  const redis = needRedis(ctx);
  const row = await readDetection(ctx, id);
  if (row.state === "released")
    throw new OpsError(
      "ERR_CONFLICT",
      `detection ${id} was already released by ${row.releasedBy ?? "?"}: nothing was changed`,
    );
  await enterDetections(ctx, [row]);
  const actor = await ctx.actor();
  let quarantine: DetectionChange["quarantine"] = "none";
  const { warnings } = await audited(
    ctx,
    row,
    "detection-release",
    reason,
    incident,
    async () => {
      if (row.quarantineKey !== null) {
        const full = ctx.config.prefix + row.quarantineKey;
        // Only the quarantine this detection set: a later one under the same key names another detection.
        const record = await redis.get(full);
        if (record?.includes(`"detection":"${id}"`))
          quarantine = (await redis.del(full)) > 0 ? "released" : "was-gone";
        else quarantine = "was-gone";
      }
      const at = ctx.now();
      await redis.hset(ctx.config.prefix + DETECT_KEYS.detection(id), {
        state: "released",
        releasedBy: actor.name,
        releasedAt: String(at),
      });
      return { state: "released", quarantine, releasedBy: actor.name, at: new Date(at).toISOString() };
    },
    () => (quarantine === "released" ? "released; quarantine deleted" : "released"),
  );
  const failed = await sendAlerts(alerts, detectionOf(row), "resolve", {
    fetch: globalThis.fetch.bind(globalThis),
    now: ctx.now(),
    source: "edge-containment/responder",
  });
  for (const line of failed) warnings.push(`warning: resolve alert: ${line} (the release itself stands)`);
  return { id, quarantine, warnings };
}

const SET_NX = `return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`;

/** Approves a whole-tenant containment that awaits a person: sets its quarantine for its bounded time. */
export async function approveDetection(
  ctx: OpsContext,
  id: string,
  reason: string | null,
  incident: string | null,
): Promise<DetectionChange> {
  const redis = needRedis(ctx);
  const row = await readDetection(ctx, id);
  if (row.action !== "awaiting-approval" || row.quarantineKey === null)
    throw new OpsError(
      "ERR_CONFLICT",
      `detection ${id} awaits no approval (it did: ${row.action}): nothing was changed`,
    );
  if (row.state === "released" || row.approvedBy !== null)
    throw new OpsError(
      "ERR_CONFLICT",
      `detection ${id} was already ${row.state === "released" ? "released" : "approved"}: nothing was changed`,
    );
  await enterDetections(ctx, [row]);
  const fields = (await redis.hgetall(ctx.config.prefix + DETECT_KEYS.detection(id))) ?? {};
  const forMs = Number(fields.forMs ?? 0);
  const actor = await ctx.actor();
  let quarantine: DetectionChange["quarantine"] = "already-set";
  const { warnings } = await audited(
    ctx,
    row,
    "detection-approve",
    reason,
    incident,
    async () => {
      const at = ctx.now();
      const record = JSON.stringify({
        ...JSON.parse(fields.record ?? "{}"),
        at,
        until: at + forMs,
        approvedBy: actor.name,
      });
      const set = await redis.eval(
        SET_NX,
        [ctx.config.prefix + (row.quarantineKey as string)],
        [record, String(forMs)],
      );
      quarantine = set === 1 ? "set" : "already-set";
      await redis.hset(ctx.config.prefix + DETECT_KEYS.detection(id), {
        approvedBy: actor.name,
        action: "quarantined",
      });
      return { quarantine, key: row.quarantineKey, forMs, approvedBy: actor.name };
    },
    () => `whole-tenant quarantine approved for ${Math.round(forMs / 60_000)} min`,
  );
  return { id, quarantine, warnings };
}
