/**
 * The shapes the mirror reader (reader.ts) returns: what the CLI, the dashboard and the report
 * are given, apart from how each key is read.
 */
import type { ResponderRedis } from "../../model/responder-redis.js";
import type { IsolateReport, ReportTrust } from "./isolate-report.js";

export interface MirrorReaderOptions {
  /** The responder's Redis (model/responder-redis.ts): `restRedis` or `tcpRedis` (src/ops/). */
  client: ResponderRedis;
  /** Key prefix, default `containment:`. */
  prefix?: string;
  /** The deployment's `CONTAINMENT_REPORT_SECRET`, to verify enforcement reports. */
  reportSecret?: string;
  now?: () => number;
}

/** Minutes since the epoch, inclusive range. At most `MAX_MINUTES` are read at once. */
export interface MinuteRange {
  from: number;
  to: number;
}

export interface CountRow {
  minute: number;
  rule: string;
  outcome: string;
  n: number;
}

export interface TrafficRow {
  minute: number;
  route: string;
  method: string;
  tenant: string;
  outcome: string;
  n: number;
}

export interface TrafficMinutes {
  rows: TrafficRow[];
  /** minute → decisions beyond the cardinality cap (counted, not itemized). */
  overflow: Record<number, number>;
}

export interface TopEntry {
  member: string;
  n: number;
}

/** One `events` entry. Aggregates (`count` > 1 or `aggregate`) stand for several decisions. */
export interface MirrorEvent {
  /** Stream id (`<ms>-<n>`). */
  streamId: string;
  /** Decisions this entry stands for: 1 for a single event. */
  count: number;
  aggregate: boolean;
  /** First and last decision time (equal for a single event). */
  first: number;
  last: number;
  /** Every field as written (ts, id, rule, kind, outcome, status, method, path, route, tenant, …). */
  fields: Record<string, string>;
}

export interface EventQuery {
  /** Stream ids or ms; default: newest first from now. */
  sinceMs?: number;
  untilMs?: number;
  /** Default 100, at most 10 000. */
  limit?: number;
  /** Oldest first (default newest first). */
  ascending?: boolean;
}

export interface IsolateRecord {
  member: string;
  region: string;
  isolate: string;
  /** The report as stored; absent when it expired (the member is still listed until trimmed). */
  report?: IsolateReport;
  /** Only `verified` is a confirmation. `expired`: the member is listed, its report is gone. */
  trust: ReportTrust | "malformed" | "expired";
  /** Score of the member in `isolates`: the report's `at`. */
  at: number;
}

export interface IsolateLedger {
  member: string;
  region: string;
  isolate: string;
  /** Highest decision sequence number Redis heard of from the isolate. */
  seq: number;
  /** Of those, decisions that reached `counts` or `mirror:drops`. */
  accounted: number;
  /** `seq - accounted`: decisions the isolate made and Redis never received (e.g. it died). */
  gap: number;
  /** Isolate clock of its last contact, ms (0 when unknown). */
  lastContact: number;
}

export interface QuarantineRecord {
  key: string;
  /** `tenant`, `user`, `ip`, `tenant+user`, … */
  dimension: string;
  /** Pseudonymous id. */
  id: string;
  /** The rule, for a rule-scoped quarantine. */
  rule?: string;
  /** ms left; -1 without expiry. */
  ttlMs: number;
  /** The stored JSON evidence (rule, scope, dimension, at, until, tenant?), parsed when it parses. */
  record: Record<string, unknown> | string;
}

export interface Drops {
  /** Decisions missing from `counts`. */
  decisions: number;
  /** Decisions counted whose event could not be kept, even as an aggregate. */
  events: number;
  /** Decisions of reserved route shapes counted in `~overflow-reserved` (in shapes, not by route). */
  shapes?: number;
}

/** A rules document (or other source problem) an isolate rejected, from `events`. */
export interface RejectedPush {
  at: number;
  region: string;
  event: string;
  message: string;
  digest?: string;
}
