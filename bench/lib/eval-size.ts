/**
 * One rule count of the rule-evaluation benchmark: builds the document, the corpus and both
 * implementations, checks they agree, and hands back the stages to time. See bench/eval.ts.
 */
import type { NormalizedRequest } from "../../src/core/request.js";
import type { Evaluation } from "../../src/engine/evaluate.js";
import type { Services } from "../../src/model/services.js";
import { createBaseline } from "./baseline.js";
import type { Engine } from "./engine-bundle.js";
import { type Series, type Timing, type TimingOptions, timePerOp } from "./timer.js";
import {
  type CorpusRequest,
  generateCorpus,
  generateDocument,
  type Outcome,
  type Shape,
  toRequest,
} from "./workload.js";

export const CORPUS_SIZE = 2_048;
export const TIMING: TimingOptions = { warmupMs: 200, rounds: 7, roundMs: 100 };

export interface SizeResult {
  rules: number;
  /** Validation + compile: what a new isolate (or a changed document) costs before its first decision. */
  compileMs: number;
  validateMs: number;
  compileOnlyMs: number;
  /** `containment.decide(request)`. */
  decideNs: number;
  /** `evaluate(ruleset, normalized)`: matching, verdicts, decision, block response. */
  engineNs: number;
  /** `normalizeRequest(request)` alone. */
  normalizeNs: number;
  /** `ruleset.match(normalized)` alone. */
  matchNs: number;
  /** `new URL()` + the scan + the 503 response. */
  baselineFullNs: number;
  /** The scan + the 503 response, on a parsed pathname. */
  baselineScanNs: number;
  /** The scan alone. */
  baselineMatchNs: number;
  mix: Record<Outcome, number>;
  /** Requests where the baseline and the firewall disagree on blocking, by the generator's intent. */
  disagreements: Record<string, number>;
  reports: string[];
}

/** Any network call during this benchmark would mean a rate-limit or binding rule was evaluated. */
function trapServices(calls: { fetch: number; reports: string[] }): Services {
  return {
    now: Date.now,
    env: {},
    fetch: () => {
      calls.fetch++;
      return Promise.reject(new Error("the eval benchmark must not reach the network"));
    },
    report: (event, detail) => {
      calls.reports.push(`${event} ${JSON.stringify(detail ?? {})}`);
    },
  };
}

function outcomeOf(isBlocked: Engine["isBlocked"], evaluation: Evaluation): Outcome {
  if (isBlocked(evaluation.decision)) return "blocked";
  return Object.keys(evaluation.headers).length > 0 ? "headers" : "none";
}

interface Pathname {
  method: string;
  pathname: string;
}

const swallow = (promise: Promise<unknown>): void => void promise.catch(() => {});

/** One size, ready to time: its series (named `<size>:<stage>`) and how to read their timings back. */
export interface PreparedSize {
  series: Array<Series<unknown>>;
  finish(timings: ReadonlyMap<string, Timing>): SizeResult;
}

/**
 * Builds and checks one size; the caller times the series of all sizes together (interleaved), so
 * the sizes compared by the scaling goal see the same machine conditions.
 */
