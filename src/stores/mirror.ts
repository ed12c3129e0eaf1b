/**
 * The Redis mirror: every decision, off the hot path, in the layout of `mirror-layout.ts`.
 *
 * `record` only counts and buffers (synchronous, O(1)). `flush` runs in the request's `waitUntil`
 * and sends at most one flush script per round: while a flush is in flight or one started less
 * than `minIntervalMs` ago (`floodIntervalMs` after a batch of a flood), one request waits as
 * "standby" on a timer of its own and sends whatever has gathered; every other request leaves its
 * decision in the buffer and returns at once.
 *
 * Evidence is exact (issue 14): a batch is built once, frozen, and sent under a guard until Redis
 * says it was applied (mirror-script.ts); while it is unresolved no other batch goes out, so nothing
 * is applied twice and nothing is lost while the isolate lives. Commands Redis refused inside an
 * applied batch (NOPERM, OOM) come back to the accumulator and go out again. Every attempt carries
 * the isolate's decision sequence number, so the decisions of an isolate that dies with unsent
 * batches are an exact, visible gap (`mirror:seq - mirror:accounted`), not a silent loss.
 *
 * workerd forbids a request to await I/O begun by another request, so a flush never awaits another
 * request's promise: requests coordinate only through plain flags, and each sends its own fetch.
 * A mirror failure never changes a response: `flush` never rejects.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { withDeadline } from "../core/deadline.js";
import type { Keyring } from "../core/identity.js";
import type { Decision } from "../model/decision.js";
import type { DecisionSink } from "../model/sink.js";
import { type IsolateReport, serializeReport } from "./isolate-report.js";
import { MirrorAccumulator } from "./mirror-accumulator.js";
import { type BatchContext, buildBatch, type FrozenBatch, restore } from "./mirror-batch.js";
import { isolateMember, MIRROR_KEYS, REPORT_TTL_SECONDS } from "./mirror-layout.js";
import {
  type Command,
  FLUSH_SCRIPT,
  type FlushAnswer,
  flushArguments,
  parseFlushAnswer,
} from "./mirror-script.js";
import { type LuaScript, luaScript } from "./script-runner.js";

export interface MirrorOptions {
  /** Share (0–1) of allowed decisions written to `events`; every other outcome is always written. Default 0.01. */
  sampleAllows?: number;
  /** Approximate length cap of the `events` stream (XADD MAXLEN ~). Default 100 000. */
  maxEvents?: number;
  /** Events an isolate buffers between flushes; beyond that they fold into aggregates. Default 2 000. */
  bufferSize?: number;
  /** Events per flush. Default 500. */
  batchSize?: number;
  /** Least time between two flushes of one isolate. Default 100 ms. */
  minIntervalMs?: number;
  /** Least time between two flushes while decisions arrive at `floodRate` per second or more. Default 1 000 ms. */
  floodIntervalMs?: number;
  /** Decisions per second (measured over the last batch) that mark a flood. Default 200. */
  floodRate?: number;
  /** More events than this of one (rule, route, tenant, network, outcome) in a batch become one aggregate. Default 10. */
  aggregateAfter?: number;
  /** Deadline of one flush request. Default 2 000 ms. */
  timeoutMs?: number;
  /** Lifetime of `counts`, `traffic` and `top` keys. Default 8 days. */
  retentionSeconds?: number;
  /** How often an isolate rewrites its enforcement report. Default 2 000 ms (CONTRACTS.md format 1). */
  reportEveryMs?: number;
  /** Distinct traffic fields per minute per isolate before `~overflow`. Default 1 000. */
  trafficCap?: number;
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
}

export interface RedisMirrorDeps {
  client: Redis;
  keyring: Keyring;
  /** Key prefix, default `containment:`. */
  prefix?: string;
  region?: string;
  /** `CONTAINMENT_REPORT_SECRET`: reports carry a MAC only when it is set. */
  reportSecret?: string;
  /** This isolate's id (default: random). */
  isolate?: string;
  report?: (event: string, detail?: Readonly<Record<string, unknown>>) => void;
}

