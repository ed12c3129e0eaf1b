/**
 * Checks a chain: every entry's hash is the SHA-256 of its canonical JSON, every `prev` is the hash
 * of the entry before it, `seq` runs 1, 2, 3… without gaps (a deleted or reordered entry breaks
 * it), the Edge Config anchor names an entry the chain holds with that hash (so a truncated tail
 * with a rewritten head is found), at most the entries of one change follow the anchor (so entries
 * appended by whoever can write the stream are found), and, with keys, every entry is signed by one
 * of them. Without an anchor a non-empty chain fails unless the caller allows it.
 */
import type { AuditEntry, AuditRecord } from "./entry.js";
import { hashEntry, parseHead } from "./entry.js";
import { type KeySet, signatureVerifier } from "./sign.js";

/**
 * How many entries may follow the Edge Config anchor: the entries of the one change in flight,
 * its `intent` and its `result`. Every writer anchors its intent before it acts (in the PATCH that
 * makes an Edge Config change, or right after appending it) and its result right after appending
 * that, so a verify that runs meanwhile sees at most these two, or one entry each of two responders
 * changing at the same moment. Never allowed, even within the two: an intent followed by its `ok`
 * result (same action, key, incident and actor), since that change would have anchored its intent
 * before it acted. More is a failure: review the entries and re-anchor (`containment audit anchor`).
 */
export const ANCHOR_ALLOWANCE = 2;

export interface ChainBreak {
  /** 0-based position in the records given; -1 when the anchor itself is at fault. */
  index: number;
  seq: number | null;
  id: string;
  reason: string;
}

/** An entry after the anchor, as a responder reviews it before re-anchoring. */
export interface TailEntry {
  seq: number;
  id: string;
  ts: string;
  action: string;
  phase: string;
  actor: string;
  key: string | null;
  outcome: string | null;
}

export interface VerifyResult {
  ok: boolean;
  /** `<seq>:<hash>` of the last entry, or "" for an empty chain. */
  head: string;
  count: number;
  firstBreak?: ChainBreak;
  /** The anchor the chain was checked against: `present` (and agreed), `absent`, `malformed` or `not-given`. */
  anchor: "present" | "absent" | "malformed" | "not-given";
  /** Entries after the anchor (all of them without one): at most ANCHOR_ALLOWANCE for a verified chain. */
  unanchored: number;
  /** The entries after the anchor, for review (empty without an anchor). */
  tail: TailEntry[];
  /** With keys: entries whose signature one of them verified (every entry, when ok). */
  signed?: number;
  /** Entries that carry a signature (checked only with keys). */
  carrySignature: number;
}

/** The anchor item as the Vercel API holds it, when it exists but is not a chain head. */
export interface MalformedAnchor {
  malformed: unknown;
}

export interface VerifyOptions {
  /**
   * The Edge Config item `containment_audit_head` as read: `{seq, hash}` or `"<seq>:<hash>"`;
   * `null` when the item is absent; `{malformed}` when it holds something else; undefined when it
   * was not asked for.
   */
  anchor?: { seq: number; hash: string } | string | MalformedAnchor | null | undefined;
  /** A non-empty chain without an anchor (absent or not given) passes only with this. */
  allowUnanchored?: boolean | undefined;
  /** Skip the allowance check (`audit anchor` reviews a longer tail before re-anchoring it). */
  ignoreAllowance?: boolean | undefined;
  keys?: KeySet | undefined;
}

const REANCHOR =
  "review them with `containment audit log`, then re-anchor with `containment audit anchor --yes`";

type AnchorReading =
  | { state: "present"; seq: number; hash: string }
  | { state: "absent" | "not-given" }
  | { state: "malformed"; text: string };

