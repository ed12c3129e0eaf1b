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
import type { Decision } from "../src/model/decision.js";
import { type Engine, loadEngine } from "./lib/engine-bundle.js";
import {
  CORPUS_SIZE,
  type PreparedSize,
  prepareSize,
  responseNs,
  type SizeResult,
  TIMING,
} from "./lib/eval-size.js";
import { mirrorCost } from "./lib/mirror-cost.js";
import type { BenchRecord, Goal, Row } from "./lib/record.js";
import { formatNs, sig } from "./lib/stats.js";
import { timeSeries } from "./lib/timer.js";
import { CORPUS_MIX, generateCorpus, generateDocument, toRequest } from "./lib/workload.js";

/** Hobby (8 KB) holds ~50 rules of ~160 bytes, Pro (64 KB) ~400, Enterprise (512 KB) ~3,000; 10,000 cannot be stored. */
const SIZES = [10, 50, 400, 3_000, 10_000] as const;
/** decide() speed-up over the path-to-regexp middleware wanted at each storable size. */
const SPEEDUP_GOALS: ReadonlyArray<readonly [number, number]> = [
  [400, 10],
  [3_000, 50],
];
/** The whole per-request cost in Node (decide() + the mirror's record and flush, amortized), ns. */
const WHOLE_GOALS: ReadonlyArray<readonly [number, number]> = [
  [10, 5_000],
  [50, 5_000],
];
/**
 * Decisions one flush carries at 50 requests/s: the corpus mix (a fifth blocked) flushes at once
 * for each block, every 100 ms at most (about 5 decisions); routes no rule can refuse flush every
 * 16 s at the quiet cadence's ceiling (800).
 */
const PER_FLUSH_MIXED = 5;
const PER_FLUSH_QUIET = 800;

