/**
 * time to contain in every region, even when Edge Config takes 10 s to make a write
 * visible. Three workerd instances stand for three regions, each reading its own Edge Config stand-in;
 * a write reaches the three stand-ins 10 s after it was accepted (Edge Config's documented worst
 * propagation). With the fast lane, the flip is also published to Redis (a real redis-server behind
 * the Upstash bridge) signed with the responders' key, as `containment kill` does after Edge Config
 * accepted it. Clock: from just before the write to the moment every region answers 503.
 */
import { Redis } from "@upstash/redis";
import { type EdgeConfigServer, startEdgeConfigServer } from "../src/dev/edge-config-server.js";
import { startUpstashBridge } from "../src/dev/upstash-bridge.js";
import { type FastLaneContext, generateFastLaneKeys, publishFastLane } from "../src/ops/fastlane.js";
import { packageRoot } from "../src/ops/package-root.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { type LatencyWorker, startLatencyWorker } from "./lib/latency-worker.js";
import type { BenchRecord } from "./lib/record.js";
import { median, quantile } from "./lib/stats.js";

const REGIONS = ["iad1", "fra1", "hnd1"] as const;
const VISIBILITY_MS = 10_000;
const FLIPS_WITH_LANE = 20;
const FLIPS_WITHOUT_LANE = 5;
const POLL_MS = 25;
const GOAL_MS = 1_000;
const GIVE_UP_MS = 30_000;

interface Region {
  name: string;
  ec: EdgeConfigServer;
  worker: LatencyWorker;
}

async function blocked(region: Region, path: string): Promise<boolean> {
  const response = await fetch(`${region.worker.url}${path.slice(1)}`, {
    headers: { "x-real-ip": "198.51.100.9" },
  });
  await response.arrayBuffer();
  return response.status === 503;
}

