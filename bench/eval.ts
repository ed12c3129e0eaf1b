/**
 * Measurement 1, rule evaluation: ns per request of the compiled ruleset at 10 … 10,000 rules against
 * the hand-written path-to-regexp middleware, on the same seeded document and request corpus
 * (bench/lib/workload.ts), in the engine as bundled for the edge (bench/lib/engine-bundle.ts).
 *
 *   full decide()   `containment.decide(request)`: normalization + engine, no sinks
 *                   vs `new URL(request.url)` + the scan + the 503 response
 *   engine only     `evaluate(ruleset, normalized)`: match + verdicts + decision + 503 response
 *                   vs the scan + the 503 response on a parsed pathname
 *   matching only   `ruleset.match(normalized)` vs the scan without building a response
 * Request objects are built before timing (the platform builds them, not the middleware).
 */
import { loadEngine } from "./lib/engine-bundle.js";
import {
  CORPUS_SIZE,
  type PreparedSize,
  prepareSize,
  responseNs,
  type SizeResult,
  TIMING,
} from "./lib/eval-size.js";
import type { BenchRecord, Goal, Row } from "./lib/record.js";
import { formatNs, sig } from "./lib/stats.js";
import { timeSeries } from "./lib/timer.js";
import { CORPUS_MIX } from "./lib/workload.js";

const SIZES = [10, 100, 1_000, 10_000] as const;
const SPEEDUP_GOAL = 20;
const SCALE_GOAL = 1.5;

const pct = (share: number): string => `${Math.round(share * 100)}%`;
const ratio = (a: number, b: number): string => `${sig(a / b)}×`;

function at(results: readonly SizeResult[], rules: number): SizeResult {
  const found = results.find((r) => r.rules === rules);
  if (!found) throw new Error(`no result for ${rules} rules`);
  return found;
}

function row(r: SizeResult): Row {
  const variants = r.disagreements["spelling-variant"] ?? 0;
  const other = Object.entries(r.disagreements).filter(([intent]) => intent !== "spelling-variant");
  return {
    metric: `${r.rules.toLocaleString("en-US")} rules`,
    value:
      `decide() ${formatNs(r.decideNs)} vs middleware ${formatNs(r.baselineFullNs)} (${ratio(r.baselineFullNs, r.decideNs)}); ` +
      `engine ${formatNs(r.engineNs)} vs scan ${formatNs(r.baselineScanNs)} (${ratio(r.baselineScanNs, r.engineNs)}); ` +
      `match ${formatNs(r.matchNs)} vs scan ${formatNs(r.baselineMatchNs)} (${ratio(r.baselineMatchNs, r.matchNs)}); ` +
      `normalize ${formatNs(r.normalizeNs)}; compile ${sig(r.compileMs)} ms; ` +
      `outcomes ${r.mix.blocked}/${r.mix.headers}/${r.mix.none} blocked/headers/none; baseline misses ${variants} spelling variants` +
      (other.length > 0 ? `; OTHER DISAGREEMENTS ${JSON.stringify(Object.fromEntries(other))}` : ""),
  };
}

