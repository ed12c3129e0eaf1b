/**
 * What the firewall costs to run, steadily. Isolates (the bundled engine in this process, default
 * options) against the Edge Config stand-in and a real redis-server behind the Upstash bridge, each
 * at a steady request rate for the same window, side by side: an idle isolate, 1, 10 and 50
 * requests/s on routes no rule can refuse, 50/s with the detection example, and the previous
 * defaults for comparison. Operations are counted at the stand-ins (deterministic, whatever the
 * machine's load), split into fixed (per hour, whatever the traffic) and marginal (per 1,000
 * requests), and priced per month of 50 warm isolates.
 */
import { readFileSync } from "node:fs";
import { SignJWT } from "jose";
import { startEdgeConfigServer } from "../src/dev/edge-config-server.js";
import { startUpstashBridge } from "../src/dev/upstash-bridge.js";
import { generateFastLaneKeys } from "../src/ops/fastlane.js";
import { packageRoot } from "../src/ops/package-root.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { type Engine, loadEngine } from "./lib/engine-bundle.js";
import { paced } from "./lib/latency-worker.js";
import type { BenchRecord, Row } from "./lib/record.js";
import { sig } from "./lib/stats.js";
import { generateDocument } from "./lib/workload.js";

/** Long enough for the mirror's quiet cadence (2, 4, 8, 16 s) to reach its ceiling. */
const SECONDS = 60;
const ISOLATES = 50;
const HOURS_PER_MONTH = 730;
/** Vercel Edge Config on-demand rate (vercel.com/docs/pricing/edge-config). */
const EDGE_CONFIG_USD_PER_READ = 3 / 1_000_000;
/** Upstash Redis pay-as-you-go (upstash.com/pricing/redis). */
const REDIS_USD_PER_COMMAND = 0.2 / 100_000;
const GOAL_MARGINAL_PER_1000 = 20;
const GOAL_FIXED_PER_HOUR = 7_000;
const DETECT_SECRET = "cost-bench-detect-secret-0123456789abcdef";

interface Counted {
  requests: number;
  edgeConfigReads: number;
  redisCommands: number;
  /** Fast-lane reads (HGETALL), mirror and detector flushes (EVALSHA/EVAL), everything else. */
  lane: number;
  scripts: number;
  other: number;
}

interface Scenario {
  label: string;
  rate: number;
  options: Record<string, unknown>;
  document: unknown;
  request: (i: number) => Request | Promise<Request>;
}

async function run(engine: Engine, scenario: Scenario): Promise<Counted> {
  const keys = await generateFastLaneKeys();
  const ec = await startEdgeConfigServer({
    items: { containment: scenario.document as never, containment_fastlane_key: keys.publicJwk as never },
  });
  const redis = await startRedisServer();
  const bridge = await startUpstashBridge({ redisUrl: redis.url });
  try {
    const containment = engine.createContainment({
      edgeConfig: ec.connectionString,
      redis: { url: bridge.url, token: bridge.token },
      env: { DETECT_EXAMPLE_JWT_SECRET: DETECT_SECRET },
      onReport: () => {},
      ...scenario.options,
    });
    const pending: Promise<unknown>[] = [];
    const context = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise.catch(() => {})) };
    // Warm: the cold start's reads and the first flush are not the steady cost.
    await containment.decide(await scenario.request(0), context);
    await Promise.all(pending.splice(0));
    ec.resetCounts();
    bridge.resetCounts();
    let requests = 0;
    if (scenario.rate > 0) {
      await paced(
        async (i) => {
          requests++;
          await containment.decide(await scenario.request(i), context);
          return { decideMs: 0 };
        },
        scenario.rate,
        SECONDS,
      );
    } else await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
    // Everything the window's requests caused, their last flushes included.
    while (pending.length > 0) await Promise.all(pending.splice(0));
    const by = bridge.counts.byCommand;
    const lane = by.hgetall ?? 0;
    const scripts = (by.evalsha ?? 0) + (by.eval ?? 0);
    return {
      requests,
      edgeConfigReads: ec.counts.reads,
      redisCommands: bridge.counts.commands,
      lane,
      scripts,
      other: bridge.counts.commands - lane - scripts,
    };
  } finally {
    await bridge.close();
    await redis.stop();
    await ec.close();
  }
}

const perHour = (count: number): number => (count * 3600) / SECONDS;
const int = (value: number): string => Math.round(value).toLocaleString("en-US");
const usd = (value: number): string =>
  `$${value < 10 ? value.toFixed(2) : Math.round(value).toLocaleString("en-US")}`;
const monthUsd = (ecPerHour: number, redisPerHour: number): number =>
  (ecPerHour * EDGE_CONFIG_USD_PER_READ + redisPerHour * REDIS_USD_PER_COMMAND) * ISOLATES * HOURS_PER_MONTH;

