/**
 * How often an isolate's mirror flushes, and how each batch is built, from what it holds and the
 * rate decisions arrive at (docs/recorded-format.md, when evidence goes out). A flush is one
 * Redis command (the flush script) however many decisions it carries, so the flush count is the
 * mirror's cost:
 *
 * - blocks (and a changed enforcement report) go out at once: `minIntervalMs` after the last flush;
 * - decisions on reserved shapes (protected routes, open incidents' kill switches), monitor notes,
 *   fail-open errors and source problems within `evidenceIntervalMs` (2 s: the dashboard polls
 *   every 5 s, so its verdict reads evidence at most 5 s old);
 * - anything else on a cadence that grows with quiet: `evidenceIntervalMs`, doubling with each
 *   flush that held nothing more urgent, up to `quietMaxIntervalMs`; the first more urgent flush
 *   starts it over.
 *
 * In a flood, the heavier it is, the fuller each batch: no flush comes sooner than the flood interval.
 */
import { URGENCY, type Urgency } from "./accumulator.js";
import type { BatchContext } from "./batch.js";
import type { MirrorSettings } from "./options.js";

/** In a flood, more events than this of one aggregate key in a batch fold into an aggregate. */
const FLOOD_AGGREGATE_AFTER = 2;
/** At this multiple of the flood rate a flood is heavy: longer intervals, summaries every other batch. */
const HEAVY = 4;

type PaceSettings = Pick<
  MirrorSettings,
  "minIntervalMs" | "floodIntervalMs" | "floodRate" | "evidenceIntervalMs" | "quietMaxIntervalMs"
>;

export class MirrorPace {
  readonly #s: PaceSettings;
  /** Decisions per second of the last applied batch. */
  #lastBatchRate = 0;
  #previousBatchAt = 0;
  #seqAtBatch = 0;
  #batchBuiltAt = 0;
  #held = false;
  /** Flushes in a row that held only quiet work: the quiet interval doubles with each. */
  #quietFlushes = 0;

  constructor(settings: PaceSettings) {
    this.#s = settings;
  }

  /**
   * Least time between the last flush and the next one for work of this urgency: `minIntervalMs`
   * (`floodIntervalMs` in a flood, twice that in a heavy one) at once, at least `evidenceIntervalMs`
   * for evidence, the growing quiet interval for the rest.
   */
  interval(urgency: Urgency): number {
    const rate = this.#lastBatchRate;
    const least =
      rate < this.#s.floodRate
        ? this.#s.minIntervalMs
        : rate >= HEAVY * this.#s.floodRate
          ? 2 * this.#s.floodIntervalMs
          : this.#s.floodIntervalMs;
    if (urgency === URGENCY.atOnce) return least;
    if (urgency === URGENCY.evidence) return Math.max(least, this.#s.evidenceIntervalMs);
    const quiet = Math.min(
      this.#s.quietMaxIntervalMs,
      this.#s.evidenceIntervalMs * 2 ** Math.min(this.#quietFlushes, 30),
    );
    return Math.max(least, quiet);
  }

  /**
   * The context of the batch built now, `seq` being the isolate's decision count. While decisions
   * arrive at the flood rate (counted since the last batch), more than two events of one (rule,
   * route, tenant, network, outcome) fold into an aggregate, so the first batches of a flood (before
   * its rate is known from a whole batch) do not write each blocked request as its own entry; every
   * other batch of a heavy flood holds its summaries back (batch.ts holdSummaries).
   */
  contextFor(now: number, seq: number, base: BatchContext): BatchContext {
    const decisions = seq - this.#seqAtBatch;
    const seconds = Math.max(this.#s.minIntervalMs, now - (this.#batchBuiltAt || now - 1_000)) / 1000;
    this.#seqAtBatch = seq;
    this.#batchBuiltAt = now;
    const rate = decisions / seconds;
    if (rate < this.#s.floodRate) return base;
    this.#held = rate >= HEAVY * this.#s.floodRate && !this.#held;
    return {
      ...base,
      aggregateAfter: Math.min(base.aggregateAfter, FLOOD_AGGREGATE_AFTER),
      holdSummaries: this.#held,
    };
  }

  /** A batch of `decisions` was applied at `now`: the rate the next interval is chosen by. */
  applied(decisions: number, now: number, urgency: Urgency): void {
    this.#quietFlushes = urgency === URGENCY.quiet ? this.#quietFlushes + 1 : 0;
    const seconds = Math.max(this.#s.minIntervalMs, now - (this.#previousBatchAt || now - 1_000)) / 1000;
    this.#previousBatchAt = now;
    this.#lastBatchRate = decisions / seconds;
  }
}
