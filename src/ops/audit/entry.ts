/**
 * One audit entry (docs/contracts.md, audit chain). Every change writes an `intent` entry before it and a
 * `result` entry after it; each carries the hash of the entry before it, so the stream is a chain:
 * `hash = sha256(canonicalJson(entry))` in hex, computed by the client (Redis Lua has no SHA-256).
 */
import { sha256Hex } from "../../core/hash.js";
import type { Json } from "../../model/json.js";
import { canonicalJson } from "./canonical.js";

export type AuditAction =
  | "kill"
  | "lift"
  | "extend"
  | "rules-push"
  | "quarantine-release"
  | "incident-open"
  | "incident-close"
  | (string & {});

/** Who made the change, as the Vercel API said (the token's user); `source: "none"` when it could not be asked. */
export interface AuditActor {
  source: "vercel" | "local" | "none";
  id: string | null;
  name: string;
}

export interface AuditEntry {
  v: 1;
  /** Random id of this entry, fixed before the first attempt: a retried or journaled entry is never chained twice. */
  uid: string;
  /** 1, 2, 3… with no gaps: a deleted entry leaves a hole `verify` finds. */
  seq: number;
  /** Client time of the change, ISO 8601 (a journaled entry keeps its original time). */
  ts: string;
  /** Redis's own clock (ms) when the entry was chained; the append script refuses a far-off claim. */
  redisTime: number;
  actor: AuditActor;
  /** `--actor` / `CONTAINMENT_ACTOR`: what the responder said, kept beside what the API said. */
  claimedActor: string | null;
  action: AuditAction;
  phase: "intent" | "result";
  incident: string | null;
  reason: string | null;
  /** The Edge Config key (or Redis key) changed, e.g. `containment_kill_exports`. */
  key: string | null;
  before: Json;
  after: Json;
  /** Hash of the previous entry; null only for seq 1. */
  prev: string | null;
  /** Result entries: `ok`, `failed`, or `unconfirmed`. */
  outcome?: "ok" | "failed" | "unconfirmed";
  /** Result entries: what happened, e.g. `created`, `replaced`, or the error line. */
  detail?: string;
  /** Set when the entry waited in the local journal while Redis was unreachable. */
  journaled?: true;
}

/** What callers give `appendAudit`; the chain fields are filled in when it is appended. */
export type AuditDraft = Omit<AuditEntry, "v" | "uid" | "seq" | "ts" | "redisTime" | "prev" | "journaled"> & {
  ts?: string;
};

/** An entry as stored: the stream id, the canonical text, its hash and optional signature. */
export interface AuditRecord {
  /** Redis stream id (Redis time of the append), or `journal:<n>` before sync. */
  id: string;
  entry: AuditEntry;
  hash: string;
  /** Compact JWS (EdDSA) whose payload is `hash`. */
  sig?: string;
}

export function hashEntry(entry: AuditEntry): Promise<string> {
  return sha256Hex(canonicalJson(entry));
}

/** The chain head as stored in `<prefix>audit:head` and the Edge Config anchor: `<seq>:<hash>`. */
export function headString(seq: number, hash: string): string {
  return `${seq}:${hash}`;
}

export function parseHead(text: string | null | undefined): { seq: number; hash: string } | undefined {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(text ?? "");
  if (!match) return undefined;
  return { seq: Number(match[1]), hash: match[2] as string };
}
