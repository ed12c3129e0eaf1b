/**
 * The audit API (docs/contracts.md, audit chain) that the CLI, the dashboard and the incident commands call:
 *
 *   appendAudit(ctx, draft)   chain one entry in Redis, or journal it when Redis is unreachable
 *   readAudit(ctx, filter?)   entries in order, optionally by incident / time
 *   verifyAudit(records, {anchor?, keys?})
 *   syncJournal(ctx)          chain journaled entries (their original times kept, marked journaled)
 *   readAnchor(api) / writeAnchor(api, head)   the Edge Config item `containment_audit_head`
 *   readForVerify(ctx, api)   the chain and the anchor, read so that one cannot run ahead of the other
 */
import { withDeadline } from "../../core/deadline.js";
import { AUDIT_ANCHOR_ITEM } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import type { ResponderRedis } from "../../model/responder-redis.js";
import type { PatchOperation, VercelApi } from "../edge-config-api.js";
import { failureCause, OpsError } from "../errors.js";
import { chainEntry, type ReadFilter, readChain } from "./chain.js";
import { type AuditDraft, type AuditRecord, parseHead } from "./entry.js";
import type { Journal } from "./journal.js";
import type { Signer } from "./sign.js";
import { ANCHOR_ALLOWANCE, type MalformedAnchor } from "./verify.js";

export { canonicalJson } from "./canonical.js";
export { auditKeys, type ReadFilter } from "./chain.js";
export type { AuditAction, AuditActor, AuditDraft, AuditEntry, AuditRecord } from "./entry.js";
export { hashEntry, headString, parseHead } from "./entry.js";
export { type Journal, type JournaledDraft, memoryJournal } from "./journal.js";
export { createSigner, generateSigningKey, type KeySet, type Signer } from "./sign.js";
export {
  ANCHOR_ALLOWANCE,
  type ChainBreak,
  type MalformedAnchor,
  type TailEntry,
  tailProblem,
  type VerifyOptions,
  type VerifyResult,
  verifyAudit,
} from "./verify.js";

export interface AuditContext {
  /** Absent: every entry is journaled (and the caller says so). */
  redis?: ResponderRedis | undefined;
  prefix: string;
  signer?: Signer | undefined;
  journal?: Journal | undefined;
  /** Writes the chain head to Edge Config after each append (the anchor). */
  api?: VercelApi | undefined;
  /** Deadline of one append; default 5000 ms. */
  timeoutMs?: number;
  now?: () => number;
}

export interface AppendResult {
  /** The chained record; undefined when journaled. */
  record?: AuditRecord;
  journaled: boolean;
  /** Why it was journaled, or why the anchor write failed: one line naming the dependency, never the client's message. */
  error?: string;
  anchorError?: string;
}

/**
 * What a responder is told about one appended entry that did not fully land: journaled instead of
 * chained in Redis, or chained without moving the anchor (docs/runbook.md, "When a dependency fails").
 */
export function appendWarnings(audit: AuditContext, entry: AppendResult, where: string): string[] {
  const lines: string[] = [];
  if (entry.journaled)
    lines.push(
      `AUDIT NOT IN REDIS: the ${where} entry went to the journal ${audit.journal?.location ?? ""} (${entry.error}); run \`containment audit sync\` once Redis is reachable`,
    );
  if (entry.anchorError !== undefined)
    lines.push(`warning: the audit anchor was not moved (${entry.anchorError})`);
  return lines;
}

