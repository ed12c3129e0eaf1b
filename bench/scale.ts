/**
 * cost growth from 50 to 3,000 rules on a workload whose rules sit on distinct
 * routes (bench/lib/workload.ts `distinct`), beside the eval measurement's shared-route workload.
 * Same engine bundle, corpus generator, baseline and interleaved timing as `eval`.
 */
import { loadEngine } from "./lib/engine-bundle.js";
import { type PreparedSize, prepareSize, type SizeResult, TIMING } from "./lib/eval-size.js";
import type { BenchRecord } from "./lib/record.js";
import { formatNs, sig } from "./lib/stats.js";
import { timeSeries } from "./lib/timer.js";

const SIZES = [50, 400, 3_000] as const;
const GOAL = 1.3;

export async function measure(): Promise<BenchRecord> {
  const engine = await loadEngine();
  const prepared: PreparedSize[] = [];
  for (const size of SIZES) prepared.push(await prepareSize(engine, size, "distinct"));
  const timings = await timeSeries(
    prepared.flatMap((p) => p.series),
    TIMING,
  );
  const results: SizeResult[] = prepared.map((p) => p.finish(timings));
  const first = results[0] as SizeResult;
  const last = results[results.length - 1] as SizeResult;
  const growth = last.decideNs / first.decideNs;
  const engineGrowth = last.engineNs / first.engineNs;
  const matchGrowth = last.matchNs / first.matchNs;
  const met = growth <= GOAL;
  const metrics: BenchRecord["metrics"] = {
    growth_decide_3000_vs_50: sig(growth),
    growth_engine_3000_vs_50: sig(engineGrowth),
    growth_match_3000_vs_50: sig(matchGrowth),
  };
  for (const r of results) {
    metrics[`decide_ns_${r.rules}`] = sig(r.decideNs);
    metrics[`match_ns_${r.rules}`] = sig(r.matchNs);
    metrics[`baseline_full_ns_${r.rules}`] = sig(r.baselineFullNs);
    metrics[`speedup_full_${r.rules}`] = sig(r.baselineFullNs / r.decideNs);
  }
  return {
    bench: "scale",
    title: "Cost growth with rules on distinct routes",
    summary: `scale: distinct routes, decide() 3,000 vs 50 rules ${sig(growth)}× (engine ${sig(engineGrowth)}×, matching ${sig(matchGrowth)}×)`,
    metrics,
    rows: results.map((r) => ({
      metric: `${r.rules.toLocaleString("en-US")} rules, distinct routes`,
      value: `decide() ${formatNs(r.decideNs)} vs middleware ${formatNs(r.baselineFullNs)} (${sig(r.baselineFullNs / r.decideNs)}×); engine ${formatNs(r.engineNs)}; match ${formatNs(r.matchNs)} vs scan ${formatNs(r.baselineMatchNs)}; normalize ${formatNs(r.normalizeNs)}; outcomes ${r.mix.blocked}/${r.mix.headers}/${r.mix.none} blocked/headers/none`,
    })),
    goals: [
      {
        goal: `distinct routes: decide() at 3,000 rules ≤ ${GOAL}× its cost at 50`,
        actual: `${sig(growth)}× (engine only ${sig(engineGrowth)}×, matching only ${sig(matchGrowth)}×)`,
        met,
        ...(met
          ? {}
          : {
              limit:
                "the trie walk touches more nodes' maps as the literal level widens; see the matching column",
            }),
      },
    ],
    method: [
      "The eval measurement's generator with `shape: distinct`: every rule's resource segment is its own (`/api/v2/patients-r17/:id/export`), so each request matches the few rules of its own route whatever the size; corpus, baseline and timing as in eval (interleaved rounds, same process).",
    ],
  };
}