function readingOf(anchor: VerifyOptions["anchor"]): AnchorReading {
  if (anchor === undefined) return { state: "not-given" };
  if (anchor === null) return { state: "absent" };
  if (typeof anchor === "string") {
    const head = parseHead(anchor);
    return head === undefined ? { state: "malformed", text: anchor } : { state: "present", ...head };
  }
  if ("malformed" in anchor) return { state: "malformed", text: JSON.stringify(anchor.malformed) ?? "" };
  const head = parseHead(`${anchor.seq}:${anchor.hash}`);
  return head === undefined
    ? { state: "malformed", text: JSON.stringify(anchor) }
    : { state: "present", ...head };
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

function sameChange(intent: AuditEntry, result: AuditEntry): boolean {
  return (
    intent.action === result.action &&
    intent.key === result.key &&
    intent.incident === result.incident &&
    intent.actor?.id === result.actor?.id &&
    intent.actor?.name === result.actor?.name
  );
}

function describe(record: AuditRecord): string {
  const e = record.entry;
  return `#${e.seq} ${e.action} ${e.phase}${e.outcome ? ` ${e.outcome}` : ""} by ${e.actor?.name ?? "?"}`;
}

/** Why the entries after the anchor exceed the allowance, or undefined when they do not. */
export function tailProblem(tail: readonly AuditRecord[], anchorSeq: number): string | undefined {
  if (tail.length > ANCHOR_ALLOWANCE)
    return `${tail.length} entries follow the Edge Config anchor #${anchorSeq}, more than one change's intent and result (${ANCHOR_ALLOWANCE}): ${REANCHOR}`;
  for (let i = 0; i < tail.length; i++) {
    const intent = (tail[i] as AuditRecord).entry;
    if (intent.phase !== "intent") continue;
    for (const later of tail.slice(i + 1))
      if (later.entry.phase === "result" && later.entry.outcome === "ok" && sameChange(intent, later.entry))
        return `${describe(tail[i] as AuditRecord)} and its ok result ${describe(later)} both follow the Edge Config anchor #${anchorSeq}, which a change never leaves so (it anchors its intent before it acts): ${REANCHOR}`;
  }
  return undefined;
}

function tailEntry(record: AuditRecord): TailEntry {
  const e = record.entry;
  return {
    seq: e.seq,
    id: record.id,
    ts: String(e.ts),
    action: String(e.action),
    phase: String(e.phase),
    actor: String(e.actor?.name ?? "?"),
    key: e.key ?? null,
    outcome: e.outcome ?? null,
  };
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
  const reading = readingOf(options.anchor);
  let signed = 0;
  const last = records[records.length - 1];
  const base: VerifyResult = {
    ok: true,
    head: last === undefined ? "" : `${last.entry?.seq}:${last.hash}`,
    count: records.length,
    anchor: reading.state,
    unanchored: reading.state === "present" ? Math.max(0, records.length - reading.seq) : records.length,
    tail: [],
    carrySignature: records.filter((record) => typeof record.sig === "string" && record.sig !== "").length,
  };
  const result = (firstBreak?: ChainBreak, extra: Partial<VerifyResult> = {}): VerifyResult => {
    const out: VerifyResult = { ...base, ...extra, ok: firstBreak === undefined };
    if (firstBreak !== undefined) out.firstBreak = firstBreak;
    if (checkSignature !== undefined) out.signed = signed;
    return out;
  };
  const broken = (index: number, reason: string): ChainBreak => {
    const record = records[index] as AuditRecord;
    const seq = typeof record.entry?.seq === "number" ? record.entry.seq : null;
    return { index, seq, id: record.id, reason };
  };
  const anchorBreak = (index: number, seq: number | null, id: string, reason: string): ChainBreak => ({
    index,
    seq,
    id,
    reason,
  });
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
  if (reading.state === "malformed")
    return result(
      anchorBreak(
        -1,
        null,
        "anchor",
        `the Edge Config anchor containment_audit_head holds ${reading.text.slice(0, 80)}, not a chain head: find out who changed it, then re-anchor with \`containment audit anchor --yes\``,
      ),
    );
  if (reading.state !== "present") {
    if (records.length === 0 || options.allowUnanchored === true) return result();
    const where =
      reading.state === "absent"
        ? "the Edge Config item containment_audit_head is missing"
        : "no Edge Config anchor was given";
    return result(
      anchorBreak(
        -1,
        null,
        "anchor",
        `${where}, so nothing bounds what was appended to the ${records.length} entries: ${REANCHOR} (or pass --allow-unanchored to check the links alone)`,
      ),
    );
  }
  const anchored = records[reading.seq - 1];
  if (anchored === undefined)
    return result(
      anchorBreak(
        records.length,
        reading.seq,
        "anchor",
        `the Edge Config anchor names entry ${reading.seq} but the chain ends at ${records.length}: its tail was truncated`,
      ),
    );
  if (anchored.hash !== reading.hash)
    return result(
      anchorBreak(
        reading.seq - 1,
        reading.seq,
        anchored.id,
        `entry ${reading.seq} differs from the one the Edge Config anchor recorded: the chain was rewritten`,
      ),
    );
  const tail = records.slice(reading.seq);
  const extra = { tail: tail.map(tailEntry) };
  const problem = options.ignoreAllowance === true ? undefined : tailProblem(tail, reading.seq);
  if (problem !== undefined)
    return result(anchorBreak(reading.seq, reading.seq + 1, (tail[0] as AuditRecord).id, problem), extra);
  return result(undefined, extra);
}