/** Polls one region until the path is blocked; ms since `since`. */
async function untilBlocked(region: Region, path: string, since: number): Promise<number> {
  for (;;) {
    if (await blocked(region, path)) return performance.now() - since;
    if (performance.now() - since > GIVE_UP_MS) throw new Error(`${region.name} never blocked ${path}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** `containment kill` against Edge Config with 10 s propagation, then (optionally) the fast lane. */
async function flip(
  regions: readonly Region[],
  id: string,
  lane: FastLaneContext | undefined,
): Promise<number> {
  const path = `/api/${id}/export`;
  const item = { id, version: 1, match: { path }, reason: "benchmark" };
  const started = performance.now();
  // Accepted by Edge Config now, visible everywhere VISIBILITY_MS later.
  setTimeout(() => {
    for (const region of regions) region.ec.setItem(`containment_kill_${id}`, item);
  }, VISIBILITY_MS);
  if (lane) await publishFastLane(lane, item);
  const times = await Promise.all(regions.map((region) => untilBlocked(region, path, started)));
  return Math.max(...times);
}

async function trial(
  root: string,
  redisUrl: { url: string; token: string },
  withLane: boolean,
  flips: number,
): Promise<number[]> {
  const keys = await generateFastLaneKeys();
  const prefix = `bench${withLane ? "lane" : "plain"}:`;
  const regions: Region[] = [];
  try {
    for (const name of REGIONS) {
      const ec = await startEdgeConfigServer({
        items: { containment: { version: 1, rules: [] }, containment_fastlane_key: keys.publicJwk as never },
      });
      const worker = await startLatencyWorker(root, {
        EDGE_CONFIG: ec.connectionString,
        REGION: name,
        CONTAINMENT_OPTIONS: JSON.stringify({
          mirror: false,
          // One audience for every region's stand-in store: the lane entries are for all of them.
          ...(withLane ? { redis: redisUrl, redisPrefix: prefix, fastLane: { audience: "bench" } } : {}),
        }),
      });
      regions.push({ name, ec, worker });
    }
    // Warm every isolate (cold starts are goal 4, not this one).
    for (const region of regions) await blocked(region, "/warm");
    const client = new Redis({ ...redisUrl, retry: { retries: 0 } });
    const lane: FastLaneContext | undefined = withLane
      ? { redis: client, prefix, audience: "bench", signingKey: keys.privateJwk }
      : undefined;
    const times: number[] = [];
    if (withLane) {
      for (let i = 0; i < flips; i++) {
        times.push(await flip(regions, `lane${i}`, lane));
        console.error(`  fastlane with lane flip ${i + 1}: ${Math.round(times.at(-1) ?? 0)} ms`);
      }
    } else {
      // Without the lane every flip takes the propagation time: run them staggered, not one after another.
      const runs = Array.from({ length: flips }, (_, i) =>
        new Promise((resolve) => setTimeout(resolve, i * 500)).then(() =>
          flip(regions, `plain${i}`, undefined),
        ),
      );
      times.push(...(await Promise.all(runs)));
      console.error(`  fastlane without lane: ${times.map((t) => Math.round(t)).join(", ")} ms`);
    }
    return times;
  } finally {
    for (const region of regions) {
      await region.worker.close();
      await region.ec.close();
    }
  }
}

export async function measure(): Promise<BenchRecord> {
  const root = packageRoot();
  const redis = await startRedisServer();
  const bridge = await startUpstashBridge({ redisUrl: redis.url });
  let lane: number[];
  let plain: number[];
  try {
    const connection = { url: bridge.url, token: bridge.token };
    lane = await trial(root, connection, true, FLIPS_WITH_LANE);
    plain = await trial(root, connection, false, FLIPS_WITHOUT_LANE);
  } finally {
    await bridge.close();
    await redis.stop();
  }
  const p50 = quantile(lane, 0.5);
  const p99 = quantile(lane, 0.99);
  const met = p99 <= GOAL_MS;
  return {
    bench: "fastlane",
    title: "Time to contain with Edge Config propagating in 10 s",
    summary: `fastlane: flip → every region blocking, Edge Config visible after ${VISIBILITY_MS / 1000} s: with the fast lane p50 ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms (${lane.length} flips); without p50 ${Math.round(median(plain))} ms (${plain.length} flips)`,
    metrics: {
      regions: REGIONS.length,
      visibility_ms: VISIBILITY_MS,
      with_lane_p50_ms: Math.round(p50),
      with_lane_p99_ms: Math.round(p99),
      with_lane_max_ms: Math.round(Math.max(...lane)),
      without_lane_p50_ms: Math.round(median(plain)),
      without_lane_p99_ms: Math.round(quantile(plain, 0.99)),
      flips_with_lane: lane.length,
      flips_without_lane: plain.length,
    },
    rows: [
      {
        metric: `with the fast lane (${lane.length} flips)`,
        value: `p50 ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms (all: ${lane.map((t) => Math.round(t)).join(", ")})`,
      },
      {
        metric: `Edge Config alone (${plain.length} flips)`,
        value: `p50 ${Math.round(median(plain))} ms, p99 ${Math.round(quantile(plain, 0.99))} ms (all: ${plain.map((t) => Math.round(t)).join(", ")})`,
      },
    ],
    goals: [
      {
        goal: `time to contain ≤ ${GOAL_MS} ms at p99 in every region, Edge Config propagating in ${VISIBILITY_MS / 1000} s`,
        actual: `p99 ${Math.round(p99)} ms with the fast lane (Edge Config alone: p50 ${Math.round(median(plain))} ms)`,
        met,
        ...(met
          ? {}
          : {
              limit:
                "each isolate reads the lane at most every fastLane.refreshMs (700 ms) behind a request; on this loaded machine the Redis round trip and the workers' scheduling add the rest",
            }),
      },
    ],
    method: [
      `${REGIONS.length} workerd instances (bench/fixtures/latency-worker.ts in Miniflare) as regions ${REGIONS.join(", ")}, each with its own Edge Config stand-in; a kill-switch write becomes visible in all three ${VISIBILITY_MS / 1000} s after it was accepted. Defaults: Edge Config every refreshMs (3,000 ms), fast-lane reads at most every fastLane.refreshMs (700 ms), in waitUntil.`,
      `With the fast lane: after the write, publishFastLane (src/ops/fastlane.ts) signs the item with an Ed25519 key whose public JWK is the Edge Config item containment_fastlane_key, into a real redis-server behind the Upstash bridge. ${FLIPS_WITH_LANE} flips one after another, each on its own route.`,
      `Each region is polled every ${POLL_MS} ms on the switched route; time = from just before the write to the last region's first 503. Edge Config alone: ${FLIPS_WITHOUT_LANE} flips started 500 ms apart (each takes the propagation time).`,
    ],
  };
}
