/**
 * What the decision mirror adds to a request in Node, beyond decide() without sinks: `record()` on
 * the hot path, and the flush it later causes in `waitUntil` (building the batch, the script's
 * arguments, parsing the answer), amortized over the decisions one flush carries at a request rate.
 * The Redis client answers at once (a stub): the round trip is the cost benchmark's, not CPU here.
 */
import type { Decision } from "../../src/model/decision.js";
import type { Engine } from "./engine-bundle.js";

export interface MirrorCost {
  /** `record()` per decision, ns. */
  recordNs: number;
  /** One flush of `decisions` decisions, ns. */
  flushNs: number;
  decisions: number;
}

/** A client that answers every flush script as applied, with no refused command. */
function stubClient(): unknown {
  const answer = async () => [1, 1, 0, ""];
  return { eval: answer, evalsha: answer };
}

/**
 * Median over `rounds` of: `decisions` recorded (timed each), then one flush (timed), on one warm
 * mirror (its script loaded, its ledger keys given their expiry) whose pacing is zeroed, so a flush
 * never sleeps and carries exactly those decisions: CPU, not the cadence.
 *
 * Timed after `warmUp` rounds, as decide() is: a warm isolate at 50 requests/s records 180,000
 * decisions an hour, so its mirror code runs optimized. Two warm-up rounds (as this was first
 * written) left the flush in the interpreter and read it as 305 µs instead of about 20.
 */
export async function mirrorCost(
  engine: Engine,
  sample: readonly Decision[],
  decisions: number,
  rounds = 200,
  warmUp = 300,
): Promise<MirrorCost> {
  const keyring = new engine.Keyring("bench-salt");
  const records: number[] = [];
  const flushTimes: number[] = [];
  const mirror = engine.redisMirror(
    { client: stubClient() as never, keyring, region: "iad1" },
    {
      minIntervalMs: 0,
      evidenceIntervalMs: 0,
      quietMaxIntervalMs: 0,
      // Recorded in a burst here, not at 50/s: never paced as a flood.
      floodIntervalMs: 0,
      floodRate: Number.MAX_SAFE_INTEGER,
      batchSize: decisions,
      bufferSize: decisions,
    },
  );
  let flushes = 0;
  for (let round = 0; round < rounds + warmUp; round++) {
    const now = Date.now();
    const batch = Array.from({ length: decisions }, (_, i) => ({
      ...(sample[i % sample.length] as Decision),
      at: now,
    }));
    const started = performance.now();
    for (const decision of batch) mirror.record(decision);
    const recorded = performance.now();
    await mirror.flush();
    const flushed = performance.now();
    const stats = mirror.stats();
    // The isolate report rides on some flushes; every decision must have gone out.
    if (stats.flushes <= flushes || stats.recorded !== (round + 1) * decisions || stats.buffered !== 0)
      throw new Error(`mirror cost: the decisions were not flushed (${JSON.stringify(stats)})`);
    flushes = stats.flushes;
    if (round < warmUp) continue;
    records.push(((recorded - started) * 1e6) / decisions);
    flushTimes.push((flushed - recorded) * 1e6);
  }
  const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
  const result = { recordNs: median(records), flushNs: median(flushTimes), decisions };
  if (!(result.recordNs > 0) || !(result.flushNs > 0))
    throw new Error(`mirror cost: impossible figures ${JSON.stringify(result)}`);
  return result;
}
