/**
 * Measurement 3, network round trips on the hot path, counted where they arrive: at the Upstash
 * bridge (in front of a real redis-server started here on a free port) and at the Edge Config
 * stand-in. The firewall (bundled like the middleware) runs in this process against both, exactly
 * as it would against Upstash and Edge Config.
 */
import { startEdgeConfigServer } from "../src/dev/edge-config-server.js";
import { startUpstashBridge } from "../src/dev/upstash-bridge.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { type Engine, loadEngine } from "./lib/engine-bundle.js";
import type { BenchRecord, Goal } from "./lib/record.js";
import { sig } from "./lib/stats.js";
import { pendingWork } from "./lib/wait-until.js";

const RULES = {
  version: 1,
  rules: [
    { id: "admin-freeze", kind: "kill-switch", match: { path: "/api/admin/**" }, status: 503 },
    {
      id: "docs-no-store",
      kind: "headers",
      match: { path: "/api/docs/**" },
      set: { "cache-control": "private, no-store" },
    },
    {
      id: "export-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/export/**" },
      limit: 5,
      window: "1m",
      by: ["ip"],
      failMode: "open",
    },
    {
      id: "report-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/reports/**" },
      limit: 100_000,
      window: "1m",
      by: ["ip"],
      failMode: "open",
    },
  ],
};
const PER_PHASE = 50;
const OVER_LIMIT_REQUESTS = 30;
const STEADY_SECONDS = 3;
const MIRRORED = 1_000;
const MIRROR_CONCURRENCY = 16;
const PACED_RATE = 250;

type Containment = ReturnType<Engine["createContainment"]>;

/**
 * Lets timers and sockets run between requests, as a server does (each request arrives as I/O). A
 * loop of already-resolved decisions would otherwise starve the event loop: Edge Config refreshes
 * and mirror flushes could not run until it ended.
 */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function request(path: string, ip: string): Request {
  return new Request(`https://app.example.com${path}`, {
    headers: { "x-real-ip": ip, "x-vercel-id": `iad1::${ip}` },
  });
}

const ipOf = (n: number): string => `198.51.${(n >> 8) & 255}.${n & 255}`;