async function detectToken(user: string): Promise<string> {
  return new SignJWT({ org: "acme" })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("https://id.example.com/")
    .setAudience("api")
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(DETECT_SECRET));
}

export async function measure(): Promise<BenchRecord> {
  const engine = await loadEngine();
  const document = generateDocument(50);
  const detectDocument = JSON.parse(
    readFileSync(`${packageRoot()}/rules/examples/detect-enumeration.json`, "utf8"),
  ) as Record<string, unknown>;
  delete detectDocument.$schema;
  const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => detectToken(`user-${i}`)));
  const unprotected = (i: number) => new Request(`https://app.example.com/dashboard/${i % 64}`);
  const steady = (label: string, rate: number): Scenario => ({
    label,
    rate,
    options: {},
    document,
    request: unprotected,
  });
  const scenarios: Scenario[] = [
    steady("idle (warm, no requests)", 0),
    steady("1 request/s", 1),
    steady("10 requests/s", 10),
    steady("50 requests/s", 50),
    {
      label: "50 requests/s, detection example (rules/examples/detect-enumeration.json)",
      rate: 50,
      options: {},
      document: detectDocument,
      // 20 users reading 10 patients each: counted by the detector, never tripping it (50 distinct ids).
      request: (i) =>
        new Request(`https://acme.example.com/api/acme/patients/p${i % 10}`, {
          headers: {
            authorization: `Bearer ${tokens[i % tokens.length]}`,
            origin: "https://acme.example.com",
          },
        }),
    },
    {
      label:
        "50 requests/s, the previous defaults (Edge Config and fast lane every 500 ms, a flush every 100 ms)",
      rate: 50,
      options: {
        refreshMs: 500,
        fastLane: { refreshMs: 500 },
        mirror: { evidenceIntervalMs: 100, quietMaxIntervalMs: 100 },
      },
      document,
      request: unprotected,
    },
  ];
  // Side by side: the counts are operations, not timings, and the window is long.
  const counted = await Promise.all(scenarios.map((scenario) => run(engine, scenario)));
  for (const [i, scenario] of scenarios.entries())
    console.error(`  cost ${scenario.label}: ${JSON.stringify(counted[i])}`);
  const [idle, r1, r10, r50, detect, previous] = counted as [
    Counted,
    Counted,
    Counted,
    Counted,
    Counted,
    Counted,
  ];
  const ops = (c: Counted): number => c.edgeConfigReads + c.redisCommands;
  for (const c of [r1, r10, r50]) {
    if (c.requests === 0 || c.edgeConfigReads === 0 || c.lane === 0)
      throw new Error(`cost: impossible count (no requests, reads or lane reads): ${JSON.stringify(c)}`);
  }
  // Operations = fixed per hour + marginal per request: the line through 10 and 50 requests/s.
  const marginalPerRequest = (ops(r50) - ops(r10)) / (r50.requests - r10.requests);
  const marginal = 1000 * marginalPerRequest;
  const fixedPerHour = perHour(ops(r10) - marginalPerRequest * r10.requests);
  const rows: Row[] = [];
  const metrics: BenchRecord["metrics"] = { seconds: SECONDS, isolates: ISOLATES };
  for (const [i, scenario] of scenarios.entries()) {
    const c = counted[i] as Counted;
    const ecHour = perHour(c.edgeConfigReads);
    const redisHour = perHour(c.redisCommands);
    const per1000 = c.requests > 0 ? `; ${sig((1000 * ops(c)) / c.requests)} per 1,000 requests` : "";
    rows.push({
      metric: scenario.label,
      value: `${int(ecHour)} Edge Config reads + ${int(redisHour)} Redis commands per isolate-hour (fast lane ${int(perHour(c.lane))}, flush scripts ${int(perHour(c.scripts))}, other ${int(perHour(c.other))})${per1000}; ${ISOLATES} isolates for a month: ${usd(monthUsd(ecHour, redisHour))}`,
    });
    metrics[`s${i}_edge_config_reads_per_hour`] = Math.round(ecHour);
    metrics[`s${i}_redis_commands_per_hour`] = Math.round(redisHour);
    metrics[`s${i}_month_usd`] = sig(monthUsd(ecHour, redisHour));
  }
  metrics.fixed_ops_per_hour = Math.round(fixedPerHour);
  metrics.marginal_ops_per_1000_requests = sig(marginal);
  metrics.previous_fixed_ops_per_hour = Math.round(perHour(previous.edgeConfigReads + previous.lane));
  metrics.previous_per_1000_requests = sig((1000 * previous.scripts) / previous.requests);
  metrics.detect_per_1000_requests = sig((1000 * ops(detect)) / detect.requests);
  metrics.idle_ops = ops(idle);
  rows.push({
    metric: "fixed and marginal (the line through 10 and 50 requests/s)",
    value: `${int(fixedPerHour)} operations per isolate-hour fixed (Edge Config ${int(perHour(r50.edgeConfigReads))}, fast lane ${int(perHour(r50.lane))}, mirror flushes ${int(perHour(r50.scripts))} at 50/s), ${sig(marginal)} per 1,000 requests marginal; an idle isolate ${ops(idle)}`,
  });
  rows.push({
    metric: "what each default buys",
    value: `refreshMs 3,000 (${int(perHour(r50.edgeConfigReads))} digest reads/h): any change Edge Config serves enforced within maxStaleMs 5 s; fastLane.refreshMs 700 (${int(perHour(r50.lane))} HGETALL/h): a kill switch everywhere within ~1 s however slowly Edge Config propagates (see fastlane); the mirror's cadence (${int(perHour(r50.scripts))} flushes/h on quiet routes): blocks at once, protected routes within 2 s, the rest within 16 s, every decision counted. Before (500 ms, 500 ms, 100 ms): ${int(perHour(previous.edgeConfigReads))} + ${int(perHour(previous.lane))} reads/h and ${sig((1000 * previous.scripts) / previous.requests)} flushes per 1,000 requests`,
  });
  const marginalMet = marginal <= GOAL_MARGINAL_PER_1000;
  const fixedMet = fixedPerHour <= GOAL_FIXED_PER_HOUR;
  return {
    bench: "cost",
    title: "What it costs to run, steadily",
    summary: `cost: ${int(fixedPerHour)} operations per warm isolate-hour fixed, ${sig(marginal)} per 1,000 requests marginal on unprotected routes; 50/s: ${rows[3]?.value}`,
    metrics,
    rows,
    goals: [
      {
        goal: `marginal ≤ ${GOAL_MARGINAL_PER_1000} Redis commands + Edge Config reads per 1,000 requests on routes without rate limits or detectors`,
        actual: `${sig(marginal)} per 1,000 requests (previous defaults: ${sig((1000 * previous.scripts) / previous.requests)} flushes per 1,000)`,
        met: marginalMet,
        ...(marginalMet ? {} : { limit: "the quiet cadence did not reach its ceiling within the window" }),
      },
      {
        goal: `fixed ≤ ${int(GOAL_FIXED_PER_HOUR)} Edge Config reads + Redis commands per warm isolate-hour`,
        actual: `${int(fixedPerHour)} per hour (previous defaults: ${int(perHour(previous.edgeConfigReads + previous.lane))} reads alone)`,
        met: fixedMet,
        ...(fixedMet
          ? {}
          : {
              limit:
                "the fast lane's own read every 700 ms (5,143/h) is most of it: a kill switch within 1 s needs a read within 1 s",
            }),
      },
      {
        goal: `Edge Config reads and Redis commands per isolate-hour at 1, 10 and 50 requests/s, idle, and with the detection example, and a month of ${ISOLATES} warm isolates`,
        actual: `1/s: ${int(perHour(ops(r1)))}, 10/s: ${int(perHour(ops(r10)))}, 50/s: ${int(perHour(ops(r50)))}, idle: ${ops(idle)}, detection example at 50/s: ${int(perHour(ops(detect)))} operations per hour`,
        met: null,
        limit:
          "a figure to decide with. Reads happen only behind requests (an idle isolate reads nothing). The detection example's routes are protected (tenant binding, a detector): their evidence flushes every 2 s and the detector's counts every 250 ms while they arrive",
      },
    ],
    method: [
      `The bundled engine in this process, default options but for the row's; each row its own isolate with its own Edge Config stand-in (the seeded 50-rule document, or the detection example) and its own real redis-server behind the Upstash bridge, all rows side by side for ${SECONDS} s; requests paced at the row's rate on /dashboard/<n> (no rule can refuse them: no rate-limit or block events), or GET /api/acme/patients/<id> with 20 users' HS256 tokens for the detection example; all waitUntil work awaited, the last flushes included.`,
      "Counted at the stand-ins after a warm-up request: Edge Config reads (digest checks; items only on change), Redis commands by name (fast lane HGETALL, flush scripts EVALSHA/EVAL of the mirror and the detector store, others). Fixed and marginal: the straight line through the 10/s and 50/s counts.",
      `Scaled ×${3600 / SECONDS} to an hour, × ${ISOLATES} isolates × ${HOURS_PER_MONTH} hours; prices: Edge Config $3.00 per million reads (Vercel on-demand), Upstash $0.20 per 100,000 commands (pay as you go). Plan allowances are not subtracted.`,
    ],
  };
}