export async function measure(): Promise<BenchRecord> {
  const engine = await loadEngine();
  const prepared: PreparedSize[] = [];
  for (const size of SIZES) prepared.push(await prepareSize(engine, size));
  // Every stage of every size in one interleaved schedule: the scaling goal compares sizes, so they
  // must be timed under the same conditions, not one after the other.
  const timings = await timeSeries(
    prepared.flatMap((p) => p.series),
    TIMING,
  );
  const results = prepared.map((p) => p.finish(timings));
  for (const result of results) {
    console.error(`  eval ${row(result).metric}: ${row(result).value}`);
    for (const report of result.reports)
      console.error(`  eval ${result.rules} rules: firewall reported ${report}`);
  }
  const response = await responseNs();
  const k1 = at(results, 1_000);
  const h = at(results, 100);
  const k10 = at(results, 10_000);
  const speedupFull = k1.baselineFullNs / k1.decideNs;
  const speedupEngine = k1.baselineScanNs / k1.engineNs;
  const speedupMatch = k1.baselineMatchNs / k1.matchNs;
  const scaleEngine = k10.engineNs / h.engineNs;
  const scaleDecide = k10.decideNs / h.decideNs;
  const scaleMatch = k10.matchNs / h.matchNs;
  const blockedShare = k1.mix.blocked / CORPUS_SIZE;

  const metrics: BenchRecord["metrics"] = {
    corpus_requests: CORPUS_SIZE,
    speedup_full_1000: sig(speedupFull),
    speedup_engine_1000: sig(speedupEngine),
    speedup_match_1000: sig(speedupMatch),
    scale_decide_10000_vs_100: sig(scaleDecide),
    scale_engine_10000_vs_100: sig(scaleEngine),
    scale_match_10000_vs_100: sig(scaleMatch),
    response_construction_ns: sig(response),
  };
  for (const r of results) {
    const n = r.rules;
    Object.assign(metrics, {
      [`decide_ns_${n}`]: sig(r.decideNs),
      [`engine_ns_${n}`]: sig(r.engineNs),
      [`normalize_ns_${n}`]: sig(r.normalizeNs),
      [`match_ns_${n}`]: sig(r.matchNs),
      [`baseline_full_ns_${n}`]: sig(r.baselineFullNs),
      [`baseline_scan_ns_${n}`]: sig(r.baselineScanNs),
      [`baseline_match_ns_${n}`]: sig(r.baselineMatchNs),
      [`compile_ms_${n}`]: sig(r.compileMs),
    });
  }

  const speedupMet = speedupFull >= SPEEDUP_GOAL;
  const scaleMet = scaleDecide <= SCALE_GOAL && scaleEngine <= SCALE_GOAL;
  const goals: Goal[] = [
    {
      goal: `1,000 rules: decide() ≥ ${SPEEDUP_GOAL}× faster than the path-to-regexp middleware`,
      actual: `${sig(speedupFull)}× (engine only ${sig(speedupEngine)}×, matching only ${sig(speedupMatch)}×)`,
      met: speedupMet,
      ...(speedupMet
        ? {}
        : {
            limit:
              `per-request work besides matching: of decide()'s ${formatNs(k1.decideNs)}, matching is ${formatNs(k1.matchNs)}; ` +
              `normalization ${formatNs(k1.normalizeNs)} and building the verdict, decision and block response ${formatNs(k1.engineNs - k1.matchNs)} ` +
              `(a Response costs ${formatNs(response)} here, on ${pct(blockedShare)} of requests), each measured alone; the baseline normalizes nothing. ` +
              `Both sides build the 503 Response, so even a free firewall would be at most ${sig(k1.baselineFullNs / (response * blockedShare))}× faster on this mix in this runtime`,
          }),
    },
    {
      goal: `10,000 rules cost ≤ ${SCALE_GOAL}× what 100 rules cost`,
      actual: `decide() ${sig(scaleDecide)}×, engine only ${sig(scaleEngine)}×, matching only ${sig(scaleMatch)}×`,
      met: scaleMet,
      ...(scaleMet
        ? {}
        : {
            limit:
              "the engine's cost grows with the rules that match a request, not with the rules it holds: the seeded " +
              "workload draws routes from a fixed set, so at 10,000 rules about 7 headers rules share each " +
              "/api/<version>/<resource>/** route (2,000 headers rules on 90 such routes) and every one of them applies; " +
              "matching alone (trie walk and filters) stays within a few hundred ns of the 100-rule cost",
          }),
    },
  ];

  return {
    bench: "eval",
    title: "Rule evaluation",
    summary:
      `eval: 1k rules decide() ${formatNs(k1.decideNs)} vs middleware ${formatNs(k1.baselineFullNs)} = ${sig(speedupFull)}× ` +
      `(engine ${sig(speedupEngine)}×, matching ${sig(speedupMatch)}×); 10k/100 rules: decide() ${sig(scaleDecide)}×, engine ${sig(scaleEngine)}×, matching ${sig(scaleMatch)}×`,
    metrics,
    rows: [
      ...results.map(row),
      { metric: "reference: one `new Response(json, { status: 503 })`", value: formatNs(response) },
    ],
    goals,
    method: [
      `Seeded document per size: 60% kill switches on parameterized and wildcard API routes (a quarter tenant-scoped, a quarter method-scoped), 20% headers, 10% rate-limit, 10% tenant-binding. Seeded corpus of ${CORPUS_SIZE} requests with the same outcome mix at every size: ${pct(CORPUS_MIX.killSwitch + CORPUS_MIX.variant)} blocked (a quarter of those via spelling variants: trailing slash, upper case, percent-encoding, doubled slash), ${pct(CORPUS_MIX.headers)} given headers, ${pct(CORPUS_MIX.none)} matching nothing (assets, pages, unruled API paths); a candidate is kept only when the firewall's answer confirms the outcome aimed at, so the mix does not drift as rules are added.`,
      "Rate-limit and tenant-binding rules are in the trie, but only for POST/PUT/PATCH, which the corpus never sends: the method filter rejects them, no Redis or JWKS call is made (fetch is a trap; a decision or note of those kinds fails the run). Their network cost is the roundtrips measurement.",
      'Firewall = the engine bundled with the edge bundle\'s esbuild settings (minified, no keepNames), `redis: "memory"`, no mirror. decide() = normalization + evaluate; engine only = `evaluate(ruleset, normalizedRequest)`: trie match, filters, phase order, verdicts, the decision and the 503 response; matching only = `ruleset.match()`.',
      "Baseline = an array of path-to-regexp 8 `match()` functions in document order with method and tenant checks; the first kill switch answers 503 (a Response with a JSON body), headers rules collect headers. Full = `new URL(request.url).pathname` + scan; compared stage by stage as in the rows.",
      `Timing: every stage of every size interleaved round by round (so the sizes see the same machine conditions): ${TIMING.warmupMs} ms warm-up each, then the median of ${TIMING.rounds} rounds of ≥ ${TIMING.roundMs} ms over the shuffled corpus; one Node process for this measurement. Both answers are compared on every request before timing; the baseline misses spelling variants the firewall blocks (listed, not counted as disagreements).`,
    ],
  };
}
