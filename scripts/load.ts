/**
 * `npm run load`: drives `containment dev` (the middleware bundle in real workerd, a real
 * redis-server behind the Upstash bridge) for a bounded time on loopback only, and checks the
 * evidence against what the clients saw.
 *
 *   npm run load                        60 s, 32 clients
 *   npm run load -- --seconds 20 --concurrency 16
 *
 * Reports throughput, p50/p99, admissions per tenant against the limit (exact: one window covers
 * the run), mirrored counts against the client tallies, drops and gaps, and workerd's RSS next to a
 * trivial worker's under the same load in the same run (growth comes from workerd/Miniflare itself
 * when both grow alike).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEdgeRuntime } from "../src/dev/edge-runtime.js";
import { startDevServer } from "../src/dev/server.js";
import { startUpstashBridge } from "../src/dev/upstash-bridge.js";
import { mirrorReader } from "../src/ops/mirror-reader.js";
import { startRedisServer } from "../test/support/redis-server.js";

const LIMIT = 300;
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
    },
  ],
};

type Kind = "frozen" | "export" | "plain";
interface Tally {
  latencies: number[];
  byKind: Record<Kind, Record<number, number>>;
  admitted: Record<string, number>;
  /** Requests to the limited route per tenant. */
  sent: Record<string, number>;
  /** Failed closed (503): refunded, so they use no quota. */
  closed: Record<string, number>;
  errors: number;
}

