/**
 * Measurement 5, time to contain locally: `containment dev`'s pieces (startDevServer: Edge Config
 * stand-in, the middleware bundle in workerd, the front server, the rules-file watcher) in this
 * process. A kill switch is written as an item `containment_kill_<id>` through the stand-in's
 * Vercel-API write endpoint (what `containment kill` calls), or a rule is added to the watched rules
 * file; the clock runs from just before the write to the first 503 seen by a client polling the
 * firewall back to back.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDevServer } from "../src/dev/server.js";
import type { BenchRecord } from "./lib/record.js";
import { median, sig } from "./lib/stats.js";

const TRIALS = 5;
const GOAL_MS = 1_000;
const GIVE_UP_MS = 10_000;

const baseDocument = (extra: unknown[] = []) => ({
  version: 1,
  rules: [
    {
      id: "phi-no-store",
      kind: "headers",
      match: { path: "/api/patients/**" },
      set: { "cache-control": "private, no-store" },
    },
    ...extra,
  ],
});

/** The firewall's own 503 (the demo origin behind it answers 404 for these paths when they pass). */
function blockedByFirewall(response: Response): boolean {
  return response.status === 503 && response.headers.has("x-containment-request-id");
}

/** Polls `url` back to back until it is (or is no longer) blocked; ms from `since`. */
async function until(url: string, blocked: boolean, since: number): Promise<number> {
  for (;;) {
    const response = await fetch(url);
    await response.arrayBuffer();
    const at = performance.now();
    if (blockedByFirewall(response) === blocked) return at - since;
    if (at - since > GIVE_UP_MS)
      throw new Error(`${url} still answered ${response.status} after ${GIVE_UP_MS} ms`);
  }
}

export async function measure(): Promise<BenchRecord> {
  const dir = mkdtempSync(join(tmpdir(), "containment-bench-contain-"));
  const rulesFile = join(dir, "rules.json");
  writeFileSync(rulesFile, JSON.stringify(baseDocument()));
  const dev = await startDevServer({ port: 0, rules: rulesFile, log: () => {} });
  const killMs: number[] = [];
  const liftMs: number[] = [];
  const fileMs: number[] = [];
  try {
    const patch = (items: unknown[]) =>
      fetch(dev.urls.writeApi, {
        method: "PATCH",
        headers: { authorization: `Bearer ${dev.apiToken}`, "content-type": "application/json" },
        body: JSON.stringify({ items }),
      }).then(async (response) => {
        if (!response.ok) throw new Error(`write API answered ${response.status}: ${await response.text()}`);
      });

    for (let trial = 0; trial < TRIALS; trial++) {
      const url = `${dev.urls.firewall}/api/bench/k${trial}/export`;
      await until(url, false, performance.now());
      const id = `bench${trial}`;
      const flipped = performance.now();
      await patch([
        {
          operation: "upsert",
          key: `containment_kill_${id}`,
          value: {
            match: { path: `/api/bench/k${trial}/**` },
            status: 503,
            reason: "benchmark",
            incident: "BENCH-1",
          },
        },
      ]);
      killMs.push(await until(url, true, flipped));
      const lifted = performance.now();
      await patch([{ operation: "delete", key: `containment_kill_${id}` }]);
      liftMs.push(await until(url, false, lifted));
    }

    for (let trial = 0; trial < TRIALS; trial++) {
      const url = `${dev.urls.firewall}/api/bench/f${trial}/export`;
      await until(url, false, performance.now());
      const edited = performance.now();
      writeFileSync(
        rulesFile,
        JSON.stringify(
          baseDocument([
            {
              id: `file${trial}`,
              kind: "kill-switch",
              match: { path: `/api/bench/f${trial}/**` },
              status: 503,
            },
          ]),
        ),
      );
      fileMs.push(await until(url, true, edited));
    }
  } finally {
    await dev.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const killMedian = median(killMs);
  const fileMedian = median(fileMs);
  const killMax = Math.max(...killMs);
  const fileMax = Math.max(...fileMs);
  const list = (values: number[]) => values.map((v) => Math.round(v)).join(", ");
  return {
    bench: "contain",
    title: "Time to contain locally",
    summary: `contain: kill switch → first 503 median ${Math.round(killMedian)} ms (max ${Math.round(killMax)}); rules-file edit → first 503 median ${Math.round(fileMedian)} ms (max ${Math.round(fileMax)}); lift median ${Math.round(median(liftMs))} ms`,
    metrics: {
      trials: TRIALS,
      kill_switch_median_ms: Math.round(killMedian),
      kill_switch_max_ms: Math.round(killMax),
      lift_median_ms: Math.round(median(liftMs)),
      lift_max_ms: Math.round(Math.max(...liftMs)),
      rules_file_median_ms: Math.round(fileMedian),
      rules_file_max_ms: Math.round(fileMax),
    },
    rows: [
      {
        metric: "kill-switch item written → first 503",
        value: `median ${sig(killMedian)} ms, max ${sig(killMax)} ms (trials: ${list(killMs)})`,
      },
      {
        metric: "kill-switch item deleted → first request let through (lift)",
        value: `median ${sig(median(liftMs))} ms (trials: ${list(liftMs)})`,
      },
      {
        metric: "rules file edited → first 503",
        value: `median ${sig(fileMedian)} ms, max ${sig(fileMax)} ms (trials: ${list(fileMs)})`,
      },
    ],
    goals: [
      {
        goal: "kill switch written → enforced ≤ 1 s",
        actual: `median ${Math.round(killMedian)} ms, max ${Math.round(killMax)} ms`,
        met: killMax <= GOAL_MS,
        ...(killMax <= GOAL_MS ? {} : { limit: "refreshMs (digest poll) plus the write's propagation" }),
      },
      {
        goal: "rules-file change → enforced ≤ 1 s",
        actual: `median ${Math.round(fileMedian)} ms, max ${Math.round(fileMax)} ms`,
        met: fileMax <= GOAL_MS,
        ...(fileMax <= GOAL_MS ? {} : { limit: "file-watch latency + debounce + refreshMs" }),
      },
    ],
    method: [
      "`startDevServer()` (what `containment dev` runs): Edge Config stand-in, the middleware bundle in workerd (Miniflare) reading it through @vercel/edge-config with the dev refreshMs (200 ms), the front server, the rules-file watcher; in-memory store.",
      `Kill switch: PATCH \`/v1/edge-config/<id>/items\` upserting \`containment_kill_bench<n>\` (Vercel API shape, bearer token); then the item is deleted to time the lift. ${TRIALS} trials each.`,
      "Rules file: the watched file is rewritten with one more kill-switch rule (fs.watch + stat polling, 50 ms debounce, validated, then written to the stand-in).",
      "The clock starts just before the write; a client polls the firewall URL back to back (each request is one poll) and stops at the first 503. Goal judged on the max of the trials.",
      "On Vercel the figure is Edge Config's own propagation (documented as up to ~10 s globally) plus refreshMs (default 500 ms); this measures the library's part.",
    ],
  };
}
