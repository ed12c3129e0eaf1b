/**
 * The load suite, recorded: `npm run load`'s run (scripts/load-run.ts) for 20 s, its evidence
 * checked against the clients' tallies, and where the deadlines of checks that failed closed went.
 */
import { CHECK_TIMEOUT_MS, runLoad, TIGHT_TIMEOUT_MS } from "../scripts/load-run.js";
import type { BenchRecord, Goal } from "./lib/record.js";
import { sig } from "./lib/stats.js";

const SECONDS = 20;
const CONCURRENCY = 32;

export async function measure(): Promise<BenchRecord> {
  const r = await runLoad({ seconds: SECONDS, concurrency: CONCURRENCY });
  const d = r.deadline;
  const rss = r.workerdRssMb as {
    firewall: { start: number; afterLoad: number };
    trivial: { start: number; afterLoad: number };
  };
  const growth = (side: { start: number; afterLoad: number }) => sig(side.afterLoad - side.start);
  const goals: Goal[] = [
    {
      goal: "under load, mirrored counts equal the decisions the clients saw, kill-switch blocks exact, no drop",
      actual: `${r.mirrored.decisions} counted of ${r.mirrored.clientDecisions}; blocks ${r.mirrored.killSwitchBlocks.mirrored} of ${r.mirrored.killSwitchBlocks.client}; drops ${r.mirrored.drops.decisions}`,
      met: r.evidenceExact,
    },
    {
      goal: "admissions per identity exact: min(limit, sent − failed closed) in the window",
      actual: r.admissionsExact ? "exact for every tenant" : JSON.stringify(r.admissionsPerTenant),
      met: r.admissionsExact,
    },
    {
      goal: "say whether a missed check deadline is spent on the network or in the isolate",
      actual: `${TIGHT_TIMEOUT_MS} ms deadline: ${d.tight.failedClosedPct}% of checks failed closed while ${d.tight.redisSlowerThanDeadlinePct}% of Redis requests took that long at the bridge; ${CHECK_TIMEOUT_MS} ms: ${d.failedClosedPct}% failed closed, ${d.redisServiceMs.overDeadline} Redis requests over it (max ${d.redisServiceMs.max} ms)`,
      met: null,
      limit: `a finding, not a pass/fail goal: ${d.spentIn}`,
    },
  ];
  return {
    bench: "load",
    title: "Load: evidence and deadlines under saturation",
    summary: `load: ${r.rps} req/s for ${SECONDS} s (p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms), evidence ${r.evidenceExact ? "exact" : "NOT exact"}; ${TIGHT_TIMEOUT_MS} ms deadline missed by ${d.tight.failedClosedPct}% of checks vs ${d.tight.redisSlowerThanDeadlinePct}% of Redis requests that slow`,
    metrics: {
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      requests: r.requests,
      rps: r.rps,
      p50_ms: r.p50Ms,
      p99_ms: r.p99Ms,
      errors: r.errors,
      evidence_exact: r.evidenceExact,
      admissions_exact: r.admissionsExact,
      failed_closed_pct: d.failedClosedPct,
      tight_failed_closed_pct: d.tight.failedClosedPct,
      tight_redis_slower_pct: d.tight.redisSlowerThanDeadlinePct,
      redis_service_p50_ms: d.redisServiceMs.p50,
      redis_service_p99_ms: d.redisServiceMs.p99,
      redis_service_max_ms: d.redisServiceMs.max,
      generator_loop_delay_p99_ms: d.generatorLoopDelayP99Ms,
      workerd_rss_growth_mb: growth(rss.firewall),
      trivial_rss_growth_mb: growth(rss.trivial),
    },
    rows: [
      {
        metric: "throughput and latency",
        value: `${r.rps} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors (${r.requests} requests)`,
      },
      { metric: "answers by route", value: JSON.stringify(r.statuses) },
      {
        metric: "mirrored vs clients",
        value: `decisions ${r.mirrored.decisions} / ${r.mirrored.clientDecisions}; kill-switch blocks ${r.mirrored.killSwitchBlocks.mirrored} / ${r.mirrored.killSwitchBlocks.client}; rate limited ${r.mirrored.rateLimited.mirrored} / ${r.mirrored.rateLimited.client}; failed closed ${r.mirrored.failedClosed}; drops ${JSON.stringify(r.mirrored.drops)}; ledger gaps ${r.mirrored.gaps.reduce((t, g) => t + g.gap, 0)}`,
      },
      {
        metric: `checks with a ${CHECK_TIMEOUT_MS} ms deadline`,
        value: `${d.failedClosed} of ${d.exportRequests} failed closed (${d.failedClosedPct}%), answered after p50 ${d.failedClosedClientMs.p50} ms at the client`,
      },
      {
        metric: `checks with a ${TIGHT_TIMEOUT_MS} ms deadline`,
        value: `${d.tight.failedClosedPct}% of ${d.tight.checks} failed closed`,
      },
      {
        metric: "Redis requests timed at the bridge (network and Redis side)",
        value: `${d.redisServiceMs.requests} requests: p50 ${d.redisServiceMs.p50} ms, p99 ${d.redisServiceMs.p99} ms, max ${d.redisServiceMs.max} ms; over ${TIGHT_TIMEOUT_MS} ms: ${d.tight.redisSlowerThanDeadlinePct}%; over ${CHECK_TIMEOUT_MS} ms: ${d.redisServiceMs.overDeadline}`,
      },
      {
        metric: "event-loop delay of the load generator's process (clients, front server, bridge)",
        value: `p99 ${d.generatorLoopDelayP99Ms} ms`,
      },
      {
        metric: "workerd RSS growth under the load",
        value: `firewall ${growth(rss.firewall)} MB vs a trivial worker ${growth(rss.trivial)} MB under the same load`,
      },
    ],
    goals,
    method: [
      `scripts/load-run.ts (what \`npm run load\` runs): \`containment dev\` with a real redis-server behind the Upstash bridge; ${CONCURRENCY} keep-alive clients on loopback for ${SECONDS} s, the load generator, the front server and the bridge in this process, workerd in its own; requests rotate over a kill-switched route, a rate-limited export route (limit 300 per tenant per hour, failMode closed, timeoutMs ${CHECK_TIMEOUT_MS}), an unruled route, and a route with a limit never reached and timeoutMs ${TIGHT_TIMEOUT_MS}.`,
      "Evidence: after the load the mirror is read back (counts, ledger, drops) and compared with the clients' own tallies; the isolates' last flushes awaited (the quiet cadence sends them within the 20 s a flush may wait in a request's waitUntil), a nudge request per 100 ms only after 22 s, until every isolate's ledger is closed.",
      "Deadline split: the bridge times every Redis request from reading it to answering it (loopback, the bridge's own event loop and redis-server: everything outside the isolate). When far more checks miss a deadline than Redis requests take that long, the time went in the isolate (its queue of requests, timers firing late on a busy CPU), not on the network.",
      "The 2-core machine is shared by the load generator, the bridge, redis-server and workerd, so the isolate is saturated on purpose: a saturated isolate.",
    ],
  };
}