const MAX_TABLE = 10_000;
const MAX_BACKOFF_MS = 10_000;
const GUARD_TTL_SECONDS = 3_600;
/** In a flood, more events than this of one aggregate key in a batch fold (see #contextNow). */
const FLOOD_AGGREGATE_AFTER = 2;
/** How long one request's waitUntil may keep flushing as the standby. */
const STANDBY_BUDGET_MS = 20_000;
// Wall-clock for coordination, never an injected test clock: a frozen clock would spin the standby loop.
const clock = (): number => Date.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function settings(options: MirrorOptions) {
  return {
    sampleAllows: Math.min(1, Math.max(0, options.sampleAllows ?? 0.01)),
    maxEvents: Math.max(1, options.maxEvents ?? 100_000),
    bufferSize: Math.max(1, options.bufferSize ?? 2_000),
    batchSize: Math.max(1, options.batchSize ?? 500),
    minIntervalMs: Math.max(0, options.minIntervalMs ?? 100),
    floodIntervalMs: Math.max(0, options.floodIntervalMs ?? 1_000),
    floodRate: Math.max(1, options.floodRate ?? 200),
    aggregateAfter: Math.max(1, options.aggregateAfter ?? 10),
    timeoutMs: Math.max(1, options.timeoutMs ?? 2_000),
    retentionSeconds: Math.max(60, options.retentionSeconds ?? 8 * 86_400),
    reportEveryMs: Math.max(0, options.reportEveryMs ?? 2_000),
    trafficCap: Math.max(1, options.trafficCap ?? 1_000),
    random: options.random ?? Math.random,
  };
}

/**
 * @example
 * const mirror = redisMirror({ client: createRedisClient({ url, token }), keyring });
 * createContainment({ sinks: [mirror] }); // or just `redis: { url, token }`: the mirror is on by default
 */
export function redisMirror(deps: RedisMirrorDeps, options: MirrorOptions = {}): Mirror {
  return new RedisMirror(deps, settings(options));
}

class RedisMirror implements Mirror {
  readonly #deps: Required<Pick<RedisMirrorDeps, "keyring" | "report">> & RedisMirrorDeps;
  readonly #s: ReturnType<typeof settings>;
  readonly #script: LuaScript;
  readonly #prefix: string;
  readonly #region: string;
  readonly #member: string;
  readonly #accumulator: MirrorAccumulator;
  readonly #batchContext: BatchContext;

  #seq = 0;
  #batches = 0;
  #unresolved: FrozenBatch | undefined;
  /** Decisions per second of the last batch: a flood stretches the interval, so fewer, fuller batches. */
  #lastBatchRate = 0;
  #previousBatchAt = 0;
  #enforcement: Enforcement | undefined;
  #reportDue = true;
  #reportedAt = Number.NEGATIVE_INFINITY;
  #troubled = false;

  #inFlight = false;
  #inFlightSince = 0;
  #standby = false;
  #lastStart = Number.NEGATIVE_INFINITY;
  #backoffUntil = 0;
  #consecutiveFailures = 0;
  readonly #stats: MirrorStats;

