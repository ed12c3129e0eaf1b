/**
 * The load run behind `npm run load` and the `load` benchmark: drives `containment dev` (the
 * middleware bundle in real workerd, a real redis-server behind the Upstash bridge) on loopback,
 * then checks the evidence against what the clients saw and splits where rate-limit deadlines went.
 */
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startEdgeRuntime } from "../src/dev/edge-runtime.js";
import { startDevServer } from "../src/dev/server.js";
import { startUpstashBridge } from "../src/dev/upstash-bridge.js";
import { restRedis } from "../src/ops/redis-rest.js";
import { mirrorReader } from "../src/stores/mirror/reader.js";
import { startRedisServer } from "../test/support/redis-server.js";
import { workerdRss } from "./load-rss.js";

const LIMIT = 300;
/** The rate-limit check's deadline under test (the rule kind's default). */
export const CHECK_TIMEOUT_MS = 250;
/**
 * A second, tight deadline on a route whose limit is never reached: how many of its checks fail
 * closed, against how many Redis requests took that long at the bridge, says where time goes.
 */
export const TIGHT_TIMEOUT_MS = 25;
const TENANTS = ["acme", "globex", "initech", "umbrella"];
const RULES = {
  version: 1,
  rules: [
    { id: "freeze", kind: "kill-switch", match: { path: "/api/:tenant/frozen/**" }, status: 503 },
    {
      id: "export-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/export/**" },
      limit: LIMIT,
      window: "1h",
      algorithm: "fixed-window",
      by: ["tenant"],
      failMode: "closed",
      timeoutMs: CHECK_TIMEOUT_MS,
    },
    {
      id: "tight-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/tight/**" },
      limit: 1_000_000,
      window: "1h",
      algorithm: "fixed-window",
      by: ["tenant"],
      failMode: "closed",
      timeoutMs: TIGHT_TIMEOUT_MS,
    },
  ],
};

type Kind = "frozen" | "export" | "plain" | "tight";
interface Tally {
  latencies: number[];
  byKind: Record<Kind, Record<number, number>>;
  admitted: Record<string, number>;
  /** Requests to the limited route per tenant. */
  sent: Record<string, number>;
  /** Failed closed (503): refunded, so they use no quota. */
  closed: Record<string, number>;
  /** Client-side latency of each request that failed closed. */
  closedLatencies: number[];
  errors: number;
}

