/** Builds and starts bench/fixtures/latency-worker.ts in Miniflare (workerd, no nodejs_compat). */
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { edgeBuildOptions } from "../../src/dev/bundle.js";
import { COMPATIBILITY_DATE } from "../../src/dev/edge-runtime.js";

export interface LatencyWorker {
  url: string;
  close(): Promise<void>;
}

let code: string | undefined;

async function workerCode(root: string): Promise<string> {
  if (code !== undefined) return code;
  const result = await build({
    ...edgeBuildOptions(),
    entryPoints: [join(root, "bench", "fixtures", "latency-worker.ts")],
    write: false,
  });
  code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error("esbuild produced no latency worker");
  return code;
}

export async function startLatencyWorker(
  root: string,
  bindings: Record<string, string>,
): Promise<LatencyWorker> {
  const mf = new Miniflare({
    modules: [
      {
        type: "ESModule",
        path: join(root, "dist", "edge", "latency-worker.js"),
        contents: await workerCode(root),
      },
    ],
    compatibilityDate: COMPATIBILITY_DATE,
    bindings,
    host: "127.0.0.1",
    port: 0,
  });
  const url = (await mf.ready).href;
  return { url, close: () => mf.dispose() };
}

export interface Paced {
  /** Round-trip latency of each request (ms). */
  latencies: number[];
  /** The isolate's `x-decide-ms` of each request. */
  decide: number[];
  errors: number;
}

/**
 * Open-loop load: one request every `1000 / rate` ms for `seconds`, whatever the answers do, so a
 * request that waits on Edge Config cannot slow the arrival of the next (a closed loop would hide it).
 */
export async function paced(
  send: (index: number) => Promise<{ decideMs: number }>,
  rate: number,
  seconds: number,
): Promise<Paced> {
  const out: Paced = { latencies: [], decide: [], errors: 0 };
  const total = Math.round(rate * seconds);
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const t0 = performance.now();
    pending.push(
      send(i).then(
        ({ decideMs }) => {
          out.latencies.push(performance.now() - t0);
          out.decide.push(decideMs);
        },
        () => {
          out.errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  return out;
}
