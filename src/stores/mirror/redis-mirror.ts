/**
 * The Redis mirror: every decision, off the hot path, in the layout of `layout.ts`.
 *
 * `record` only counts and buffers (synchronous, O(1)). `flush` runs in the request's `waitUntil`
 * and sends at most one flush script per round: while a flush is in flight or one started less
 * than `minIntervalMs` ago (`floodIntervalMs` after a batch of a flood), one request waits as
 * "standby" on a timer of its own and sends whatever has gathered; every other request leaves its
 * decision in the buffer and returns at once.
 *
 * Evidence is exact: a batch is built once, frozen, and sent under a guard until Redis
 * says it was applied (flush-script.ts); while it is unresolved no other batch goes out, so nothing
 * is applied twice and nothing is lost while the isolate lives. Commands Redis refused inside an
 * applied batch (NOPERM, OOM) come back to the accumulator and go out again. Every attempt carries
 * the isolate's decision sequence number, so the decisions of an isolate that dies with unsent
 * batches are an exact, visible gap (`mirror:seq - mirror:accounted`), not a silent loss.
 *
 * workerd forbids a request to await I/O begun by another request, so a flush never awaits another
 * request's promise: requests coordinate only through plain flags, and each sends its own fetch.
 * A mirror failure never changes a response: `flush` never rejects.
 */

import { withDeadline } from "../../core/deadline.js";
import { errorText } from "../../core/errors.js";
import type { Decision } from "../../model/decision.js";
import { DEFAULT_REDIS_PREFIX } from "../../model/defaults.js";
import type { CompiledRuleset } from "../../rules/ruleset.js";
import { type LuaScript, luaScript } from "../script-runner.js";
import { MirrorAccumulator, URGENCY, type Urgency } from "./accumulator.js";
import { type BatchContext, buildBatch, type FrozenBatch, restore } from "./batch.js";
import { MirrorPace } from "./flush-pace.js";
import {
  type Command,
  FLUSH_SCRIPT,
  type FlushAnswer,
  flushArguments,
  parseFlushAnswer,
} from "./flush-script.js";
import { reportBeats } from "./heartbeat.js";
import { BATCH_GUARD_TTL_SECONDS, isolateMember, MIRROR_KEYS } from "./layout.js";
import {
  type Enforcement,
  type Mirror,
  type MirrorOptions,
  type MirrorSettings,
  type MirrorStats,
  mirrorSettings,
  type RedisMirrorDeps,
} from "./options.js";
import { NO_SHAPE_SCOPE, type ShapeScope, shapeScopeOf } from "./shape-scope.js";

const MAX_TABLE = 10_000;
const MAX_BACKOFF_MS = 10_000;
/** How long one request's waitUntil may keep flushing as the standby. */
const STANDBY_BUDGET_MS = 20_000;
/** A request replaces the standby only when its work is due at least this much sooner. */
const TAKEOVER_MS = 20;
// Wall-clock for coordination, never an injected test clock: a frozen clock would spin the standby loop.
const clock = (): number => Date.now();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @example
 * const mirror = redisMirror({ client: createRedisClient({ url, token }), keyring });
 * createContainment({ sinks: [mirror] }); // or just `redis: { url, token }`: the mirror is on by default
 */
export function redisMirror(deps: RedisMirrorDeps, options: MirrorOptions = {}): Mirror {
  return new RedisMirror(deps, mirrorSettings(options));
}

class RedisMirror implements Mirror {
  readonly #deps: Required<Pick<RedisMirrorDeps, "keyring" | "report">> & RedisMirrorDeps;
  readonly #s: MirrorSettings;
  readonly #script: LuaScript;
  readonly #prefix: string;
  readonly #region: string;
  readonly #member: string;
  readonly #accumulator: MirrorAccumulator;
  #scope: ShapeScope = NO_SHAPE_SCOPE;
  readonly #batchContext: BatchContext;

  #seq = 0;
  #batches = 0;
  #unresolved: FrozenBatch | undefined;
  /** How urgent the unresolved batch's content was: the quiet cadence grows only with quiet batches. */
  #unresolvedUrgency: Urgency = URGENCY.quiet;
  /** Flush intervals and batch shapes by the rate decisions arrive at (floods: fewer, fuller batches). */
  readonly #pace: MirrorPace;
  #enforcement: Enforcement | undefined;
  #reportDue = true;
  #reportedAt = Number.NEGATIVE_INFINITY;
  #troubled = false;

  #inFlight = false;
  #inFlightSince = 0;
  #standby = false;
  /** Counts standbys, so one replaced by a request with sooner work knows it when it wakes. */
  #standbyTurn = 0;
  #standbyWakeAt = 0;
  #lastStart = Number.NEGATIVE_INFINITY;
  #backoffUntil = 0;
  #consecutiveFailures = 0;
  readonly #stats: MirrorStats;

