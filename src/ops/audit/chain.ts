/**
 * Appending to and reading the chain in Redis. One Lua script appends only if `audit:head` still
 * equals the head the client built on (Upstash REST has no WATCH); on a mismatch the client
 * re-reads and rebuilds the entry on the new head. The script also refuses an entry whose claimed
 * Redis time is far from Redis's own clock, so `redisTime` cannot be backdated. Never trimmed.
 */
import type { ResponderRedis } from "../../model/responder-redis.js";
import { canonicalJson } from "./canonical.js";
import {
  type AuditDraft,
  type AuditEntry,
  type AuditRecord,
  hashEntry,
  headString,
  parseHead,
} from "./entry.js";
import type { Signer } from "./sign.js";

/** How far (ms) the client's claimed Redis time may be from Redis's clock at append. */
const MAX_TIME_SKEW_MS = 60_000;
const MAX_ATTEMPTS = 200;

export const READ_HEAD_SCRIPT = `
local t = redis.call('TIME')
return {redis.call('GET', KEYS[1]) or '', t[1], t[2]}
`;

export const APPEND_SCRIPT = `
local head = redis.call('GET', KEYS[2]) or ''
if head ~= ARGV[1] then return {0, head} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local claimed = tonumber(ARGV[4])
if claimed == nil or math.abs(now - claimed) > ${MAX_TIME_SKEW_MS} then return {-1, tostring(now)} end
local id = redis.call('XADD', KEYS[1], '*', 'entry', ARGV[2], 'hash', ARGV[3], 'sig', ARGV[6])
redis.call('SET', KEYS[2], ARGV[5])
return {1, id}
`;

export interface ChainContext {
  redis: ResponderRedis;
  prefix: string;
  signer?: Signer | undefined;
}

/** The chain's keys, relative to the prefix: the stream of entries and its head `<seq>:<hash>`. */
export const AUDIT_KEYS = { stream: "audit", head: "audit:head" } as const;

export function auditKeys(prefix: string): { stream: string; head: string } {
  return { stream: `${prefix}${AUDIT_KEYS.stream}`, head: `${prefix}${AUDIT_KEYS.head}` };
}

async function readHead(ctx: ChainContext): Promise<{ head: string; redisTime: number }> {
  const { head } = auditKeys(ctx.prefix);
  const reply = await ctx.redis.eval(READ_HEAD_SCRIPT, [head], []);
  if (!Array.isArray(reply)) throw new Error(`edge-containment: reading ${head} answered ${typeof reply}`);
  return {
    head: String(reply[0] ?? ""),
    redisTime: Number(reply[1]) * 1000 + Math.floor(Number(reply[2]) / 1000),
  };
}

/**
 * Chains one entry. `extra` fields (e.g. `journaled`) become part of the hashed entry.
 * Throws on a Redis failure; the caller decides whether to journal.
 */
export async function chainEntry(
  ctx: ChainContext,
  draft: AuditDraft,
  ts: string,
  uid: string,
  extra: Pick<AuditEntry, "journaled"> = {},
): Promise<AuditRecord> {
  const keys = auditKeys(ctx.prefix);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const { head, redisTime } = await readHead(ctx);
    const parsed = parseHead(head);
    if (head !== "" && parsed === undefined)
      throw new Error(
        `edge-containment: ${keys.head} holds ${JSON.stringify(head.slice(0, 80))}, not a chain head: run \`containment audit verify\``,
      );
    const { ts: _ignored, ...rest } = draft;
    const entry: AuditEntry = {
      ...rest,
      v: 1,
      uid,
      seq: (parsed?.seq ?? 0) + 1,
      ts,
      redisTime,
      prev: parsed?.hash ?? null,
      ...extra,
    };
    const text = canonicalJson(entry);
    const hash = await hashEntry(entry);
    const sig = ctx.signer === undefined ? "" : await ctx.signer.sign(hash);
    const reply = await ctx.redis.eval(
      APPEND_SCRIPT,
      [keys.stream, keys.head],
      [head, text, hash, String(redisTime), headString(entry.seq, hash), sig],
    );
    const status = Array.isArray(reply) ? Number(reply[0]) : Number.NaN;
    if (status === 1 && Array.isArray(reply))
      return { id: String(reply[1]), entry, hash, ...(sig === "" ? {} : { sig }) };
    // Someone else appended first (or our clock read was stale): build on the new head.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 + attempt * 2)));
  }
  throw new Error(
    `edge-containment: could not append to ${keys.stream} after ${MAX_ATTEMPTS} attempts (heavy contention)`,
  );
}

export interface ReadFilter {
  incident?: string | undefined;
  /** ms since the epoch, inclusive, on the entry's `ts`. */
  since?: number | undefined;
  until?: number | undefined;
}

/** Every entry in stream order (pages of 500), optionally filtered. Unparseable entries are kept for verify to flag. */
export async function readChain(
  ctx: Pick<ChainContext, "redis" | "prefix">,
  filter: ReadFilter = {},
): Promise<AuditRecord[]> {
  const { stream } = auditKeys(ctx.prefix);
  const out: AuditRecord[] = [];
  let start = "-";
  for (;;) {
    // Entries as stored, byte for byte: the hash is checked against the entry's exact text.
    const page = await ctx.redis.xrange(stream, start, "+", 500);
    const ids: string[] = [];
    for (const [id, flat] of page) {
      const fields: Record<string, unknown> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i] as string] = flat[i + 1];
      ids.push(id);
      out.push(toRecord(id, fields));
    }
    if (ids.length < 500) break;
    start = `(${ids[ids.length - 1]}`;
  }
  return out.filter((record) => matches(record.entry, filter));
}

function toRecord(id: string, fields: Record<string, unknown>): AuditRecord {
  const raw = typeof fields.entry === "string" ? fields.entry : JSON.stringify(fields.entry ?? null);
  let entry: AuditEntry;
  try {
    entry = JSON.parse(raw) as AuditEntry;
  } catch {
    entry = { unparseable: raw.slice(0, 200) } as unknown as AuditEntry;
  }
  const sig = typeof fields.sig === "string" && fields.sig !== "" ? fields.sig : undefined;
  return { id, entry, hash: String(fields.hash ?? ""), ...(sig === undefined ? {} : { sig }) };
}

function matches(entry: AuditEntry, filter: ReadFilter): boolean {
  if (filter.incident !== undefined && entry.incident !== filter.incident) return false;
  const at = Date.parse(entry.ts);
  if (filter.since !== undefined && !(at >= filter.since)) return false;
  if (filter.until !== undefined && !(at <= filter.until)) return false;
  return true;
}