export async function measure(): Promise<BenchRecord> {
  const engine = await loadEngine();
  const redisServer = await startRedisServer();
  const bridge = await startUpstashBridge({ redisUrl: redisServer.url });
  const ec = await startEdgeConfigServer({ items: { containment: RULES } });
  const reports: string[] = [];
  const make = (mirror: boolean): Containment =>
    engine.createContainment({
      edgeConfig: ec.connectionString,
      redis: { url: bridge.url, token: bridge.token },
      ...(mirror ? {} : { mirror: false }),
      env: {},
      region: "bench",
      onReport: (event, detail) => reports.push(`${event} ${JSON.stringify(detail ?? {})}`),
    });

  try {
    /** Per request: Redis requests while `decide` ran (the hot path) and after (waitUntil work). */
    async function perRequest(containment: Containment, requests: readonly Request[]) {
      let hot = 0;
      let after = 0;
      let ecReads = 0;
      const statuses: Record<number, number> = {};
      for (const req of requests) {
        const pending = pendingWork();
        const r0 = bridge.counts.requests;
        const e0 = ec.counts.reads;
        const { response } = await containment.decide(req, pending.context);
        const r1 = bridge.counts.requests;
        await pending.settle();
        hot += r1 - r0;
        after += bridge.counts.requests - r1;
        ecReads += ec.counts.reads - e0;
        const status = response?.status ?? 200;
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
      return {
        hot: hot / requests.length,
        after: after / requests.length,
        ecReads: ecReads / requests.length,
        statuses,
      };
    }

    const hotPath = make(false);
    // Cold start: the first decision loads the rules from Edge Config.
    const coldReads = ec.counts.reads;
    await hotPath.decide(request("/api/docs/warm", ipOf(0)));
    const coldStartReads = ec.counts.reads - coldReads;

    const noLimit = await perRequest(
      hotPath,
      Array.from({ length: PER_PHASE }, (_, i) => request(`/api/docs/${i}`, ipOf(1000 + i))),
    );
    // The first use of a rate-limit script on a Redis loads it (EVALSHA → NOSCRIPT → EVAL); once per
    // script and database, so measured apart from the steady per-request cost.
    const firstUse = await perRequest(hotPath, [request("/api/acme/reports/first", ipOf(1999))]);
    const underLimit = await perRequest(
      hotPath,
      Array.from({ length: PER_PHASE }, (_, i) => request(`/api/acme/reports/${i}`, ipOf(2000 + i))),
    );
    // One identity: 5 admitted, the 6th learns it is over the limit, the rest should be answered in the isolate.
    const overIp = ipOf(3000);
    const reachLimit = await perRequest(
      hotPath,
      Array.from({ length: 6 }, (_, i) => request(`/api/acme/export/${i}`, overIp)),
    );
    const overLimit = await perRequest(
      hotPath,
      Array.from({ length: OVER_LIMIT_REQUESTS }, (_, i) => request(`/api/acme/export/o${i}`, overIp)),
    );

    // Steady state: Edge Config reads while requests flow for a few seconds.
    ec.resetCounts();
    let steadyRequests = 0;
    const steadyEnd = Date.now() + STEADY_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: 4 }, async (_, client) => {
        while (Date.now() < steadyEnd) {
          await hotPath.decide(request(`/api/docs/s${steadyRequests}`, ipOf(4000 + client)));
          steadyRequests++;
          await yieldToEventLoop();
        }
      }),
    );
    const steadyReads = ec.counts.reads;

    // Mirror under load: 1,000 decisions (10% blocked by a kill switch), 16 at a time.
    const mirrored = make(true);
    const warm = pendingWork();
    await mirrored.decide(request("/api/docs/warm", ipOf(1)), warm.context);
    await warm.settle();
    bridge.resetCounts();
    const load = pendingWork();
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: MIRROR_CONCURRENCY }, async () => {
        while (next < MIRRORED) {
          const n = next++;
          const path = n % 10 === 0 ? `/api/admin/users/${n}` : `/api/docs/${n}`;
          await mirrored.decide(request(path, ipOf(5000 + (n % 500))), load.context);
          await yieldToEventLoop();
        }
      }),
    );
    const decideSeconds = (performance.now() - started) / 1000;
    await load.settle();
    const mirrorRequests = bridge.counts.requests;
    const mirrorCommands = bridge.counts.commands;
    const stats = mirrored.status().mirror;

    // The same 1,000 decisions paced at a steady rate: a flush goes out at most every minIntervalMs
    // per isolate, so requests per 1,000 decisions fall as traffic rises; this shows where it stands.
    bridge.resetCounts();
    const paced = pendingWork();
    const pacedStart = performance.now();
    const inFlight: Promise<unknown>[] = [];
    for (let n = 0; n < MIRRORED; n++) {
      const due = pacedStart + (n * 1000) / PACED_RATE;
      while (performance.now() < due)
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
      inFlight.push(mirrored.decide(request(`/api/docs/p${n}`, ipOf(6000 + (n % 500))), paced.context));
    }
    await Promise.all(inFlight);
    await paced.settle();
    const pacedRequests = bridge.counts.requests;

    const goals: Goal[] = [
      {
        goal: "route without a rate limit: 0 Redis calls per request",
        actual: `${sig(noLimit.hot)} on the hot path, ${sig(noLimit.after)} after`,
        met: noLimit.hot === 0 && noLimit.after === 0,
      },
      {
        goal: "route with a rate limit: 1 Redis call per request",
        actual: `${sig(underLimit.hot)} on the hot path, ${sig(underLimit.after)} after`,
        met: underLimit.hot <= 1 && underLimit.after === 0,
      },
      {
        goal: "identity already over its limit: 0 Redis calls (ephemeral cache)",
        actual: `${sig(overLimit.hot)} on the hot path, ${sig(overLimit.after)} after (statuses ${JSON.stringify(overLimit.statuses)})`,
        met:
          overLimit.hot === 0 &&
          overLimit.after === 0 &&
          (overLimit.statuses[429] ?? 0) === OVER_LIMIT_REQUESTS,
      },
      {
        goal: "≤ 50 Redis requests per 1,000 mirrored decisions under load",
        actual: `${sig((mirrorRequests / MIRRORED) * 1000)} (${stats?.recorded ?? "?"} recorded, ${stats?.sent ?? "?"} sent, ${stats?.dropped ?? "?"} dropped)`,
        met: (mirrorRequests / MIRRORED) * 1000 <= 50 && (stats?.dropped ?? 1) === 0,
      },
    ];
    for (const goal of goals)
      if (goal.met === false) goal.limit = "see the rows: calls counted at the bridge per phase";
    const steadyPerRequest = steadyReads / Math.max(1, steadyRequests);
    return {
      bench: "roundtrips",
      title: "Network round trips on the hot path",
      summary:
        `roundtrips: Redis calls/request: no limit ${sig(noLimit.hot)}, with limit ${sig(underLimit.hot)}, over limit ${sig(overLimit.hot)}; ` +
        `Edge Config reads ${sig(steadyReads / STEADY_SECONDS)}/s (${sig(steadyPerRequest, 2)}/request at ${Math.round(steadyRequests / STEADY_SECONDS)} req/s); ` +
        `mirror ${mirrorRequests} Redis requests per ${MIRRORED} decisions`,
      metrics: {
        redis_per_request_no_limit: noLimit.hot,
        redis_per_request_with_limit: underLimit.hot,
        redis_first_request_with_limit: firstUse.hot,
        redis_per_request_reaching_limit: reachLimit.hot,
        redis_per_request_over_limit: overLimit.hot,
        redis_after_response_per_request_with_limit: underLimit.after,
        edge_config_reads_cold_start: coldStartReads,
        edge_config_reads_per_second_steady: sig(steadyReads / STEADY_SECONDS),
        edge_config_reads_per_request_steady: sig(steadyPerRequest, 2),
        steady_rps: Math.round(steadyRequests / STEADY_SECONDS),
        mirror_redis_requests_per_1000: sig((mirrorRequests / MIRRORED) * 1000),
        mirror_redis_requests_per_1000_paced: sig((pacedRequests / MIRRORED) * 1000),
        mirror_paced_rate: PACED_RATE,
        mirror_redis_commands_per_1000: sig((mirrorCommands / MIRRORED) * 1000),
        mirror_decisions_per_second: Math.round(MIRRORED / decideSeconds),
        mirror_recorded: stats?.recorded ?? null,
        mirror_sent: stats?.sent ?? null,
        mirror_dropped: stats?.dropped ?? null,
        mirror_flushes: stats?.flushes ?? null,
      },
      rows: [
        {
          metric: "route without a rate limit (headers rule)",
          value: `${sig(noLimit.hot)} Redis calls/request on the hot path, ${sig(noLimit.after)} after the response; ${sig(noLimit.ecReads, 2)} Edge Config reads/request`,
        },
        {
          metric: "route with a rate limit, first request after start (loads the script)",
          value: `${sig(firstUse.hot)} Redis calls on the hot path`,
        },
        {
          metric: "route with a rate limit, under it",
          value: `${sig(underLimit.hot)} Redis calls/request on the hot path, ${sig(underLimit.after)} after`,
        },
        {
          metric: "one identity reaching its limit (5 + the 6th)",
          value: `${sig(reachLimit.hot)} Redis calls/request; statuses ${JSON.stringify(reachLimit.statuses)}`,
        },
        {
          metric: `the same identity over its limit (${OVER_LIMIT_REQUESTS} more)`,
          value: `${sig(overLimit.hot)} Redis calls/request; statuses ${JSON.stringify(overLimit.statuses)}`,
        },
        { metric: "Edge Config reads, cold start", value: `${coldStartReads}` },
        {
          metric: `Edge Config reads, steady state (${STEADY_SECONDS} s, refreshMs default 500)`,
          value: `${steadyReads} reads = ${sig(steadyReads / STEADY_SECONDS)}/s, ${sig(steadyPerRequest, 2)}/request at ${Math.round(steadyRequests / STEADY_SECONDS)} req/s`,
        },
        {
          metric: `mirror, ${MIRRORED} decisions at concurrency ${MIRROR_CONCURRENCY}`,
          value: `${mirrorRequests} Redis requests (${mirrorCommands} commands) at ${Math.round(MIRRORED / decideSeconds)} decisions/s; mirror stats ${JSON.stringify(stats ?? {})}`,
        },
        {
          metric: `mirror, ${MIRRORED} decisions paced at ${PACED_RATE}/s`,
          value: `${pacedRequests} Redis requests (one flush at most every 100 ms per isolate, by default)`,
        },
        ...(reports.length > 0
          ? [{ metric: "firewall reports", value: [...new Set(reports)].slice(0, 5).join("; ") }]
          : []),
      ],
      goals,
      method: [
        "redis-server (test/support/redis-server.ts) on a free port behind the Upstash bridge (src/dev/upstash-bridge.ts); the Edge Config stand-in (src/dev/edge-config-server.ts) holds the rules; the firewall is the bundled engine with `edgeConfig` = the stand-in's connection string and `redis` = the bridge.",
        `Per-request phases of ${PER_PHASE} sequential requests (distinct client IPs), mirror off so every Redis request counted is the rules' own: "hot path" = requests the bridge received while \`decide()\` ran, "after" = those made by waitUntil work, awaited before the next request.`,
        `Over the limit: one IP sends 6 requests to a 5/min rule, then ${OVER_LIMIT_REQUESTS} more; only the last ${OVER_LIMIT_REQUESTS} are the "over its limit" figure.`,
        `Steady state: 4 concurrent clients for ${STEADY_SECONDS} s; reads counted at the stand-in (digest checks every refreshMs, items only when the digest changed).`,
        `Mirror: a second firewall with the default mirror; ${MIRRORED} decisions (10% blocked by a kill switch) from ${MIRROR_CONCURRENCY} concurrent callers in this process (one isolate), waitUntil work awaited; requests counted at the bridge.`,
      ],
    };
  } finally {
    await ec.close();
    await bridge.close();
    await redisServer.stop();
  }
}