export async function prepareSize(
  engine: Engine,
  size: number,
  shape: Shape = "shared",
): Promise<PreparedSize> {
  const { createContainment, evaluate, isBlocked, normalizeRequest } = engine;
  const document = generateDocument(size, undefined, shape);
  const prefix = shape === "shared" ? `${size}` : `${shape}:${size}`;
  const calls = { fetch: 0, reports: [] as string[] };
  const services = trapServices(calls);
  // Rate-limit rules need a store to compile: the in-isolate one, so even a stray evaluation would
  // cost no network (and is caught below by its decision). No mirror: sinks are not rule evaluation.
  const options = {
    rules: document,
    fetch: services.fetch,
    onReport: services.report,
    region: "bench",
    env: {},
    redis: engine.memoryStore(),
    mirror: false,
  } as const;
  const containment = createContainment(options);
  const corpus: CorpusRequest[] = await generateCorpus(document, CORPUS_SIZE, async (entry) =>
    outcomeOf(isBlocked, await containment.decide(toRequest(entry))),
  );
  const requests = corpus.map(toRequest);

  const cold = coldStart(engine, document, services);
  const compileMs = cold.validateMs + cold.compileMs;
  const ruleset = await containment.ruleset();

  const normalized: NormalizedRequest[] = requests.map((request) => {
    const result = normalizeRequest(request, {}, "bench");
    if (!result.ok)
      throw new Error(`corpus request rejected by normalization: ${request.url} (${result.fault})`);
    return result.request;
  });
  const baseline = createBaseline(document);
  const pathnames: Pathname[] = requests.map((request) => ({
    method: request.method,
    pathname: new URL(request.url).pathname,
  }));

  // Both implementations must do the same job: compare their answers before timing them.
  const mix: Record<Outcome, number> = { blocked: 0, headers: 0, none: 0 };
  const disagreements: Record<string, number> = {};
  for (const [index, request] of requests.entries()) {
    const ours = await containment.decide(request);
    const theirs = baseline.handle(request);
    const kinds = [ours.decision.kind, ...ours.decision.notes.map((note) => note.kind)];
    if (kinds.includes("rate-limit") || kinds.includes("tenant-binding") || theirs.wouldCallOut) {
      throw new Error(
        `the corpus reached a rate-limit or tenant-binding rule: ${corpus[index]?.method} ${corpus[index]?.path}`,
      );
    }
    const blocked = isBlocked(ours.decision);
    mix[outcomeOf(isBlocked, ours)]++;
    if (blocked !== (theirs.response !== undefined)) {
      const intent = corpus[index]?.intent ?? "?";
      disagreements[intent] = (disagreements[intent] ?? 0) + 1;
    }
  }

  const series: Array<Series<unknown>> = [
    { name: "decide", inputs: requests, run: (request: Request) => containment.decide(request) },
    {
      name: "engine",
      inputs: normalized,
      run: (request: NormalizedRequest) => evaluate(ruleset, request, services, 0, swallow),
    },
    {
      name: "normalize",
      inputs: requests,
      run: (request: Request) => normalizeRequest(request, {}, "bench"),
    },
    { name: "match", inputs: normalized, run: (request: NormalizedRequest) => ruleset.match(request) },
    { name: "baselineFull", inputs: requests, run: (request: Request) => baseline.handle(request) },
    { name: "baselineScan", inputs: pathnames, run: (p: Pathname) => baseline.scan(p.method, p.pathname) },
    {
      name: "baselineMatch",
      inputs: pathnames,
      run: (p: Pathname) => baseline.matchOnly(p.method, p.pathname),
    },
  ].map((one) => ({ ...one, name: `${prefix}:${one.name}` }) as Series<unknown>);

  return {
    series,
    finish(timings) {
      if (calls.fetch > 0)
        throw new Error(`the engine made ${calls.fetch} network calls during the eval benchmark`);
      const ns = (name: string): number => timings.get(`${prefix}:${name}`)?.nsPerOp ?? Number.NaN;
      return {
        rules: size,
        compileMs,
        validateMs: cold.validateMs,
        compileOnlyMs: cold.compileMs,
        decideNs: ns("decide"),
        engineNs: ns("engine"),
        normalizeNs: ns("normalize"),
        matchNs: ns("match"),
        baselineFullNs: ns("baselineFull"),
        baselineScanNs: ns("baselineScan"),
        baselineMatchNs: ns("baselineMatch"),
        mix,
        disagreements,
        reports: [...new Set(calls.reports)],
      };
    },
  };
}

/**
 * Cold start of one document: validation (`parseDocument`: the schema) and compile (`compileRuleset`:
 * rules, trie, digest), each the median of 7 runs after 2 warm-ups, in the edge bundle.
 */
function coldStart(
  engine: Engine,
  document: unknown,
  services: Services,
): { validateMs: number; compileMs: number } {
  const time = (work: () => unknown): number => {
    for (let i = 0; i < 2; i++) work();
    const runs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      work();
      runs.push(performance.now() - started);
    }
    return runs.sort((a, b) => a - b)[3] as number;
  };
  const parsed = engine.parseDocument(document);
  return {
    // A cold isolate has parsed no pattern yet: validation parses each (pattern.ts memoizes them for
    // the compile that follows), so each validation run starts with the memo empty.
    validateMs: time(() => {
      engine.forgetParsedPatterns();
      engine.parseDocument(document);
    }),
    compileMs: time(() => engine.compileRuleset(parsed, [], "edge-config", services)),
  };
}

/** `new Response(json, { status, headers })`: what every block costs in this runtime, on both sides. */
export async function responseNs(): Promise<number> {
  const bodies = Array.from({ length: 64 }, (_, i) =>
    JSON.stringify({ error: "This endpoint is temporarily unavailable.", rule: `r${i}` }),
  );
  const timing = await timePerOp(
    bodies,
    (body) => new Response(body, { status: 503, headers: { "content-type": "application/json" } }),
    TIMING,
  );
  return timing.nsPerOp;
}