  constructor(deps: RedisMirrorDeps, s: MirrorSettings) {
    this.#deps = { ...deps, report: deps.report ?? (() => {}) };
    this.#s = s;
    this.#pace = new MirrorPace(s);
    this.#script = luaScript(deps.client, FLUSH_SCRIPT);
    this.#prefix = deps.prefix ?? DEFAULT_REDIS_PREFIX;
    this.#region = deps.region ?? "local";
    const isolate = deps.isolate ?? crypto.randomUUID().replaceAll("-", "").slice(0, 12);
    this.#member = isolateMember(this.#region, isolate);
    this.#accumulator = new MirrorAccumulator({
      bufferSize: s.bufferSize,
      tableSize: MAX_TABLE,
      reservedShapes: s.reservedShapes,
      generalShapes: s.generalShapes,
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

  record(raw: Decision): void {
    this.#stats.recorded++;
    const seq = ++this.#seq;
    // Every record of the decision (counts, shapes, top lists, events) names only what may be named.
    const decision = this.#scope.recorded(raw);
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

  noteRuleset(ruleset: CompiledRuleset): void {
    this.#scope = shapeScopeOf(ruleset);
    this.#accumulator.setScope(this.#scope);
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
      while (this.#hasWork() && clock() < budgetEnd) {
        if (!(await this.#awaitTurn(budgetEnd))) return;
        if (!this.#hasWork()) return;
        await this.#send();
      }
    } catch (error) {
      this.#deps.report("mirror-error", { message: errorText(error).slice(0, 200) });
    }
  }

  #hasWork(): boolean {
    return this.#unresolved !== undefined || this.#accumulator.hasWork() || this.#reportDue;
  }

  /** How soon the work held now must go out (flush-pace.ts): a retry or a changed report at once. */
  #urgency(): Urgency {
    return this.#unresolved !== undefined || this.#reportDue ? URGENCY.atOnce : this.#accumulator.urgency;
  }

  /**
   * When a standby whose waitUntil ends at `budgetEnd` would flush: once no flush is in flight, any
   * failure backoff is over and the pace's interval for the work held has passed since the last
   * flush; at its budget's end at the latest, so the last decisions of an isolate that goes quiet
   * are not stranded. Undefined when it cannot within its budget (in flight, backing off): a later
   * request will.
   */
  #wakeAt(now: number, budgetEnd: number): number | undefined {
    // An in-flight flush whose request was torn down never settles; do not wait on it forever.
    const busy = this.#inFlight && now - this.#inFlightSince < this.#s.timeoutMs + 1_000;
    const notBefore = Math.max(this.#backoffUntil, busy ? now + Math.max(5, this.#s.minIntervalMs / 4) : 0);
    if (notBefore > budgetEnd) return undefined;
    const paced = this.#lastStart + this.#pace.interval(this.#urgency());
    return Math.max(notBefore, Math.min(paced, budgetEnd));
  }

  /**
   * Becomes the one standby of this isolate and sleeps, on its own timer, until its turn
   * (`#wakeAt`). A request whose work is due sooner than the standby plans to wake (a block while
   * the standby waits out the quiet cadence) takes its place; the one replaced returns when it
   * wakes. False when another standby keeps the turn, when this one was replaced, or when it
   * cannot flush within its budget.
   */
  async #awaitTurn(budgetEnd: number): Promise<boolean> {
    const first = this.#wakeAt(clock(), budgetEnd);
    if (first === undefined) return false;
    if (this.#standby && first >= this.#standbyWakeAt - TAKEOVER_MS) return false;
    this.#standby = true;
    const turn = ++this.#standbyTurn;
    try {
      for (;;) {
        const now = clock();
        const wakeAt = this.#wakeAt(now, budgetEnd);
        if (wakeAt === undefined) return false;
        if (wakeAt <= now) return true;
        this.#standbyWakeAt = wakeAt;
        await sleep(wakeAt - now);
        if (this.#standbyTurn !== turn) return false;
      }
    } finally {
      if (this.#standbyTurn === turn) this.#standby = false;
    }
  }

  /** The heartbeat commands of this attempt: the enforcement report when due. */
  async #beats(now: number): Promise<Command[]> {
    const enforcement = this.#enforcement;
    if (!enforcement || (!this.#reportDue && now - this.#reportedAt < this.#s.reportEveryMs)) return [];
    this.#reportDue = false;
    this.#reportedAt = now;
    return reportBeats({
      prefix: this.#prefix,
      region: this.#region,
      isolate: this.#batchContext.isolate,
      member: this.#member,
      seq: this.#seq,
      now,
      enforcement,
      reportSecret: this.#deps.reportSecret,
      reportEnvironment: this.#deps.reportEnvironment,
      retentionSeconds: this.#s.retentionSeconds,
      expiring: this.#batchContext.expiring,
    });
  }

  async #attempt(batch: FrozenBatch | undefined): Promise<FlushAnswer> {
    const now = clock();
    const key = (name: string): string => this.#prefix + name;
    const { keys, args } = flushArguments({
      guard: batch ? key(MIRROR_KEYS.batch(this.#member, batch.n)) : "",
      guardTtlSeconds: BATCH_GUARD_TTL_SECONDS,
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
      if (!this.#unresolved && this.#accumulator.hasWork()) {
        this.#unresolvedUrgency = this.#accumulator.urgency;
        this.#unresolved = await buildBatch(
          ++this.#batches,
          this.#accumulator.take(this.#s.bufferSize),
          this.#pace.contextFor(startedAt, this.#seq, this.#batchContext),
          { batchSize: this.#s.batchSize, accumulator: this.#accumulator },
        );
      }
      const batch = this.#unresolved;
      let answer: FlushAnswer;
      try {
        answer = await this.#attempt(batch);
      } catch (error) {
        // Transport failure or deadline: Redis may or may not have applied it; the guard decides on retry.
        this.#trouble(errorText(error));
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
    this.#pace.applied(batch.decisions, now, this.#unresolvedUrgency);
    this.#stats.accounted = (this.#stats.accounted ?? 0) + answer.accounted;
    const refused = answer.failed.map((index) => batch.undo[index]).filter((undo) => undo !== undefined);
    this.#stats.sent +=
      batch.entries - refused.filter((undo) => undo.kind === "event" || undo.kind === "aggregate").length;
    if (refused.length > 0) {
      // Applied, but Redis refused some commands: their content goes out again with the next batch.
      restore(this.#accumulator, refused);
      this.#accumulator.raise(this.#unresolvedUrgency);
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
