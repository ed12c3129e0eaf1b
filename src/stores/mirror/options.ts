/**
 * The mirror's options, its accounting and its contract with the engine (types and defaults only;
 * the mirror itself is redis-mirror.ts).
 */
import type { Redis } from "@upstash/redis/cloudflare";
import type { Keyring } from "../../core/identity.js";
import { QUIET_FLUSH_MAX_MS } from "../../model/defaults.js";
import type { DecisionSink } from "../../model/sink.js";
import type { CompiledRuleset } from "../../rules/ruleset.js";

export interface MirrorOptions {
  /** Share (0–1) of allowed decisions written to `events`; every other outcome is always written. Default 0.01. */
  sampleAllows?: number;
  /** Approximate length cap of the `events` stream (XADD MAXLEN ~). Default 100 000. */
  maxEvents?: number;
  /** Events an isolate buffers between flushes; beyond that they fold into aggregates. Default 2 000. */
  bufferSize?: number;
  /** Events per flush. Default 500. */
  batchSize?: number;
  /** Least time between two flushes of one isolate (blocks go out this soon). Default 100 ms. */
  minIntervalMs?: number;
  /**
   * Longest a decision on a reserved shape (a protected route, an open incident's kill switch), a
   * monitor note or a fail-open error waits for its flush, and the first interval of the quiet
   * cadence. Default 2 000 ms (docs/recorded-format.md, when evidence goes out).
   */
  evidenceIntervalMs?: number;
  /**
   * The quiet cadence's ceiling: decisions on other shapes flush every `evidenceIntervalMs`,
   * doubling while nothing more urgent comes, up to this. Default 16 000 ms (`QUIET_FLUSH_MAX_MS`).
   */
  quietMaxIntervalMs?: number;
  /** Least time between two flushes while decisions arrive at `floodRate` per second or more. Default 1 000 ms. */
  floodIntervalMs?: number;
  /** Decisions per second (measured over the last batch) that mark a flood. Default 200. */
  floodRate?: number;
  /** More events than this of one (rule, route, tenant, network, outcome) in a batch become one aggregate. Default 10. */
  aggregateAfter?: number;
  /** Deadline of one flush request. Default 2 000 ms. */
  timeoutMs?: number;
  /** Lifetime of `counts`, `shapes` and `top` keys. Default 8 days. */
  retentionSeconds?: number;
  /** How often an isolate rewrites its enforcement report. Default 2 000 ms (docs/contracts.md, the isolate report). */
  reportEveryMs?: number;
  /**
   * Distinct `shapes` fields a minute an isolate gives to shapes a kill switch, rate limit or tenant
   * binding matches, before `~overflow-reserved` (docs/recorded-format.md). Default 2 000.
   */
  reservedShapes?: number;
  /** Distinct `shapes` fields a minute an isolate gives to every other shape, before `~other`. Default 500. */
  generalShapes?: number;
  /** Random source for sampling (tests). */
  random?: () => number;
}

export interface MirrorStats {
  /** Decisions handed to `record`. */
  recorded: number;
  /** Events waiting for a flush. */
  buffered: number;
  /** `events` entries written (single events and aggregates). */
  sent: number;
  /** Decisions missing from `counts` plus events lost beyond the aggregates (both counted in Redis). */
  dropped: number;
  /** Flush requests sent. */
  flushes: number;
  /** Flush requests that failed or were refused (and will be retried). */
  failures: number;
  lastError?: string;
  /** This isolate's id in `isolates` and the `mirror:*` hashes. */
  isolate?: string;
  /** Decisions Redis confirmed are in `counts` or `mirror:drops`. */
  accounted?: number;
  /** A batch is waiting for Redis to confirm it. */
  unresolved?: boolean;
}

/** What an isolate enforces, for its report: digest and kill switches as `id@version`. */
export interface Enforcement {
  digest: string;
  switches: readonly string[];
  fast: readonly string[];
}

/** A DecisionSink with visible accounting and a way to record problems of the rules source. */
export interface Mirror extends DecisionSink {
  stats(): MirrorStats;
  recordSource(event: string, detail?: Readonly<Record<string, unknown>>, region?: string): void;
  /** What the isolate enforces now; a change makes the next flush carry a report. */
  noteEnforcement(enforcement: Enforcement): void;
  /** The ruleset in force: which route shapes have reserved capacity (docs/recorded-format.md). */
  noteRuleset?(ruleset: CompiledRuleset): void;
}

export interface RedisMirrorDeps {
  client: Redis;
  keyring: Keyring;
  /** Key prefix, default `containment:`. */
  prefix?: string;
  region?: string;
  /** `CONTAINMENT_REPORT_SECRET`: reports carry a MAC only when it is set. */
  reportSecret?: string;
  /** `VERCEL_ENV` (production when unset): the environment the reports' MAC is bound to. */
  reportEnvironment?: string;
  /** This isolate's id (default: random). */
  isolate?: string;
  report?: (event: string, detail?: Readonly<Record<string, unknown>>) => void;
}

/** The options with their defaults applied and bounds enforced. */
export type MirrorSettings = ReturnType<typeof mirrorSettings>;

export function mirrorSettings(options: MirrorOptions) {
  return {
    sampleAllows: Math.min(1, Math.max(0, options.sampleAllows ?? 0.01)),
    maxEvents: Math.max(1, options.maxEvents ?? 100_000),
    bufferSize: Math.max(1, options.bufferSize ?? 2_000),
    batchSize: Math.max(1, options.batchSize ?? 500),
    minIntervalMs: Math.max(0, options.minIntervalMs ?? 100),
    evidenceIntervalMs: Math.max(0, options.evidenceIntervalMs ?? 2_000),
    quietMaxIntervalMs: Math.max(0, options.quietMaxIntervalMs ?? QUIET_FLUSH_MAX_MS),
    floodIntervalMs: Math.max(0, options.floodIntervalMs ?? 1_000),
    floodRate: Math.max(1, options.floodRate ?? 200),
    aggregateAfter: Math.max(1, options.aggregateAfter ?? 10),
    timeoutMs: Math.max(1, options.timeoutMs ?? 2_000),
    retentionSeconds: Math.max(60, options.retentionSeconds ?? 8 * 86_400),
    reportEveryMs: Math.max(0, options.reportEveryMs ?? 2_000),
    reservedShapes: Math.max(1, options.reservedShapes ?? 2_000),
    generalShapes: Math.max(1, options.generalShapes ?? 500),
    random: options.random ?? Math.random,
  };
}
