/**
 * Time per operation over lists of inputs: warm up (so the JIT has optimized the code measured),
 * then several timed rounds, each long enough that the clock's resolution does not matter; the
 * median round is the result. Series compared with each other run interleaved, round by round, so a
 * noisy neighbour on a shared machine slows all of them alike instead of one. Inputs are walked in
 * order and wrap around, so every round sees a representative slice of a shuffled corpus.
 */
import { median } from "./stats.js";

export interface TimingOptions {
  warmupMs: number;
  rounds: number;
  /** Minimum duration of one round. */
  roundMs: number;
}

export interface Series<T> {
  name: string;
  inputs: readonly T[];
  /** A method, not a function property: series of different input types then fit one list. */
  run(input: T): unknown;
}

export interface Timing {
  /** Median of the rounds' ns per operation. */
  nsPerOp: number;
  roundsNs: number[];
  operations: number;
}

/** Keeps results observable so the optimizer cannot drop the work measured. */
export let blackhole = 0;

function observe(result: unknown): void {
  if (result !== undefined && result !== null) blackhole = (blackhole + 1) | 0;
}

/** A series bound to its own input cursor. */
function runner<T>(series: Series<T>): (untilNs: bigint) => Promise<number> {
  if (series.inputs.length === 0) throw new Error(`series ${series.name} has no inputs`);
  let cursor = 0;
  // Between clock reads: small enough for slow functions, large enough to hide hrtime's cost.
  const batch = Math.min(64, series.inputs.length);
  return async (untilNs) => {
    let ops = 0;
    do {
      for (let i = 0; i < batch; i++) {
        const result = series.run(series.inputs[cursor] as T);
        observe(result instanceof Promise ? await result : result);
        cursor = cursor + 1 === series.inputs.length ? 0 : cursor + 1;
      }
      ops += batch;
    } while (process.hrtime.bigint() < untilNs);
    return ops;
  };
}

export async function timeSeries(
  list: ReadonlyArray<Series<unknown>>,
  options: TimingOptions,
): Promise<Map<string, Timing>> {
  const runners = list.map((series) => ({
    name: series.name,
    run: runner(series),
    roundsNs: [] as number[],
    operations: 0,
  }));
  for (const r of runners) await r.run(process.hrtime.bigint() + BigInt(options.warmupMs * 1e6));
  for (let round = 0; round < options.rounds; round++) {
    for (const r of runners) {
      const start = process.hrtime.bigint();
      const ops = await r.run(start + BigInt(options.roundMs * 1e6));
      r.roundsNs.push(Number(process.hrtime.bigint() - start) / ops);
      r.operations += ops;
    }
  }
  return new Map(
    runners.map((r) => [
      r.name,
      { nsPerOp: median(r.roundsNs), roundsNs: r.roundsNs, operations: r.operations },
    ]),
  );
}

export async function timePerOp<T>(
  inputs: readonly T[],
  run: (input: T) => unknown,
  options: TimingOptions,
): Promise<Timing> {
  const timing = (await timeSeries([{ name: "only", inputs, run }], options)).get("only");
  if (!timing) throw new Error("no timing");
  return timing;
}
