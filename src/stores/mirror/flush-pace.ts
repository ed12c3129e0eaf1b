/**
 * How often an isolate's mirror flushes, and how each batch is built, from the rate decisions
 * arrive at. A flush costs about the same Redis commands however many decisions it carries (one per
 * count field, aggregate and top member), so the heavier the flood, the fuller each batch should be.
 * The dashboard polls every 5 s, so evidence 2 s old is still its latest.
 */
import type { BatchContext } from "./batch.js";
import type { MirrorSettings } from "./options.js";

/** In a flood, more events than this of one aggregate key in a batch fold into an aggregate. */
const FLOOD_AGGREGATE_AFTER = 2;
/** At this multiple of the flood rate a flood is heavy: longer intervals, summaries every other batch. */
const HEAVY = 4;

type PaceSettings = Pick<MirrorSettings, "minIntervalMs" | "floodIntervalMs" | "floodRate">;

export class MirrorPace {
  readonly #s: PaceSettings;
  /** Decisions per second of the last applied batch. */
  #lastBatchRate = 0;
  #previousBatchAt = 0;
  #seqAtBatch = 0;
  #batchBuiltAt = 0;
  #held = false;

  constructor(settings: PaceSettings) {
    this.#s = settings;
  }

  /** Least time between two flushes: `minIntervalMs`, `floodIntervalMs` in a flood, twice that in a heavy one. */
  interval(): number {
    const rate = this.#lastBatchRate;
    if (rate < this.#s.floodRate) return this.#s.minIntervalMs;
    return rate >= HEAVY * this.#s.floodRate ? 2 * this.#s.floodIntervalMs : this.#s.floodIntervalMs;
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
  applied(decisions: number, now: number): void {
    const seconds = Math.max(this.#s.minIntervalMs, now - (this.#previousBatchAt || now - 1_000)) / 1000;
    this.#previousBatchAt = now;
    this.#lastBatchRate = decisions / seconds;
  }
}