export interface AppendOptions {
  /** Write the anchor after appending (default true); off when the caller puts it in its own PATCH. */
  anchor?: boolean;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Appends one entry. Never loses it: when Redis is missing or fails, the entry goes to the
 * journal (with its original time) and the result says `journaled: true`; with no journal either,
 * it throws.
 *
 * @example
 * await appendAudit(ctx, { action: "kill", phase: "intent", actor, claimedActor: null,
 *   incident: "INC-1", reason: "exports", key: "containment_kill_exports", before: null, after: item });
 */
export async function appendAudit(
  ctx: AuditContext,
  draft: AuditDraft,
  options: AppendOptions = {},
): Promise<AppendResult> {
  const ts = draft.ts ?? new Date((ctx.now ?? Date.now)()).toISOString();
  const uid = randomId();
  let failure = "no Redis configured";
  if (ctx.redis !== undefined) {
    try {
      const chainCtx = { redis: ctx.redis, prefix: ctx.prefix, signer: ctx.signer };
      const record = await withDeadline(
        chainEntry(chainCtx, draft, ts, uid),
        ctx.timeoutMs ?? 5000,
        "audit append",
      );
      const out: AppendResult = { record, journaled: false };
      if (options.anchor !== false && ctx.api !== undefined) {
        try {
          await writeAnchor(ctx.api, record.entry.seq, record.hash);
        } catch (error) {
          out.anchorError =
            error instanceof AnchorRefused ? error.reason : `the Vercel API ${failureCause(error)}`;
        }
      }
      return out;
    } catch (error) {
      failure = `Redis ${failureCause(error)}`;
    }
  }
  if (ctx.journal === undefined)
    throw new Error(
      `edge-containment: cannot record the audit entry (${failure}) and no journal is configured`,
    );
  // Same uid: if the timed-out append did land after all, `audit sync` sees it and skips this one.
  await ctx.journal.append({ uid, ts, draft: { ...draft, ts } });
  return { journaled: true, error: failure };
}

/** Reads the chain (requires Redis). */
export function readAudit(
  ctx: Pick<AuditContext, "redis" | "prefix">,
  filter: ReadFilter = {},
): Promise<AuditRecord[]> {
  if (ctx.redis === undefined)
    throw new OpsError(
      "ERR_CONFIG",
      "reading the audit trail needs Redis: set UPSTASH_REDIS_REST_URL/TOKEN or --redis (or use --local)",
    );
  return readChain({ redis: ctx.redis, prefix: ctx.prefix }, filter);
}

export interface SyncResult {
  synced: number;
  skipped: number;
  remaining: number;
}

/** Chains journaled entries in their order, skipping any already chained (by `journalId`). */
export async function syncJournal(ctx: AuditContext): Promise<SyncResult> {
  if (ctx.redis === undefined || ctx.journal === undefined)
    throw new Error("edge-containment: audit sync needs Redis and the journal");
  const pending = await ctx.journal.list();
  if (pending.length === 0) return { synced: 0, skipped: 0, remaining: 0 };
  const chained = new Set(
    (await readChain({ redis: ctx.redis, prefix: ctx.prefix }))
      .map((record) => record.entry.uid)
      .filter((id): id is string => typeof id === "string"),
  );
  const done = new Set<string>();
  let synced = 0;
  let last: AuditRecord | undefined;
  try {
    for (const item of pending) {
      if (!chained.has(item.uid)) {
        const chainCtx = { redis: ctx.redis, prefix: ctx.prefix, signer: ctx.signer };
        last = await chainEntry(chainCtx, item.draft, item.ts, item.uid, { journaled: true });
        synced++;
      }
      done.add(item.uid);
    }
  } finally {
    await ctx.journal.remove(done);
  }
  if (last !== undefined && ctx.api !== undefined)
    await writeAnchor(ctx.api, last.entry.seq, last.hash, { own: synced });
  return { synced, skipped: done.size - synced, remaining: pending.length - done.size };
}

export interface Anchor {
  seq: number;
  hash: string;
  at: string;
}

function anchorValue(value: Json | undefined): Anchor | undefined {
  if (typeof value === "string") {
    const head = parseHead(value);
    return head === undefined ? undefined : { ...head, at: "" };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const head = parseHead(`${String(value.seq)}:${String(value.hash)}`);
  return head === undefined ? undefined : { ...head, at: String(value.at ?? "") };
}

/** The anchor item as stored: the anchor, `null` when there is none, `{malformed}` when it holds no chain head. */
export function anchorOf(value: Json | undefined): Anchor | MalformedAnchor | null {
  if (value === undefined) return null;
  return anchorValue(value) ?? { malformed: value };
}

/** The Edge Config anchor: `null` when the item is absent, `{malformed}` when it is not a chain head. */
export async function readAnchor(api: VercelApi): Promise<Anchor | MalformedAnchor | null> {
  return anchorOf((await api.item(AUDIT_ANCHOR_ITEM))?.value);
}

export function isAnchor(value: Anchor | MalformedAnchor | null | undefined): value is Anchor {
  return value !== null && value !== undefined && !("malformed" in value);
}

/** Where the anchor goes: the PATCH operation, or why it stays where it is. */
export type AnchorMove =
  | { op: PatchOperation; refused?: undefined }
  | { op?: undefined; refused?: undefined }
  | { op?: undefined; refused: string };

export interface AnchorMoveOptions {
  /** How many of the entries up to the new head this writer appended itself (default 1). */
  own?: number;
  /** Move it whatever lies between (`audit anchor`, after a person reviewed the entries). */
  reviewed?: boolean;
  at?: string;
}

/**
 * The move of the anchor to `seq:hash`, given the anchor item as read. Never back (a slower
 * responder's older head is skipped), never over a malformed anchor, and never over more entries
 * the writer did not append than one change in flight leaves besides its own (ANCHOR_ALLOWANCE - 1):
 * an anchor vouches for everything before it, so entries someone else appended to the stream wait
 * for a person to review them (`containment audit anchor`) instead of being covered by the next change.
 */
export function anchorMove(
  current: Json | undefined,
  seq: number,
  hash: string,
  options: AnchorMoveOptions = {},
): AnchorMove {
  const existing = anchorOf(current);
  const value = { seq, hash, at: options.at ?? new Date().toISOString() };
  const op: PatchOperation =
    current === undefined
      ? { operation: "create", key: AUDIT_ANCHOR_ITEM, value }
      : { operation: "update", key: AUDIT_ANCHOR_ITEM, value };
  if (options.reviewed === true) return { op };
  if (existing !== null && "malformed" in existing)
    return {
      refused: `${AUDIT_ANCHOR_ITEM} holds no chain head; review the chain, then run \`containment audit anchor --yes\``,
    };
  const from = existing?.seq ?? 0;
  if (from >= seq) return {};
  const foreign = seq - from - Math.max(1, options.own ?? 1);
  if (foreign > ANCHOR_ALLOWANCE - 1)
    return {
      refused: `${foreign} audit entries between the anchor #${from} and #${seq} were not written by this command: review them with \`containment audit log\`, then run \`containment audit anchor --yes\``,
    };
  return { op };
}

/** The anchor may not move (see anchorMove): the API worked, the chain is the reason. */
export class AnchorRefused extends Error {
  constructor(readonly reason: string) {
    super(`edge-containment: the anchor stays: ${reason}`);
    this.name = "AnchorRefused";
  }
}

/** Moves the anchor forward (see anchorMove); throws AnchorRefused when it may not move. */
export async function writeAnchor(
  api: VercelApi,
  seq: number,
  hash: string,
  options: Omit<AnchorMoveOptions, "at"> = {},
): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await api.item(AUDIT_ANCHOR_ITEM);
    const move = anchorMove(current?.value, seq, hash, options);
    if (move.refused !== undefined) throw new AnchorRefused(move.refused);
    if (move.op === undefined) return;
    try {
      await api.patch([move.op]);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "ERR_CONFLICT" || attempt === 2) throw error;
    }
  }
}

/**
 * The chain and the anchor for `verifyAudit`. The chain is read first; when the anchor names an
 * entry past its end, a change landed between the two reads and the chain is read again, so only
 * a chain that really ends before its anchor reads as truncated. The anchor is `undefined` when
 * the Vercel API could not be asked.
 */
export async function readForVerify(
  ctx: Pick<AuditContext, "redis" | "prefix">,
  api: VercelApi | undefined,
): Promise<{ records: AuditRecord[]; anchor: Anchor | MalformedAnchor | null | undefined }> {
  let records = await readAudit(ctx);
  if (api === undefined) return { records, anchor: undefined };
  let anchor = await readAnchor(api);
  for (let attempt = 0; attempt < 3 && isAnchor(anchor) && anchor.seq > records.length; attempt++) {
    records = await readAudit(ctx);
    anchor = await readAnchor(api);
  }
  return { records, anchor };
}
