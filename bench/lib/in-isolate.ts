/**
 * The firewall's own cost inside workerd, without HTTP: one request to a worker that calls
 * `decide()` on the corpus `n` times. workerd stops its clocks during pure computation (a Spectre
 * mitigation), so time is taken outside, per batch, minus an empty request's time. On a shared
 * machine this is far steadier than the difference of two load tests.
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
import { createContainment, normalizeRequest } from ${JSON.stringify(entry)};
const options = ${JSON.stringify(options)};
const corpus = ${JSON.stringify(corpus)};
let state;
export default {
  async fetch(request) {
    const n = Number(new URL(request.url).searchParams.get("n"));
    const mode = new URL(request.url).searchParams.get("mode");
    if (!state) {
      const containment = createContainment({ ...options, env: {}, onReport() {} });
      await containment.ruleset();
      const requests = corpus.map((e) => new Request("https://app.example.com" + e.path, { method: e.method, headers: e.headers }));
      state = { containment, requests };
    }
    let blocked = 0;
    for (let i = 0; i < n; i++) {
      const req = state.requests[i % state.requests.length];
      if (mode === "normalize") { if (!normalizeRequest(req, {}, "bench").ok) blocked++; }
      else if ((await state.containment.decide(req)).response) blocked++;
    }
    return new Response(String(blocked));
  },
};`;
}

export interface InIsolateCost {
  decideNs: number;
  normalizeNs: number;
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
    await response.text();
    return performance.now() - started;
  };
  try {
    const per = async (mode: string): Promise<number> => {
      await time(mode, ITERATIONS); // warm-up: JIT and the isolate's state
      const samples: number[] = [];
      for (let i = 0; i < REPEATS; i++) {
        const empty = await time(mode, 0);
        samples.push(((await time(mode, ITERATIONS)) - empty) / ITERATIONS);
      }
      return median(samples) * 1e6;
    };
    return { decideNs: await per("decide"), normalizeNs: await per("normalize") };
  } finally {
    await mf.dispose();
  }
}