function send(agent: Agent, url: URL, path: string, ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: Number(url.port), path, agent, headers: { "x-forwarded-for": ip } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function newTally(): Tally {
  return {
    latencies: [],
    byKind: { frozen: {}, export: {}, plain: {}, tight: {} },
    admitted: {},
    sent: {},
    closed: {},
    closedLatencies: [],
    errors: 0,
  };
}

function count(tally: Tally, kind: Kind, tenant: string, status: number, ms: number): void {
  tally.latencies.push(ms);
  tally.byKind[kind][status] = (tally.byKind[kind][status] ?? 0) + 1;
  if (kind !== "export") return;
  tally.sent[tenant] = (tally.sent[tenant] ?? 0) + 1;
  // Passed to the origin (the demo origin may answer 404): neither limited (429) nor failed closed (503).
  if (status === 503) {
    tally.closed[tenant] = (tally.closed[tenant] ?? 0) + 1;
    tally.closedLatencies.push(ms);
  } else if (status !== 429) tally.admitted[tenant] = (tally.admitted[tenant] ?? 0) + 1;
}

async function drive(
  base: string,
  seconds: number,
  concurrency: number,
  paths: (i: number) => [Kind, string, string],
): Promise<Tally> {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const tally = newTally();
  const end = performance.now() + seconds * 1000;
  let next = 0;
  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      const i = next++;
      const [kind, path, tenant] = paths(i);
      const started = performance.now();
      try {
        const status = await send(agent, url, path, `198.51.100.${(i % 250) + 1}`);
        count(tally, kind, tenant, status, performance.now() - started);
      } catch {
        tally.errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  agent.destroy();
  return tally;
}

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const round = (n: number) => Number(n.toFixed(2));

const TRIVIAL_WORKER = 'export default { fetch() { return new Response("ok"); } };';

/** A tiny HTTP front for the trivial worker, so both sides take the same HTTP path. */
async function trivialFront(
  runtime: Awaited<ReturnType<typeof startEdgeRuntime>>,
): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer } = await import("node:http");
  const server = createServer(async (req, res) => {
    const answer = await runtime.dispatch(`http://trivial.localhost${req.url ?? "/"}`);
    res.writeHead(answer.status);
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The same load shape against a trivial worker, for the RSS comparison. */
async function trivialRun(seconds: number, concurrency: number) {
  const path = join(tmpdir(), `containment-trivial-${process.pid}.mjs`);
  writeFileSync(path, TRIVIAL_WORKER);
  const known = new Set(workerdRss().keys());
  const runtime = await startEdgeRuntime({ worker: { path, code: TRIVIAL_WORKER }, bindings: {} });
  const pids = [...workerdRss().keys()].filter((pid) => !known.has(pid));
  const start = rssOf(pids);
  const front = await trivialFront(runtime);
  await drive(front.url, Math.min(seconds, 20), concurrency, (i) => ["plain", `/x/${i}`, "-"]);
  await front.close();
  const afterLoad = rssOf(pids);
  await runtime.close();
  return { start, afterLoad };
}

function rssOf(pids: readonly number[]): number {
  const all = workerdRss();
  return pids.reduce((total, pid) => total + (all.get(pid) ?? 0), 0);
}

export interface LoadOptions {
  seconds: number;
  concurrency: number;
  /** Progress lines; default stderr. */
  log?: (line: string) => void;
}

export type LoadReport = Awaited<ReturnType<typeof runLoad>>;

/** Runs the whole load: firewall under load, trivial worker under load, then the evidence. */
export async function runLoad(options: LoadOptions) {
  const { seconds, concurrency } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  const redis = await startRedisServer();
  const rulesFile = join(tmpdir(), `containment-load-${process.pid}.json`);
  writeFileSync(rulesFile, JSON.stringify(RULES));
  const served: number[] = [];
  let recording = true;
  const before = new Set(workerdRss().keys());
  const dev = await startDevServer({
    port: 0,
    rules: rulesFile,
    redis: redis.url,
    log: () => {},
    endpointsDir: false,
    onRedisServed: (ms) => {
      if (recording) served.push(ms);
    },
  });
  const devPids = [...workerdRss().keys()].filter((pid) => !before.has(pid));
  try {
    log(`load: ${seconds} s, ${concurrency} clients, against ${dev.urls.firewall} (workerd + Redis)`);
    const rssStart = rssOf(devPids);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const tally = await drive(dev.urls.firewall, seconds, concurrency, (i) => {
      const tenant = TENANTS[i % TENANTS.length] as string;
      const kind = (["frozen", "export", "plain", "tight"] as const)[i % 4] as Kind;
      return [kind, `/api/${tenant}/${kind === "plain" ? "items" : kind}/${i}?q=${i}`, tenant];
    });
    loop.disable();
    recording = false;
    const rssAfterLoad = rssOf(devPids);
    const trivial = await trivialRun(seconds, concurrency);
    const evidence = await settleEvidence(redis.url, dev.urls.firewall, tally, seconds);
    const rss = { firewall: { start: rssStart, afterLoad: rssAfterLoad, end: rssOf(devPids) }, trivial };
    return report(options, tally, evidence, deadlineSplit(tally, served, loop), rss);
  } finally {
    await dev.close();
    await redis.stop();
  }
}

/**
 * Where the deadlines of failed-closed checks went. The bridge times each Redis request from
 * reading it to answering (the network-and-Redis side, as the isolate sees it: loopback, the
 * bridge and redis-server); what is left of a 503 that took longer than the deadline was spent
 * before the isolate's request left it or after its answer came back: the isolate's own queue.
 */
function deadlineSplit(tally: Tally, served: readonly number[], loop: { percentile(p: number): number }) {
  const overDeadline = served.filter((ms) => ms > CHECK_TIMEOUT_MS).length;
  const exports = Object.values(tally.byKind.export).reduce((a, b) => a + b, 0);
  const failedClosed = tally.closedLatencies.length;
  const tightSent = Object.values(tally.byKind.tight).reduce((a, b) => a + b, 0);
  const tightClosed = tally.byKind.tight[503] ?? 0;
  const pct = (n: number, of: number) => (of === 0 ? 0 : round((100 * n) / of));
  return {
    tight: {
      timeoutMs: TIGHT_TIMEOUT_MS,
      checks: tightSent,
      failedClosedPct: pct(tightClosed, tightSent),
      redisSlowerThanDeadlinePct: pct(served.filter((ms) => ms > TIGHT_TIMEOUT_MS).length, served.length),
    },
    timeoutMs: CHECK_TIMEOUT_MS,
    exportRequests: exports,
    failedClosed,
    failedClosedPct: exports === 0 ? 0 : round((100 * failedClosed) / exports),
    failedClosedClientMs: {
      p50: round(quantile(tally.closedLatencies, 0.5)),
      max: round(quantile(tally.closedLatencies, 1)),
    },
    redisServiceMs: {
      requests: served.length,
      p50: round(quantile(served, 0.5)),
      p99: round(quantile(served, 0.99)),
      max: round(quantile(served, 1)),
      overDeadline,
    },
    /** Event-loop delay of this process (clients, front server, bridge), p99 in ms. */
    generatorLoopDelayP99Ms: round(loop.percentile(99) / 1e6),
    spentIn:
      failedClosed === 0
        ? "no check missed its deadline"
        : overDeadline === 0
          ? "the isolate's own queue: no Redis request took longer than the deadline"
          : `the network side for up to ${overDeadline} checks; the isolate's queue for the rest`,
  };
}

async function settleEvidence(redisUrl: string, firewall: string, tally: Tally, seconds: number) {
  // The mirror flushes in waitUntil: the last requests' flush goes out on the quiet cadence, within
  // the 20 s a waiting flush may hold a request's waitUntil (docs/recorded-format.md). Only an
  // isolate torn down before then needs a nudge (a request whose waitUntil flushes what it left).
  const bridge = await startUpstashBridge({ redisUrl });
  const reader = mirrorReader({ client: restRedis({ url: bridge.url, token: bridge.token }) });
  const total = tally.latencies.length;
  let nudges = 0;
  const nudgeAfter = performance.now() + 22_000;
  const settleBy = performance.now() + 45_000;
  for (;;) {
    const ledger = await reader.ledger();
    const seq = ledger.reduce((t, r) => t + r.seq, 0);
    if ((seq >= total + nudges && ledger.every((r) => r.gap === 0)) || performance.now() > settleBy) break;
    if (performance.now() > nudgeAfter)
      await send(new Agent(), new URL(firewall), `/api/acme/items/nudge-${nudges++}`, "198.51.100.1");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const minute = Math.floor(Date.now() / 60_000);
  const counts = await reader.counts({ from: minute - Math.ceil(seconds / 60) - 2, to: minute + 1 });
  const ledger = await reader.ledger();
  const drops = await reader.drops();
  await bridge.close();
  return { counts, ledger, drops, nudges };
}

type Evidence = Awaited<ReturnType<typeof settleEvidence>>;

function report(
  options: LoadOptions,
  tally: Tally,
  evidence: Evidence,
  deadline: ReturnType<typeof deadlineSplit>,
  workerdRssMb: Record<string, unknown>,
) {
  const { seconds, concurrency } = options;
  const { counts, ledger, drops, nudges } = evidence;
  const counted = (rule: string, outcome: string): number =>
    counts.filter((r) => r.rule === rule && r.outcome === outcome).reduce((t, r) => t + r.n, 0);
  const total = tally.latencies.length;
  const mirrored = {
    decisions: counts.reduce((t, r) => t + r.n, 0),
    clientDecisions: total + nudges,
    killSwitchBlocks: { mirrored: counted("freeze", "block"), client: tally.byKind.frozen[503] ?? 0 },
    rateLimited: { mirrored: counted("export-limit", "rate-limited"), client: tally.byKind.export[429] ?? 0 },
    failedClosed: counted("export-limit", "error"),
    drops,
    gaps: ledger.map((r) => ({ isolate: r.member, seq: r.seq, gap: r.gap })),
  };
  return {
    seconds,
    concurrency,
    requests: total,
    errors: tally.errors,
    rps: Math.round(total / seconds),
    p50Ms: round(quantile(tally.latencies, 0.5)),
    p99Ms: round(quantile(tally.latencies, 0.99)),
    statuses: tally.byKind,
    admissionsPerTenant: tally.admitted,
    sentPerTenant: tally.sent,
    // One window covers the run: each tenant is admitted exactly min(limit, what it sent) unless checks failed closed.
    admissionsExact: TENANTS.every(
      (t) => (tally.admitted[t] ?? 0) === Math.min(LIMIT, (tally.sent[t] ?? 0) - (tally.closed[t] ?? 0)),
    ),
    mirrored,
    evidenceExact:
      mirrored.decisions === mirrored.clientDecisions &&
      mirrored.killSwitchBlocks.mirrored === mirrored.killSwitchBlocks.client &&
      drops.decisions === 0,
    deadline,
    workerdRssMb,
  };
}
