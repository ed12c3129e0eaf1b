/**
 * Checks a chain: every entry's hash is the SHA-256 of its canonical JSON, every `prev` is the hash
 * of the entry before it, `seq` runs 1, 2, 3… without gaps (a deleted or reordered entry breaks
 * it), the Edge Config anchor names an entry the chain holds with that hash (so a truncated tail
 * with a rewritten head is found), and, with keys, every entry is signed by one of them.
 */
import type { AuditRecord } from "./entry.js";
import { hashEntry, parseHead } from "./entry.js";
import { type KeySet, signatureVerifier } from "./sign.js";

export interface ChainBreak {
  /** 0-based position in the records given. */
  index: number;
  seq: number | null;
  id: string;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  /** `<seq>:<hash>` of the last entry, or "" for an empty chain. */
  head: string;
  count: number;
  firstBreak?: ChainBreak;
  /** Entries after the anchor (not yet anchored in Edge Config): expected to be 0 or 1. */
  unanchored?: number;
  signed?: number;
}

export interface VerifyOptions {
  /** The Edge Config item `containment_audit_head` (`{seq, hash}` or `"<seq>:<hash>"`). */
  anchor?: { seq: number; hash: string } | string | undefined;
  keys?: KeySet | undefined;
}

function anchorOf(anchor: VerifyOptions["anchor"]): { seq: number; hash: string } | undefined {
  if (anchor === undefined) return undefined;
  if (typeof anchor === "string") return parseHead(anchor);
  return anchor;
}

async function linkBreak(records: readonly AuditRecord[], index: number): Promise<string | undefined> {
  const record = records[index] as AuditRecord;
  const entry = record.entry;
  if (typeof entry !== "object" || entry === null || entry.v !== 1) return "is not a v1 audit entry";
  if (entry.seq !== index + 1)
    return `has seq ${entry.seq} where ${index + 1} belongs: an entry was deleted, inserted or reordered`;
  const computed = await hashEntry(entry);
  if (computed !== record.hash) return "does not match its hash: the entry was altered";
  const expectedPrev = index === 0 ? null : (records[index - 1] as AuditRecord).hash;
  if (entry.prev !== expectedPrev) return "does not link to the entry before it: the chain was altered";
  return undefined;
}

/**
 * @example
 * const result = await verifyAudit(await readAudit(ctx), { anchor: await readAnchor(api) });
 * if (!result.ok) console.error(result.firstBreak);
 */
export async function verifyAudit(
  records: readonly AuditRecord[],
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const checkSignature = options.keys === undefined ? undefined : signatureVerifier(options.keys);
  let signed = 0;
  const result = (firstBreak?: ChainBreak): VerifyResult => {
    const last = records[records.length - 1];
    const head = last === undefined ? "" : `${last.entry.seq}:${last.hash}`;
    const out: VerifyResult = { ok: firstBreak === undefined, head, count: records.length };
    if (firstBreak !== undefined) out.firstBreak = firstBreak;
    if (checkSignature !== undefined) out.signed = signed;
    return out;
  };
  const broken = (index: number, reason: string): ChainBreak => {
    const record = records[index] as AuditRecord;
    const seq = typeof record.entry?.seq === "number" ? record.entry.seq : null;
    return { index, seq, id: record.id, reason };
  };
  for (let index = 0; index < records.length; index++) {
    const reason = await linkBreak(records, index);
    if (reason !== undefined)
      return result(broken(index, `entry ${index + 1} (${(records[index] as AuditRecord).id}) ${reason}`));
    if (checkSignature !== undefined) {
      const record = records[index] as AuditRecord;
      const check = await checkSignature(record.hash, record.sig);
      if (check !== "ok") {
        const what = {
          missing: "is not signed",
          bad: "has a signature no given key verifies",
          mismatch: "carries a signature over another entry",
        }[check];
        return result(broken(index, `entry ${index + 1} (${record.id}) ${what}`));
      }
      signed++;
    }
  }
  const anchor = anchorOf(options.anchor);
  if (options.anchor !== undefined && anchor === undefined)
    return {
      ...result(),
      ok: false,
      firstBreak: {
        index: -1,
        seq: null,
        id: "anchor",
        reason: "the Edge Config anchor containment_audit_head is not a chain head",
      },
    };
  if (anchor !== undefined) {
    const anchored = records[anchor.seq - 1];
    if (anchored === undefined)
      return {
        ...result(),
        ok: false,
        firstBreak: {
          index: records.length,
          seq: anchor.seq,
          id: "anchor",
          reason: `the Edge Config anchor names entry ${anchor.seq} but the chain ends at ${records.length}: its tail was truncated`,
        },
      };
    if (anchored.hash !== anchor.hash)
      return {
        ...result(),
        ok: false,
        firstBreak: {
          index: anchor.seq - 1,
          seq: anchor.seq,
          id: anchored.id,
          reason: `entry ${anchor.seq} differs from the one the Edge Config anchor recorded: the chain was rewritten`,
        },
      };
    return { ...result(), unanchored: records.length - anchor.seq };
  }
  return result();
}
