/**
 * The incident copy's rule of change (docs/contracts.md, "Preserved evidence"): the live mirror
 * keys are writable by the edge's credential, the incident copies are not, so a refresh of the copy
 * from the live keys may only ADD what the mirror can still legitimately add (late batches, retried
 * flushes) and only while a minute is inside the retry horizon. Anything else — a live number below
 * the preserved one, a field that vanished from a live key, any change to a frozen minute — is not
 * copied and is kept as a tampering finding. Pure functions; incident-copies.ts does the I/O.
 */

import { sha256Hex } from "../core/hash.js";
import { BATCH_GUARD_TTL_SECONDS } from "../stores/mirror/layout.js";
import { canonicalJson } from "./audit/canonical.js";

const MINUTE = 60_000;

/**
 * How long after its end a minute may still gain decisions: a flush is retried under its guard
 * (`mirror:batch:*`, alive BATCH_GUARD_TTL_SECONDS) and applies at most once in that time; after
 * it, nothing legitimate writes the minute again and its preserved copy is frozen.
 */
export const EVIDENCE_RETRY_HORIZON_MS = BATCH_GUARD_TTL_SECONDS * 1000;

/** Whether minute `m` (epoch minutes) is frozen at `now`. */
export function isFrozen(minute: number, now: number): boolean {
  return now > (minute + 1) * MINUTE + EVIDENCE_RETRY_HORIZON_MS;
}

export type CopyKind = "counts" | "shapes" | "traffic" | "top:tenant" | "top:user" | "top:ip";
export const COPY_KINDS: readonly CopyKind[] = [
  "counts",
  "shapes",
  "traffic",
  "top:tenant",
  "top:user",
  "top:ip",
];

/** One preserved number the live keys contradict. */
export interface TamperFinding {
  minute: number;
  kind: CopyKind;
  field: string;
  /** What the copy holds (and keeps). */
  preserved: number;
  /** What the live key said; 0 when the field is gone from a live key that still exists. */
  live: number;
  /** `decreased`: below the copy; `frozen`: a change to a minute past the retry horizon. */
  reason: "decreased" | "frozen";
  /** When the refresh saw it first (ms). */
  at: number;
}

export interface MergeResult {
  /** Fields to write into the copy (numbers only ever going up). */
  writes: Record<string, number>;
  findings: TamperFinding[];
}

/**
 * Merges one live key into its copy. `live` is null when the live key does not exist (expired
 * with the mirror's retention, or deleted): that adds nothing and contradicts nothing, the copy
 * stands. `covered`: an earlier version already copied this minute (else this is its first copy,
 * taken as it is: evidence from before the first copy is as trustworthy as the edge token).
 */
export function mergeKey(
  copy: Readonly<Record<string, number>>,
  live: Readonly<Record<string, number>> | null,
  where: { minute: number; kind: CopyKind; covered: boolean; now: number },
): MergeResult {
  const writes: Record<string, number> = {};
  const findings: TamperFinding[] = [];
  if (live === null) return { writes, findings };
  const frozen = where.covered && isFrozen(where.minute, where.now);
  const finding = (field: string, preserved: number, seen: number, reason: TamperFinding["reason"]) =>
    findings.push({
      minute: where.minute,
      kind: where.kind,
      field,
      preserved,
      live: seen,
      reason,
      at: where.now,
    });
  for (const [field, preserved] of Object.entries(copy)) {
    const seen = live[field] ?? 0;
    if (seen < preserved) finding(field, preserved, seen, "decreased");
  }
  for (const [field, seen] of Object.entries(live)) {
    const preserved = copy[field] ?? 0;
    if (seen <= preserved) continue;
    if (frozen) finding(field, preserved, seen, "frozen");
    else writes[field] = seen;
  }
  return { writes, findings };
}

/** A copy's content per minute: kind → field → number. */
export type MinuteContent = Partial<Record<CopyKind, Record<string, number>>>;

/**
 * The content hash of a version: SHA-256 of the canonical JSON of every non-empty minute of the
 * copy. `evidence verify` recomputes it from the bundle's counts, traffic and top lists.
 */
export function contentHash(minutes: ReadonlyMap<number, MinuteContent>): Promise<string> {
  const out: Record<string, MinuteContent> = {};
  for (const [minute, content] of [...minutes].sort(([a], [b]) => a - b)) {
    const kept: MinuteContent = {};
    for (const kind of COPY_KINDS) {
      const fields = content[kind];
      if (fields !== undefined && Object.keys(fields).length > 0) kept[kind] = fields;
    }
    if (Object.keys(kept).length > 0) out[String(minute)] = kept;
  }
  return sha256Hex(canonicalJson(out as never));
}

/** One version of the copy, as kept in `incident:<id>:versions` and entered in the audit chain. */
export interface CopyVersion {
  n: number;
  /** When it was taken (ms). */
  at: number;
  /** Content hash (contentHash) of the whole copy after this version. */
  hash: string;
  /** The last minute this version covered (epoch minutes). */
  through: number;
  /** Fields added or raised by this version. */
  added: number;
  /** Tampering findings this refresh made. */
  findings: number;
}

/** A finding as one line, for every report format and `evidence verify`. */
export function findingLine(f: TamperFinding): string {
  const when = new Date(f.minute * MINUTE).toISOString().slice(0, 16);
  return f.reason === "decreased"
    ? `${f.kind} ${when}Z ${f.field}: the live key says ${f.live}, the preserved copy ${f.preserved} (kept)`
    : `${f.kind} ${when}Z ${f.field}: changed to ${f.live} after the minute was frozen, preserved ${f.preserved} (kept)`;
}