  constructor(deps: RedisMirrorDeps, s: ReturnType<typeof settings>) {
    this.#deps = { ...deps, report: deps.report ?? (() => {}) };
    this.#s = s;
    this.#script = luaScript(deps.client, FLUSH_SCRIPT);
    this.#prefix = deps.prefix ?? "containment:";
    this.#region = deps.region ?? "local";
    const isolate = deps.isolate ?? crypto.randomUUID().replaceAll("-", "").slice(0, 12);
    this.#member = isolateMember(this.#region, isolate);
    this.#accumulator = new MirrorAccumulator({
      bufferSize: s.bufferSize,
      tableSize: MAX_TABLE,
      trafficCap: s.trafficCap,
    });
    this.#batchContext = {
      prefix: this.#prefix,
      keyring: deps.keyring,
      isolate,
      maxEvents: s.maxEvents,
      retentionSeconds: s.retentionSeconds,
      aggregateAfter: s.aggregateAfter,
      expiring: new Set(),
    };
    this.#stats = {
      recorded: 0,
      buffered: 0,
      sent: 0,
      dropped: 0,
      flushes: 0,
      failures: 0,
      isolate,
      accounted: 0,
    };
  }

  record(decision: Decision): void {
    this.#stats.recorded++;
    const seq = ++this.#seq;
    if (!this.#accumulator.count(decision)) this.#stats.dropped++;
    if (this.#enforcement?.digest !== decision.rulesetDigest) {
      this.#enforcement = {
        digest: decision.rulesetDigest,
        switches: [],
        fast: [],
        ...this.#noted(decision),
      };
      this.#reportDue = true;
    }
    if (decision.outcome === "allow" && !(this.#s.random() < this.#s.sampleAllows)) return;
    this.#accumulator.queue({ item: decision, seq });
  }

  /** Switches noted for this digest survive a decision that only names the digest. */
  #noted(decision: Decision): Partial<Enforcement> {
    const noted = this.#notedEnforcement;
    return noted && noted.digest === decision.rulesetDigest ? noted : {};
  }
  #notedEnforcement: Enforcement | undefined;

  noteEnforcement(enforcement: Enforcement): void {
    const before = this.#enforcement;
    this.#notedEnforcement = enforcement;
    if (
      before?.digest === enforcement.digest &&
      before.switches.join() === enforcement.switches.join() &&
      before.fast.join() === enforcement.fast.join()
    )
      return;
    this.#enforcement = enforcement;
    this.#reportDue = true;
  }

  recordSource(event: string, detail?: Readonly<Record<string, unknown>>, region = this.#region): void {
    const message = typeof detail?.message === "string" ? detail.message : event;
    this.#accumulator.queue({ item: { source: true, at: clock(), event, message, region }, seq: 0 });
  }

  stats(): MirrorStats {
    return {
      ...this.#stats,
      buffered: this.#accumulator.buffered,
      unresolved: this.#unresolved !== undefined,
    };
  }

  async flush(): Promise<void> {
    try {
      // One request at a time is the standby; it keeps flushing while there is work, within a
      // budget, so a burst followed by silence (or an outage's last decisions) is not stranded.
      const budgetEnd = clock() + STANDBY_BUDGET_MS;
      while (this.#hasWork() && !this.#standby && clock() < budgetEnd) {
        if (!(await this.#awaitTurn(budgetEnd))) return;
        if (!this.#hasWork()) return;
        await this.#send();
      }
    } catch (error) {
      this.#deps.report("mirror-error", { message: String(error).slice(0, 200) });
    }
  }

  #hasWork(): boolean {
    return this.#unresolved !== undefined || this.#accumulator.hasWork() || this.#reportDue;
  }

  /**
   * Becomes the one standby of this isolate and waits, on its own timer, until no flush is in
   * flight, the interval since the last one has passed, and any failure backoff is over. False when
   * another request is standby already, or the wait would be too long (a later request will flush).
   */
  async #awaitTurn(budgetEnd: number): Promise<boolean> {
    if (this.#standby) return false;
    this.#standby = true;
    try {
      const interval = this.#interval();
      // While Redis is failing, the standby waits out the backoff (within its budget): after the last
      // request of an outage nobody else would retry, and an attempt carries the sequence number.
      const giveUpAt = budgetEnd;
      for (;;) {
        const now = clock();
        // An in-flight flush whose request was torn down never settles; do not wait on it forever.
        const busy = this.#inFlight && now - this.#inFlightSince < this.#s.timeoutMs + 1_000;
        const wait = Math.max(
          this.#lastStart + interval - now,
          this.#backoffUntil - now,
          busy ? Math.max(5, this.#s.minIntervalMs / 4) : 0,
        );
        if (wait <= 0) return true;
        if (now + wait > giveUpAt) return false;
        await sleep(wait);
      }
    } finally {
      this.#standby = false;
    }
  }

  /**
   * Time between flushes: `minIntervalMs`, `floodIntervalMs` in a flood, twice that at four times the
   * flood rate. A flush costs about the same commands however many decisions it carries (one per
   * count field, aggregate and top member), so the heavier the flood, the fuller each batch should be
   * (issue 15.6); the dashboard polls every 5 s, so evidence 2 s old is still its latest.
   */
  #interval(): number {
    const rate = this.#lastBatchRate;
    if (rate < this.#s.floodRate) return this.#s.minIntervalMs;
    return rate >= 4 * this.#s.floodRate ? 2 * this.#s.floodIntervalMs : this.#s.floodIntervalMs;
  }

  /**
   * The batch context for the batch being built now: while decisions arrive at the flood rate
   * (counted since the last batch), more than two events of one (rule, route, tenant, network,
   * outcome) already fold into an aggregate, so the first batches of a flood (before its rate is
   * known from a whole batch) do not write each blocked request as its own entry.
   */
  #contextNow(now: number): BatchContext {
    const decisions = this.#seq - this.#seqAtBatch;
    const seconds = Math.max(this.#s.minIntervalMs, now - (this.#batchBuiltAt || now - 1_000)) / 1000;
    this.#seqAtBatch = this.#seq;
    this.#batchBuiltAt = now;
    const context = this.#batchContext;
    const rate = decisions / seconds;
    if (rate < this.#s.floodRate) return context;
    // Every other batch of a heavy flood holds its summaries back (mirror-batch.ts holdSummaries).
    this.#held = rate >= 4 * this.#s.floodRate && !this.#held;
    return {
      ...context,
      aggregateAfter: Math.min(context.aggregateAfter, FLOOD_AGGREGATE_AFTER),
      holdSummaries: this.#held,
    };
  }
  #seqAtBatch = 0;
  #batchBuiltAt = 0;
  #held = false;

  /** The heartbeat commands of this attempt: the enforcement report when due. */
  async #beats(now: number): Promise<Command[]> {
    const enforcement = this.#enforcement;
    if (!enforcement || (!this.#reportDue && now - this.#reportedAt < this.#s.reportEveryMs)) return [];
    const { region, isolate } = { region: this.#region, isolate: this.#batchContext.isolate };
    const report: IsolateReport = {
      v: 1,
      region,
      isolate,
      seq: this.#seq,
      at: now,
      digest: enforcement.digest,
      switches: [...enforcement.switches],
      fast: [...enforcement.fast],
    };
    this.#reportDue = false;
    this.#reportedAt = now;
    const key = (name: string): string => this.#prefix + name;
    const beats: Command[] = [
      [
        "SET",
        key(MIRROR_KEYS.isolate(this.#member)),
        await serializeReport(report, this.#deps.reportSecret),
        "EX",
        String(REPORT_TTL_SECONDS),
      ],
      ["ZADD", key(MIRROR_KEYS.isolates), String(now), this.#member],
    ];
    const { expiring } = this.#batchContext;
    if (!expiring.has("~ledger")) {
      expiring.add("~ledger");
      const keep = String(this.#s.retentionSeconds);
      for (const name of [MIRROR_KEYS.seq, MIRROR_KEYS.accounted, MIRROR_KEYS.contact, MIRROR_KEYS.isolates])
        beats.push(["EXPIRE", key(name), keep]);
      beats.push([
        "ZREMRANGEBYSCORE",
        key(MIRROR_KEYS.isolates),
        "-inf",
        String(now - this.#s.retentionSeconds * 1000),
      ]);
    }
    return beats;
  }

  async #attempt(batch: FrozenBatch | undefined): Promise<FlushAnswer> {
    const now = clock();
    const key = (name: string): string => this.#prefix + name;
    const { keys, args } = flushArguments({
      guard: batch ? key(MIRROR_KEYS.batch(this.#member, batch.n)) : "",
      guardTtlSeconds: GUARD_TTL_SECONDS,
      seqKey: key(MIRROR_KEYS.seq),
      // Last contact is the report's score in `isolates` (every 2 s): one command less per flush.
      contactKey: "",
      accountedKey: key(MIRROR_KEYS.accounted),
      member: this.#member,
      seq: this.#seq,
      at: now,
      beats: await this.#beats(now),
      commands: batch?.commands ?? [],
    });
    this.#stats.flushes++;
    return parseFlushAnswer(
      await withDeadline(this.#script.run(keys, args), this.#s.timeoutMs, "mirror flush"),
    );
  }

  async #send(): Promise<void> {
    const startedAt = clock();
    this.#inFlight = true;
    this.#inFlightSince = startedAt;
    this.#lastStart = startedAt;
    try {
      if (!this.#unresolved && this.#accumulator.hasWork())
        this.#unresolved = await buildBatch(
          ++this.#batches,
          this.#accumulator.take(this.#s.bufferSize),
          this.#contextNow(startedAt),
          { batchSize: this.#s.batchSize, accumulator: this.#accumulator },
        );
      const batch = this.#unresolved;
      let answer: FlushAnswer;
      try {
        answer = await this.#attempt(batch);
      } catch (error) {
        // Transport failure or deadline: Redis may or may not have applied it; the guard decides on retry.
        this.#trouble(String(error));
        return;
      }
      if (answer.status === -1) {
        this.#trouble(`Redis refused the flush: ${answer.error}`);
        return;
      }
      this.#resolved(batch, answer);
    } finally {
      this.#inFlight = false;
    }
  }

  #resolved(batch: FrozenBatch | undefined, answer: FlushAnswer): void {
    this.#unresolved = undefined;
    this.#consecutiveFailures = 0;
    this.#backoffUntil = 0;
    if (!batch) return;
    const now = clock();
    const seconds = Math.max(this.#s.minIntervalMs, now - (this.#previousBatchAt || now - 1_000)) / 1000;
    this.#previousBatchAt = now;
    this.#lastBatchRate = batch.decisions / seconds;
    this.#stats.accounted = (this.#stats.accounted ?? 0) + answer.accounted;
    const refused = answer.failed.map((index) => batch.undo[index]).filter((undo) => undo !== undefined);
    this.#stats.sent +=
      batch.entries - refused.filter((undo) => undo.kind === "event" || undo.kind === "aggregate").length;
    if (refused.length > 0) {
      // Applied, but Redis refused some commands: their content goes out again with the next batch.
      restore(this.#accumulator, refused);
      this.#trouble(
        `Redis refused ${refused.length} of ${batch.commands.length} mirror commands: ${answer.error}`,
        false,
      );
      return;
    }
    if (this.#troubled) {
      this.#troubled = false;
      this.#deps.report("mirror-recovered", { message: "mirror flushes are applied again" });
    }
  }

  /** Counts a failure, backs off, and reports the first failure of an episode (not every retry). */
  #trouble(message: string, backoff = true): void {
    this.#stats.failures++;
    this.#stats.lastError = message.slice(0, 200);
    if (backoff) {
      this.#consecutiveFailures++;
      this.#backoffUntil = clock() + Math.min(MAX_BACKOFF_MS, 250 * 2 ** (this.#consecutiveFailures - 1));
    }
    if (this.#troubled) return;
    this.#troubled = true;
    this.#deps.report("mirror-error", { message: this.#stats.lastError });
  }
}