/** Decisions of the corpus at 50 rules, as the mirror would receive them. */
async function sampleDecisions(engine: Engine): Promise<Decision[]> {
  const document = generateDocument(50);
  const sample: Decision[] = [];
  const containment = engine.createContainment({
    rules: document,
    redis: engine.memoryStore(),
    mirror: false,
    env: {},
    onReport: () => {},
    sinks: [{ record: (decision: Decision) => void sample.push(decision), flush: async () => {} }],
  });
  const corpus = await generateCorpus(document, 512, async (entry) => {
    const { decision, headers } = await containment.decide(toRequest(entry));
    return engine.isBlocked(decision) ? "blocked" : Object.keys(headers).length > 0 ? "headers" : "none";
  });
  sample.length = 0;
  for (const entry of corpus) await containment.decide(toRequest(entry));
  return sample;
}
/** Validation + compile of a document, ms. */
const COLD_GOALS: ReadonlyArray<readonly [number, number]> = [
  [400, 2],
  [3_000, 15],
];

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
      `normalize ${formatNs(r.normalizeNs)}; cold start ${sig(r.compileMs)} ms (validate ${sig(r.validateMs)}, compile ${sig(r.compileOnlyMs)}); ` +
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
  const sample = await sampleDecisions(engine);
  const mixed = await mirrorCost(engine, sample, PER_FLUSH_MIXED);
  // Where nothing is refused: the corpus's allowed decisions only.
  const quiet = await mirrorCost(
    engine,
    sample.filter((decision) => decision.outcome === "allow"),
    PER_FLUSH_QUIET,
  );
  const mirrorNs = (cost: typeof mixed): number => cost.recordNs + cost.flushNs / cost.decisions;
  console.error(`  eval mirror: ${JSON.stringify({ mixed, quiet })}`);
  const blockedShare = at(results, 400).mix.blocked / CORPUS_SIZE;
  const metrics: BenchRecord["metrics"] = {
    corpus_requests: CORPUS_SIZE,
    response_construction_ns: sig(response),
  };
  for (const r of results) {
    const n = r.rules;
    Object.assign(metrics, {
      [`speedup_full_${n}`]: sig(r.baselineFullNs / r.decideNs),
      [`decide_ns_${n}`]: sig(r.decideNs),
      [`engine_ns_${n}`]: sig(r.engineNs),
      [`normalize_ns_${n}`]: sig(r.normalizeNs),
      [`match_ns_${n}`]: sig(r.matchNs),
      [`baseline_full_ns_${n}`]: sig(r.baselineFullNs),
      [`baseline_scan_ns_${n}`]: sig(r.baselineScanNs),
      [`baseline_match_ns_${n}`]: sig(r.baselineMatchNs),
      [`cold_ms_${n}`]: sig(r.compileMs),
      [`validate_ms_${n}`]: sig(r.validateMs),
      [`compile_ms_${n}`]: sig(r.compileOnlyMs),
    });
  }
  const scale = at(results, 3_000).decideNs / at(results, 50).decideNs;
  metrics.scale_decide_3000_vs_50_shared = sig(scale);

  const goals: Goal[] = SPEEDUP_GOALS.map(([rules, wanted]) => {
    const r = at(results, rules);
    const speedup = r.baselineFullNs / r.decideNs;
    const met = speedup >= wanted;
    return {
      goal: `${rules.toLocaleString("en-US")} rules: decide() ≥ ${wanted}× as fast as the path-to-regexp middleware`,
      actual: `${sig(speedup)}× (${formatNs(r.decideNs)} vs ${formatNs(r.baselineFullNs)}; normalization ${formatNs(r.normalizeNs)}, matching ${formatNs(r.matchNs)})`,
      met,
      ...(met
        ? {}
        : {
            limit:
              `per-request work the baseline does not do: normalization ${formatNs(r.normalizeNs)} (path candidates, client IP, redaction, request id) and building the decision and the 503 (a Response costs ${formatNs(response)} here, on ${pct(blockedShare)} of requests, on both sides); ` +
              `the baseline's scan of ${rules} patterns costs ${formatNs(r.baselineMatchNs)}, our matching ${formatNs(r.matchNs)}`,
          }),
    };
  });
  metrics.mirror_record_ns = sig(mixed.recordNs);
  metrics.mirror_flush_ns_per_5 = sig(mixed.flushNs);
  metrics.mirror_flush_ns_per_800 = sig(quiet.flushNs);
  for (const [rules, wantedNs] of WHOLE_GOALS) {
    const r = at(results, rules);
    const whole = r.decideNs + mirrorNs(mixed);
    const wholeQuiet = r.decideNs + mirrorNs(quiet);
    metrics[`whole_ns_${rules}`] = sig(whole);
    metrics[`whole_quiet_ns_${rules}`] = sig(wholeQuiet);
    const met = whole <= wantedNs;
    goals.unshift({
      goal: `${rules} rules: the whole per-request cost in Node (decide() + the mirror's record and flush, amortized) ≤ ${formatNs(wantedNs)}`,
      actual: `${formatNs(whole)} on the corpus mix at 50 requests/s (decide() ${formatNs(r.decideNs)}, record ${formatNs(mixed.recordNs)}, a flush of ${PER_FLUSH_MIXED} ${formatNs(mixed.flushNs)}); ${formatNs(wholeQuiet)} where nothing is refused (a flush of ${PER_FLUSH_QUIET} ${formatNs(quiet.flushNs)}); the naive middleware ${formatNs(r.baselineFullNs)} (no evidence)`,
      met,
      ...(met
        ? {}
        : {
            limit: `decide() alone is ${formatNs(r.decideNs)}: normalization ${formatNs(r.normalizeNs)} (every reading of the path, client IP, internal-header refusal, redaction, request id) and the 503 Response (${formatNs(response)} each, on ${pct(blockedShare)} of requests); blocks flush at once, so on this mix a flush carries few decisions`,
          }),
    });
  }
  for (const [rules, wantedMs] of COLD_GOALS) {
    const r = at(results, rules);
    const met = r.compileMs <= wantedMs;
    goals.push({
      goal: `cold start: validating and compiling a ${rules.toLocaleString("en-US")}-rule document ≤ ${wantedMs} ms`,
      actual: `${sig(r.compileMs)} ms (validation ${sig(r.validateMs)} ms, compile ${sig(r.compileOnlyMs)} ms)`,
      met,
      ...(met
        ? {}
        : {
            limit: `${r.validateMs > r.compileOnlyMs ? "schema validation (valibot, every field of every rule with its JSON path)" : "compile (per-rule closures, the trie, the digest over the document)"} is the larger part on this machine`,
          }),
    });
  }
  goals.push({
    goal: "information: today's workload (rules piled on shared routes), decide() 3,000 vs 50 rules",
    actual: `${sig(scale)}×; 10,000 rules (cannot be stored in Edge Config): decide() ${formatNs(at(results, 10_000).decideNs)}, ${ratio(at(results, 10_000).baselineFullNs, at(results, 10_000).decideNs)} the middleware`,
    met: null,
    limit:
      "what grows is the number of rules that match each request, not the number held: the seeded vocabulary puts several headers rules on each /api/<version>/<resource>/** route at large sizes, and every one applies; the distinct-route workload (scale) measures growth with rules held",
  });

  return {
    bench: "eval",
    title: "Rule evaluation",
    summary: `eval: decide() vs middleware: ${results.map((r) => `${r.rules} rules ${sig(r.baselineFullNs / r.decideNs)}×`).join(", ")}; cold start 400 rules ${sig(at(results, 400).compileMs)} ms, 3,000 rules ${sig(at(results, 3_000).compileMs)} ms`,
    metrics,
    rows: [
      ...results.map(row),
      { metric: "reference: one `new Response(json, { status: 503 })`", value: formatNs(response) },
    ],
    goals,
    method: [
      "Sizes: what Edge Config can hold at ~160 bytes a rule (Hobby 8 KB ≈ 50, Pro 64 KB ≈ 400, Enterprise 512 KB ≈ 3,000), plus 10, and 10,000 as information only (no store holds it).",
      "Cold start = `parseDocument` (schema validation) + `compileRuleset` (rules, trie, digest) of the size's document, each the median of 7 runs after 2 warm-ups, in the edge bundle: what a new isolate spends after Edge Config answers, before its first decision.",
      `Seeded document per size: 60% kill switches on parameterized and wildcard API routes (a quarter tenant-scoped, a quarter method-scoped), 20% headers, 10% rate-limit, 10% tenant-binding. Seeded corpus of ${CORPUS_SIZE} requests with the same outcome mix at every size: ${pct(CORPUS_MIX.killSwitch + CORPUS_MIX.variant)} blocked (a quarter of those via spelling variants: trailing slash, upper case, percent-encoding, doubled slash), ${pct(CORPUS_MIX.headers)} given headers, ${pct(CORPUS_MIX.none)} matching nothing (assets, pages, unruled API paths); a candidate is kept only when the firewall's answer confirms the outcome aimed at, so the mix does not drift as rules are added.`,
      "Rate-limit and tenant-binding rules are in the trie, but only for POST/PUT/PATCH, which the corpus never sends: the method filter rejects them, no Redis or JWKS call is made (fetch is a trap; a decision or note of those kinds fails the run). Their network cost is the roundtrips measurement.",
      `Whole per-request cost (10 and 50 rules) = decide() without sinks + the mirror's record() per decision + one flush (batch, script arguments, answer; the Redis client a stub answering at once) divided by the decisions it carries: ${PER_FLUSH_MIXED} on the corpus mix at 50 requests/s (blocks go out at once, at most every 100 ms), ${PER_FLUSH_QUIET} of the corpus's allowed decisions where no rule refuses (the quiet cadence's 16 s ceiling at 50/s). Mirror figures: the median of 15 fresh mirrors, on the corpus's decisions at 50 rules (bench/lib/mirror-cost.ts).`,
      'Firewall = the engine bundled with the edge bundle\'s esbuild settings (minified, no keepNames), `redis: "memory"`, no mirror. decide() = normalization + evaluate; engine only = `evaluate(ruleset, normalizedRequest)`: trie match, filters, phase order, verdicts, the decision and the 503 response; matching only = `ruleset.match()`.',
      "Baseline = an array of path-to-regexp 8 `match()` functions in document order with method and tenant checks; the first kill switch answers 503 (a Response with a JSON body), headers rules collect headers. Full = `new URL(request.url).pathname` + scan; compared stage by stage as in the rows.",
      `Timing: every stage of every size interleaved round by round (so the sizes see the same machine conditions): ${TIMING.warmupMs} ms warm-up each, then the median of ${TIMING.rounds} rounds of ≥ ${TIMING.roundMs} ms over the shuffled corpus; one Node process for this measurement. Both answers are compared on every request before timing; the baseline misses spelling variants the firewall blocks (listed, not counted as disagreements).`,
    ],
  };
}