function args(): { seconds: number; concurrency: number } {
  const argv = process.argv.slice(2);
  const value = (name: string, fallback: number): number => {
    const index = argv.indexOf(`--${name}`);
    if (index < 0) return fallback;
    const n = Number(argv[index + 1]);
    if (!Number.isInteger(n) || n < 1 || n > (name === "seconds" ? 600 : 256)) {
      console.error(
        `--${name} takes a whole number (seconds ≤ 600, concurrency ≤ 256), e.g. npm run load -- --${name} 20`,
      );
      process.exit(2);
    }
    return n;
  };
  return { seconds: value("seconds", 60), concurrency: value("concurrency", 32) };
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

async function drive(
  base: string,
  seconds: number,
  concurrency: number,
  paths: (i: number) => [Kind, string, string],
): Promise<Tally> {
  const url = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const tally: Tally = {
    latencies: [],
    byKind: { frozen: {}, export: {}, plain: {} },
    admitted: {},
    sent: {},
    closed: {},
    errors: 0,
  };
  const end = performance.now() + seconds * 1000;
  let next = 0;
  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      const i = next++;
      const [kind, path, tenant] = paths(i);
      const started = performance.now();
      try {
        const status = await send(agent, url, path, `198.51.100.${(i % 250) + 1}`);
        tally.latencies.push(performance.now() - started);
        tally.byKind[kind][status] = (tally.byKind[kind][status] ?? 0) + 1;
        if (kind === "export") {
          tally.sent[tenant] = (tally.sent[tenant] ?? 0) + 1;
          // Passed to the origin (the demo origin may answer 404): neither limited (429) nor failed closed (503).
          if (status === 503) tally.closed[tenant] = (tally.closed[tenant] ?? 0) + 1;
          else if (status !== 429) tally.admitted[tenant] = (tally.admitted[tenant] ?? 0) + 1;
        }
      } catch {
        tally.errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  agent.destroy();
  return tally;
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
}

/** RSS (MB) of the workerd processes this process started. */
function workerdRss(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      if (!/^Name:\s+workerd/m.test(status)) continue;
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (rss) out.set(Number(entry), Number(rss[1]) / 1024);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

const TRIVIAL_WORKER = 'export default { fetch() { return new Response("ok"); } };';

async function main(): Promise<void> {
  const { seconds, concurrency } = args();
  const redis = await startRedisServer();
  const rulesFile = join(tmpdir(), `containment-load-${process.pid}.json`);
  writeFileSync(rulesFile, JSON.stringify(RULES));
  const before = new Set(workerdRss().keys());
  const dev = await startDevServer({ port: 0, rules: rulesFile, redis: redis.url, log: () => {} });
  const devPids = [...workerdRss().keys()].filter((pid) => !before.has(pid));
  const trivialPath = join(tmpdir(), `containment-trivial-${process.pid}.mjs`);
  writeFileSync(trivialPath, TRIVIAL_WORKER);
  const known = new Set(workerdRss().keys());
  const trivial = await startEdgeRuntime({
    worker: { path: trivialPath, code: TRIVIAL_WORKER },
    bindings: {},
  });
  const trivialPids = [...workerdRss().keys()].filter((pid) => !known.has(pid));
  const rss = (pids: number[]): number =>
    pids.reduce((total, pid) => total + (workerdRss().get(pid) ?? 0), 0);
  const rssStart = { dev: rss(devPids), trivial: rss(trivialPids) };

  console.error(`load: ${seconds} s, ${concurrency} clients, against ${dev.urls.firewall} (workerd + Redis)`);
  const tally = await drive(dev.urls.firewall, seconds, concurrency, (i) => {
    const tenant = TENANTS[i % TENANTS.length] as string;
    const kind: Kind = i % 3 === 0 ? "frozen" : i % 3 === 1 ? "export" : "plain";
    return [kind, `/api/${tenant}/${kind === "plain" ? "items" : kind}/${i}?q=${i}`, tenant];
  });
  const rssAfterDev = { dev: rss(devPids), trivial: rss(trivialPids) };
  // The same load shape against the trivial worker, for the RSS comparison.
  const trivialUrl = await trivialFront(trivial);
  await drive(trivialUrl.url, Math.min(seconds, 20), concurrency, (i) => ["plain", `/x/${i}`, "-"]);
  await trivialUrl.close();
  const rssEnd = { dev: rss(devPids), trivial: rss(trivialPids) };

  // Settle: the mirror flushes in waitUntil; nudge until every isolate's ledger is closed.
  const bridge = await startUpstashBridge({ redisUrl: redis.url });
  const reader = mirrorReader({ connection: { url: bridge.url, token: bridge.token } });
  const total = tally.latencies.length;
  let nudges = 0;
  const settleBy = performance.now() + 30_000;
  for (;;) {
    const ledger = await reader.ledger();
    const seq = ledger.reduce((t, r) => t + r.seq, 0);
    if ((seq >= total + nudges && ledger.every((r) => r.gap === 0)) || performance.now() > settleBy) break;
    await send(new Agent(), new URL(dev.urls.firewall), `/api/acme/items/nudge-${nudges++}`, "198.51.100.1");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const minute = Math.floor(Date.now() / 60_000);
  const counts = await reader.counts({ from: minute - Math.ceil(seconds / 60) - 2, to: minute + 1 });
  const counted = (rule: string, outcome: string): number =>
    counts.filter((r) => r.rule === rule && r.outcome === outcome).reduce((t, r) => t + r.n, 0);
  const ledger = await reader.ledger();
  const drops = await reader.drops();

  const sorted = [...tally.latencies].sort((a, b) => a - b);
  const report = {
    seconds,
    concurrency,
    requests: total,
    errors: tally.errors,
    rps: Math.round(total / seconds),
    p50Ms: Number(quantile(sorted, 0.5).toFixed(2)),
    p99Ms: Number(quantile(sorted, 0.99).toFixed(2)),
    statuses: tally.byKind,
    admissionsPerTenant: tally.admitted,
    sentPerTenant: tally.sent,
    // One window covers the run: each tenant is admitted exactly min(limit, what it sent) unless checks failed closed.
    admissionsExact: TENANTS.every(
      (t) => (tally.admitted[t] ?? 0) === Math.min(LIMIT, (tally.sent[t] ?? 0) - (tally.closed[t] ?? 0)),
    ),
    mirrored: {
      decisions: counts.reduce((t, r) => t + r.n, 0),
      clientDecisions: total + nudges,
      killSwitchBlocks: { mirrored: counted("freeze", "block"), client: tally.byKind.frozen[503] ?? 0 },
      rateLimited: {
        mirrored: counted("export-limit", "rate-limited"),
        client: tally.byKind.export[429] ?? 0,
      },
      failedClosed: counted("export-limit", "error"),
      drops,
      gaps: ledger.map((r) => ({ isolate: r.member, seq: r.seq, gap: r.gap })),
    },
    workerdRssMb: {
      firewall: { start: rssStart.dev, afterLoad: rssAfterDev.dev, end: rssEnd.dev },
      trivialWorker: { start: rssStart.trivial, afterLoad: rssEnd.trivial },
    },
  };
  console.log(JSON.stringify(report, null, 2));
  await bridge.close();
  await trivial.close();
  await dev.close();
  await redis.stop();
  const exact =
    report.mirrored.decisions === report.mirrored.clientDecisions &&
    report.mirrored.killSwitchBlocks.mirrored === report.mirrored.killSwitchBlocks.client &&
    drops.decisions === 0;
  if (!exact || !report.admissionsExact) {
    console.error("load: the evidence does not match what the clients saw (see above)");
    process.exit(1);
  }
}

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

await main();
