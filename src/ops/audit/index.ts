/**
 * The audit API (docs/contracts.md, audit chain) that the CLI, the dashboard and the incident commands call:
 *
 *   appendAudit(ctx, draft)   chain one entry in Redis, or journal it when Redis is unreachable
 *   readAudit(ctx, filter?)   entries in order, optionally by incident / time
 *   verifyAudit(records, {anchor?, keys?})
 *   syncJournal(ctx)          chain journaled entries (their original times kept, marked journaled)
 *   readAnchor(api) / writeAnchor(api, head)   the Edge Config item `containment_audit_head`
 */
import { withDeadline } from "../../core/deadline.js";
import { AUDIT_ANCHOR_ITEM } from "../../model/edge-config-items.js";
import type { Json } from "../../model/json.js";
import type { ResponderRedis } from "../../model/responder-redis.js";
import type { PatchOperation, VercelApi } from "../edge-config-api.js";
import { failureCause } from "../errors.js";
import { chainEntry, type ReadFilter, readChain } from "./chain.js";
import { type AuditDraft, type AuditRecord, parseHead } from "./entry.js";
import type { Journal } from "./journal.js";
import type { Signer } from "./sign.js";

export { canonicalJson } from "./canonical.js";
export { auditKeys, type ReadFilter } from "./chain.js";
export type { AuditAction, AuditActor, AuditDraft, AuditEntry, AuditRecord } from "./entry.js";
export { hashEntry, headString, parseHead } from "./entry.js";
export { type Journal, type JournaledDraft, memoryJournal } from "./journal.js";
export { createSigner, generateSigningKey, type KeySet, type Signer } from "./sign.js";
export { type ChainBreak, type VerifyOptions, type VerifyResult, verifyAudit } from "./verify.js";

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
          out.anchorError = `the Vercel API ${failureCause(error)}`;
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
    throw new Error(
      "edge-containment: reading the audit trail needs Redis (UPSTASH_REDIS_REST_URL or --redis)",
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
  if (last !== undefined && ctx.api !== undefined) await writeAnchor(ctx.api, last.entry.seq, last.hash);
  return { synced, skipped: done.size - synced, remaining: pending.length - done.size };
}

export interface Anchor {
  seq: number;
  hash: string;
  at: string;
}

function anchorValue(value: Json | undefined): Anchor | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const head = parseHead(`${String(value.seq)}:${String(value.hash)}`);
  return head === undefined ? undefined : { ...head, at: String(value.at ?? "") };
}

export async function readAnchor(api: VercelApi): Promise<Anchor | undefined> {
  return anchorValue((await api.item(AUDIT_ANCHOR_ITEM))?.value);
}

/** The PATCH operation that moves the anchor to `seq:hash`, given the anchor item as read. */
export function anchorOperation(
  current: Json | undefined,
  seq: number,
  hash: string,
  at = new Date().toISOString(),
): PatchOperation | undefined {
  const existing = anchorValue(current);
  if (existing !== undefined && existing.seq >= seq) return undefined;
  const value = { seq, hash, at };
  return current === undefined
    ? { operation: "create", key: AUDIT_ANCHOR_ITEM, value }
    : { operation: "update", key: AUDIT_ANCHOR_ITEM, value };
}

/** Moves the anchor forward (never back: a slower responder's older head is skipped). */
export async function writeAnchor(api: VercelApi, seq: number, hash: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const current = await api.item(AUDIT_ANCHOR_ITEM);
    const op = anchorOperation(current?.value, seq, hash);
    if (op === undefined) return;
    try {
      await api.patch([op]);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "ERR_CONFLICT" || attempt === 2) throw error;
    }
  }
}
