/**
 * What an attack costs in Redis: a flood of blocked requests against ONE isolate
 * (the firewall bundled like the middleware, in this process) at ≥ 1,000 req/s, mirrored through the
 * Upstash bridge into a real redis-server. Counted three ways: HTTP requests at the bridge, top-level
 * commands at the bridge (what Upstash's REST API receives: one EVAL/EVALSHA per flush), and commands
 * Redis executed (INFO commandstats, every call inside the flush script included). Then checks the
 * evidence is still exact: counts equal the decisions, and every distinct (rule, route, tenant,
 * network, outcome) of the flood appears as an aggregated event with its count and first/last time.
 */
import { Redis as IoRedis } from "ioredis";
import { startUpstashBridge } from "../src/dev/upstash-bridge.js";
import { restRedis } from "../src/ops/redis-rest.js";
import { mirrorReader } from "../src/stores/mirror/reader.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { loadEngine } from "./lib/engine-bundle.js";
import type { BenchRecord, Goal } from "./lib/record.js";
import { sig } from "./lib/stats.js";
import { pendingWork } from "./lib/wait-until.js";

const TENANTS = ["acme", "globex", "initech"];
/** The tenants are declared, as a deployment declares its own: Redis names only declared tenants. */
const RULES = {
  version: 1,
  tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
  tenants: Object.fromEntries(TENANTS.map((t) => [t, { origins: [`https://${t}.example.com`] }])),
  rules: [{ id: "freeze", kind: "kill-switch", match: { path: "/api/:tenant/export/**" }, status: 503 }],
};
const RATE = 1_000;
const SECONDS = 5;
const NETWORKS = ["198.51.100.", "203.0.113."];
/** Upstash pay-as-you-go, published price: $0.20 per 100,000 commands. */
const USD_PER_COMMAND = 0.2 / 100_000;

async function executedCommands(io: IoRedis): Promise<number> {
  const info = await io.info("commandstats");
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([a-z_|]+):calls=(\d+)/gm))
    if (match[1] !== "info") total += Number(match[2]);
  return total;
}

export async function measure(): Promise<BenchRecord> {
  const redis = await startRedisServer();
  const bridge = await startUpstashBridge({ redisUrl: redis.url });
  const io = new IoRedis(redis.url);
  try {
    const engine = await loadEngine();
    const containment = engine.createContainment({
      rules: RULES,
      redis: { url: bridge.url, token: bridge.token },
      onReport: () => {},
    });
    const work = pendingWork();
    // Warm: scripts loaded, first report written; then count from zero.
    await containment.decide(new Request("http://a.example/api/acme/export/0"), work.context);
    await work.settle();
    await io.flushall();
    await io.config("RESETSTAT");
    bridge.resetCounts();
    const before = await executedCommands(io);

    const total = RATE * SECONDS;
    const started = performance.now();
    let sent = 0;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE) + 1);
      const batch: Promise<unknown>[] = [];
      for (; sent < due; sent++) {
        const tenant = TENANTS[sent % TENANTS.length] as string;
        const ip = `${NETWORKS[sent % NETWORKS.length]}${(sent % 200) + 1}`;
        const request = new Request(`http://a.example/api/${tenant}/export/${sent}`, {
          headers: { "x-real-ip": ip },
        });
        batch.push(containment.decide(request, work.context));
      }
      await Promise.all(batch);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const elapsedS = (performance.now() - started) / 1000;
    await work.settle();
    const executed = (await executedCommands(io)) - before;

    const reader = mirrorReader({ client: restRedis({ url: bridge.url, token: bridge.token }) });
    const minute = Math.floor(Date.now() / 60_000);
    const counted = (await reader.counts({ from: minute - 5, to: minute + 1 })).reduce((t, r) => t + r.n, 0);
    const events = await reader.events({ limit: 10_000 });
    const covered = events.reduce((t, e) => t + e.count, 0);
    const distinct = new Set(events.map((e) => `${e.fields.tenant}|${e.fields.ip}|${e.fields.route}`));
    const aggregated = events.filter((e) => e.aggregate);

    const per1000 = (n: number): number => sig((n / total) * 1000);
    const perMillionUsd = (n: number): number => sig((n / total) * 1_000_000 * USD_PER_COMMAND, 3);
    const goals: Goal[] = [
      {
        goal: "≤ 20 Redis commands per 1,000 blocked decisions in a flood (≥ 1,000 req/s, one isolate)",
        actual: `${per1000(executed)} executed by Redis (${per1000(bridge.counts.commands)} REST commands)`,
        met: per1000(executed) <= 20,
      },
      {
        goal: "counts exact; every distinct (rule, route, tenant, network, outcome) visible as an aggregated event",
        actual: `counted ${counted} of ${total}; events cover ${covered}; ${distinct.size} of ${TENANTS.length * NETWORKS.length} combinations`,
        met: counted === total && covered === total && distinct.size === TENANTS.length * NETWORKS.length,
      },
    ];
    return {
      bench: "flood",
      title: "What a flood costs in Redis",
      summary: `flood of ${total} blocked requests at ${sig(total / elapsedS)} req/s: ${per1000(executed)} Redis commands per 1,000 (${per1000(bridge.counts.requests)} requests), $${perMillionUsd(executed)} per million blocked`,
      metrics: {
        decisions: total,
        rate_rps: sig(total / elapsedS),
        bridge_requests: bridge.counts.requests,
        rest_commands: bridge.counts.commands,
        executed_commands: executed,
        executed_per_1000: per1000(executed),
        rest_per_1000: per1000(bridge.counts.commands),
        usd_per_million_blocked: perMillionUsd(executed),
        counted,
        events_cover: covered,
        stream_entries: events.length,
        aggregate_entries: aggregated.length,
      },
      rows: [
        { metric: "blocked decisions (one isolate)", value: `${total} at ${sig(total / elapsedS)} req/s` },
        { metric: "HTTP requests to Redis per 1,000", value: String(per1000(bridge.counts.requests)) },
        { metric: "REST commands per 1,000 (EVAL/EVALSHA)", value: String(per1000(bridge.counts.commands)) },
        {
          metric: "commands Redis executed per 1,000 (inside the scripts)",
          value: String(per1000(executed)),
        },
        {
          metric: "cost per million blocked requests at $0.20 / 100K commands",
          value: `$${perMillionUsd(executed)} (executed) / $${perMillionUsd(bridge.counts.commands)} (REST)`,
        },
        {
          metric: "stream entries for the flood",
          value: `${events.length} (${aggregated.length} aggregates)`,
        },
        { metric: "counts / events cover", value: `${counted} / ${covered} of ${total}` },
      ],
      goals,
      method: [
        `${total} requests to a kill-switched route over ${SECONDS} s, ${TENANTS.length} tenants × ${NETWORKS.length} /24 networks, one firewall instance (one isolate), default mirror options.`,
        "Redis commands: INFO commandstats before and after (RESETSTAT first), INFO itself excluded; REST commands and requests counted at the Upstash bridge.",
        "Upstash may bill a script as one command or by its inner commands; both figures are given.",
      ],
    };
  } finally {
    io.disconnect();
    await bridge.close();
    await redis.stop();
  }
}
