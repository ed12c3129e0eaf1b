/**
 * The firewall's own cost inside workerd, without HTTP: one request to a worker that calls
 * `decide()` on the corpus `n` times, each on a Request built for the call (minus a batch that only
 * builds them). workerd stops its clocks during pure computation (a Spectre
 * mitigation), so time is taken outside, per batch, minus an empty request's time. On a shared
 * machine this is far steadier than the difference of two load tests.
 *
 * Every batch answers how many calls it made; a batch that did not make them (the worker threw: a
 * JSON option the engine refuses) or a figure that cannot be a cost (zero or negative) fails the
 * measurement instead of being printed.
 */
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { edgeBuildOptions } from "../../src/dev/bundle.js";
import { COMPATIBILITY_DATE } from "../../src/dev/edge-runtime.js";
import type { LoadRequest } from "./load.js";
import { median } from "./stats.js";

const ITERATIONS = 20_000;
const REPEATS = 5;

function workerSource(entry: string, options: unknown, corpus: readonly LoadRequest[]): string {
  return `
import { createContainment, memoryStore, normalizeRequest } from ${JSON.stringify(entry)};
const json = ${JSON.stringify(options)};
// As the worker's CONTAINMENT_OPTIONS: "memory" is the in-isolate store (src/dev/worker-options.ts).
const options = json.redis === "memory" ? { ...json, redis: memoryStore() } : json;
const corpus = ${JSON.stringify(corpus)};
let state;
export default {
  async fetch(request) {
    const n = Number(new URL(request.url).searchParams.get("n"));
    const mode = new URL(request.url).searchParams.get("mode");
    if (!state) {
      const containment = createContainment({ ...options, env: {}, onReport() {} });
      await containment.ruleset();
      state = { containment };
    }
    let calls = 0;
    for (let i = 0; i < n; i++) {
      // A new Request each time, as each request arrives: its headers and URL are read for the
      // first time, as in production (a reused one has them cached). "construct" is that alone.
      const e = corpus[i % corpus.length];
      const req = new Request("https://app.example.com" + e.path, { method: e.method, headers: e.headers });
      if (mode === "construct") { if (req) calls++; }
      else if (mode === "normalize") { if (normalizeRequest(req, {}, "bench")) calls++; }
      else if ((await state.containment.decide(req)).decision) calls++;
    }
    return new Response(String(calls));
  },
};`;
}

export interface InIsolateCost {
  /** decide() on a request just built, beyond building it. */
  decideNs: number;
  /** normalizeRequest() alone, likewise. */
  normalizeNs: number;
  /** Building the Request, which every call above includes and is subtracted. */
  constructNs: number;
}

export async function costInWorkerd(
  root: string,
  options: unknown,
  corpus: readonly LoadRequest[],
): Promise<InIsolateCost> {
  const entry = join(root, "bench", "lib", "engine-entry.ts");
  const built = await build({
    ...edgeBuildOptions(),
    stdin: {
      contents: workerSource(entry, options, corpus),
      resolveDir: root,
      sourcefile: "in-isolate.js",
      loader: "js",
    },
    write: false,
  });
  const code = built.outputFiles[0]?.text;
  if (code === undefined) throw new Error("esbuild produced no in-isolate worker");
  // workerd resolves module paths inside the package; a name under dist/ keeps it there.
  const mf = new Miniflare({
    modules: [{ type: "ESModule", path: join(root, "dist", "edge", "bench-in-isolate.js"), contents: code }],
    compatibilityDate: COMPATIBILITY_DATE,
  });
  const time = async (mode: string, n: number): Promise<number> => {
    const started = performance.now();
    const response = await mf.dispatchFetch(`http://bench.local/?mode=${mode}&n=${n}`);
    const body = await response.text();
    const elapsed = performance.now() - started;
    if (response.status !== 200 || body !== String(n))
      throw new Error(
        `in-isolate ${mode} batch of ${n} did not run: ${response.status} ${body.slice(0, 200)}`,
      );
    return elapsed;
  };
  try {
    const per = async (mode: string): Promise<number> => {
      await time(mode, ITERATIONS); // warm-up: JIT and the isolate's state
      const samples: number[] = [];
      for (let i = 0; i < REPEATS; i++) {
        const empty = await time(mode, 0);
        samples.push(((await time(mode, ITERATIONS)) - empty) / ITERATIONS);
      }
      const ns = median(samples) * 1e6;
      if (!(ns > 0)) throw new Error(`in-isolate ${mode}: ${ns} ns per call is not a measurement`);
      return ns;
    };
    const construct = await per("construct");
    const decideNs = (await per("decide")) - construct;
    const normalizeNs = (await per("normalize")) - construct;
    if (!(decideNs > 0) || !(normalizeNs > 0))
      throw new Error(
        `in-isolate: decide ${decideNs} ns, normalize ${normalizeNs} ns beyond building the request is not a measurement`,
      );
    return { decideNs, normalizeNs, constructNs: construct };
  } finally {
    await mf.dispose();
  }
}
