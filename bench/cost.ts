/**
 * what the firewall costs to run, steadily. A busy isolate (the bundled engine in
 * this process, default options) against the Edge Config stand-in and a real redis-server behind the
 * Upstash bridge, for a fixed time at a steady request rate; reads and commands counted at the
 * stand-ins and scaled to an isolate-hour and to a month of 50 warm isolates, at the published prices.
 */
import { startEdgeConfigServer } from "../src/dev/edge-config-server.js";
import { startUpstashBridge } from "../src/dev/upstash-bridge.js";
import { generateFastLaneKeys } from "../src/ops/fastlane.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { loadEngine } from "./lib/engine-bundle.js";
import { paced } from "./lib/latency-worker.js";
import type { BenchRecord, Row } from "./lib/record.js";
import { sig } from "./lib/stats.js";
import { generateDocument } from "./lib/workload.js";

const SECONDS = 10;
const RATE = 50;
const ISOLATES = 50;
const HOURS_PER_MONTH = 730;
/** Vercel Edge Config on-demand rate (vercel.com/docs/pricing/edge-config). */
const EDGE_CONFIG_USD_PER_READ = 3 / 1_000_000;
/** Upstash Redis pay-as-you-go (upstash.com/pricing/redis). */
const REDIS_USD_PER_COMMAND = 0.2 / 100_000;

interface Counted {
  edgeConfigReads: number;
  redisCommands: number;
}

async function run(options: Record<string, unknown>): Promise<Counted> {
  const engine = await loadEngine();
  const keys = await generateFastLaneKeys();
  const ec = await startEdgeConfigServer({
    items: { containment: generateDocument(50) as never, containment_fastlane_key: keys.publicJwk as never },
  });
  const redis = await startRedisServer();
  const bridge = await startUpstashBridge({ redisUrl: redis.url });
  try {
    const containment = engine.createContainment({
      edgeConfig: ec.connectionString,
      redis: { url: bridge.url, token: bridge.token },
      env: {},
      onReport: () => {},
      ...options,
    });
    const pending: Promise<unknown>[] = [];
    const context = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise.catch(() => {})) };
    await containment.decide(new Request("https://app.example.com/warm"), context);
    await Promise.all(pending.splice(0));
    ec.resetCounts();
    bridge.resetCounts();
    await paced(
      async (i) => {
        await containment.decide(new Request(`https://app.example.com/dashboard/${i % 64}`), context);
        return { decideMs: 0 };
      },
      RATE,
      SECONDS,
    );
    await Promise.all(pending.splice(0));
    return { edgeConfigReads: ec.counts.reads, redisCommands: bridge.counts.commands };
  } finally {
    await bridge.close();
    await redis.stop();
    await ec.close();
  }
}

const perHour = (count: number): number => (count * 3600) / SECONDS;
const usd = (value: number): string =>
  `$${value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString("en-US")}`;

export async function measure(): Promise<BenchRecord> {
  const variants: Array<[string, Record<string, unknown>]> = [
    ["defaults (refreshMs 500, fast lane every 500 ms, mirror on)", {}],
    ["defaults without the mirror", { mirror: false }],
    ["refreshMs 1000 (Edge Config and the fast lane)", { refreshMs: 1_000, mirror: false }],
    [
      "refreshMs 2000, fast lane every 500 ms",
      { refreshMs: 2_000, fastLane: { refreshMs: 500 }, mirror: false },
    ],
    ["fast lane off (no Redis reads for it)", { fastLane: false, mirror: false }],
  ];
  const rows: Row[] = [];
  const metrics: BenchRecord["metrics"] = { seconds: SECONDS, rate_per_s: RATE, isolates: ISOLATES };
  let index = 0;
  for (const [label, options] of variants) {
    const counted = await run(options);
    const ecHour = perHour(counted.edgeConfigReads);
    const redisHour = perHour(counted.redisCommands);
    const monthEc = ecHour * ISOLATES * HOURS_PER_MONTH * EDGE_CONFIG_USD_PER_READ;
    const monthRedis = redisHour * ISOLATES * HOURS_PER_MONTH * REDIS_USD_PER_COMMAND;
    rows.push({
      metric: label,
      value: `${Math.round(ecHour).toLocaleString("en-US")} Edge Config reads and ${Math.round(redisHour).toLocaleString("en-US")} Redis commands per isolate-hour; ${ISOLATES} isolates for a month: ${usd(monthEc)} Edge Config + ${usd(monthRedis)} Redis`,
    });
    metrics[`v${index}_edge_config_reads_per_hour`] = Math.round(ecHour);
    metrics[`v${index}_redis_commands_per_hour`] = Math.round(redisHour);
    metrics[`v${index}_month_usd`] = sig(monthEc + monthRedis);
    console.error(`  cost ${label}: ${JSON.stringify(counted)}`);
    index++;
  }
  return {
    bench: "cost",
    title: "What it costs to run, steadily",
    summary: `cost: ${rows[0]?.value}`,
    metrics,
    rows,
    goals: [
      {
        goal: `Edge Config reads and Redis commands per isolate-hour at the defaults, and a month of ${ISOLATES} warm isolates, in BENCHMARKS.md`,
        actual: rows[0]?.value ?? "",
        met: null,
        limit:
          "a figure to decide with, not a pass/fail goal. Reads happen only behind requests (an idle isolate reads nothing), so this is the ceiling for isolates that see a request at least every refreshMs. The defaults buy a kill switch enforced within ~0.5 s with the fast lane (see fastlane) and within refreshMs + propagation without it; raising refreshMs to 2000 with the fast lane at 500 keeps containment as fast and cuts the Edge Config bill by 4×, at the cost of lifts and rule changes taking up to 2 s longer",
      },
    ],
    method: [
      `The bundled engine in this process, default options but for the row's, with the seeded 50-rule document in the Edge Config stand-in and the Upstash bridge on a real redis-server; ${RATE} requests/s for ${SECONDS} s on paths no rule blocks (so no rate-limit or block events), all waitUntil work awaited; reads counted at the stand-in (digest checks; items only on change), commands at the bridge (fast-lane HGETALL; with the mirror, its flushes and per-isolate reports).`,
      `Scaled ×${3600 / SECONDS} to an hour, × ${ISOLATES} isolates × ${HOURS_PER_MONTH} hours; prices: Edge Config $3.00 per million reads (Vercel on-demand), Upstash $0.20 per 100,000 commands (pay as you go). Plan allowances are not subtracted.`,
    ],
  };
}
