/**
 * Measurement 6, memory: (a) the heap a compiled 10,000-rule ruleset holds, and (b) the heap over
 * 100,000 requests with rotating identities (client IPs, tenants, paths), which must level off: every
 * per-isolate cache (pseudonyms, over-limit identities, quarantines, mirror aggregates) is bounded.
 * Needs `node --expose-gc` (bench/run.ts starts every measurement that way).
 */
import { join } from "node:path";
import { packageRoot } from "../src/ops/package-root.js";
import { spawnTsx } from "./lib/child-process.js";
import { loadEngine } from "./lib/engine-bundle.js";
import type { BenchRecord } from "./lib/record.js";
import { formatBytes, sig } from "./lib/stats.js";
import { pendingWork } from "./lib/wait-until.js";
import { generateDocument } from "./lib/workload.js";

const COMPILED_RULES = 10_000;
const REQUESTS = 100_000;
const SAMPLE_EVERY = 10_000;
const CONCURRENCY = 32;
/** The tail that must be flat: the last 40% of the requests. */
const TAIL_FROM = 60_000;

const TRAFFIC_RULES = {
  version: 1,
  tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
  rules: [
    {
      id: "export-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/export/**" },
      limit: 1,
      window: "1m",
      by: ["ip"],
      failMode: "open",
      quarantine: { after: 3, for: "5m" },
    },
    { id: "admin-freeze", kind: "kill-switch", match: { path: "/api/:tenant/admin/**" }, status: 503 },
    {
      id: "phi-no-store",
      kind: "headers",
      match: { path: "/api/:tenant/patients/**" },
      set: { "cache-control": "private, no-store" },
    },
    {
      id: "bind",
      kind: "tenant-binding",
      match: { path: "/api/:tenant/records/**" },
      tenant: { from: "path", param: "tenant" },
      token: { claim: "org_id", jwks: "https://id.example.com/.well-known/jwks.json", algorithms: ["RS256"] },
    },
  ],
};

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error("memory.ts needs node --expose-gc (npm run bench starts it that way)");
  // Several passes: weak references and finalizers free more on the second.
  for (let i = 0; i < 3; i++) collect();
}

function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

const ip = (n: number): string => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** Request `i`: 40% rate-limited (each client IP twice, so half land over the limit), the rest spread over the other kinds. */
function trafficRequest(i: number): Request {
  const slot = i % 10;
  const tenant = `t${i % 20_000}`;
  let path: string;
  let client: number;
  if (slot < 4) {
    const limited = Math.floor(i / 10) * 4 + slot;
    path = `/api/${tenant}/export/${i}`;
    client = Math.floor(limited / 2);
  } else {
    client = 1_000_000 + i;
    path =
      slot < 6
        ? `/api/${tenant}/patients/${i}/notes`
        : slot === 6
          ? `/api/${tenant}/admin/users/${i}`
          : slot === 7
            ? `/api/${tenant}/records/${i}`
            : `/static/${i}.js`;
  }
  return new Request(`https://app.example.com${path}`, {
    headers: { "x-real-ip": ip(client), "x-vercel-id": `iad1::m${i}` },
  });
}

export async function measure(): Promise<BenchRecord> {
  const engine = await loadEngine();

  // (a) Compiled ruleset: the document arrives as JSON text, as an Edge Config item does.
  const text = JSON.stringify(generateDocument(COMPILED_RULES));
  const before = heapUsed();
  const compileStart = performance.now();
  let compiled: ReturnType<typeof engine.createContainment> | undefined = engine.createContainment({
    rules: JSON.parse(text),
    redis: engine.memoryStore(),
    mirror: false,
    env: {},
    onReport: () => {},
  });
  await compiled.ruleset();
  const compileMs = performance.now() - compileStart;
  const afterCompile = heapUsed();
  const compiledBytes = afterCompile - before;
  compiled = undefined;

  // (b) Traffic with rotating identities against Redis (bridge in another process) with the mirror on.
  const bridge = await spawnTsx(join("bench", "fixtures", "redis-bridge.ts"), packageRoot());
  const redis = JSON.parse(bridge.line) as { url: string; token: string };
  const reports = new Map<string, number>();
  const containment = engine.createContainment({
    rules: TRAFFIC_RULES,
    redis,
    env: {},
    region: "bench",
    fetch: () => Promise.reject(new Error("no network in the memory benchmark")),
    onReport: (event) => reports.set(event, (reports.get(event) ?? 0) + 1),
  });
  const samples: Array<{ requests: number; heap: number }> = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  let trafficSeconds = 0;
  try {
    await containment.ruleset();
    samples.push({ requests: 0, heap: heapUsed() });
    const started = performance.now();
    while (next < REQUESTS) {
      const until = next + SAMPLE_EVERY;
      const pending = pendingWork();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < until) {
            const { response } = await containment.decide(trafficRequest(next++), pending.context);
            const status = response?.status ?? 200;
            statuses[status] = (statuses[status] ?? 0) + 1;
          }
        }),
      );
      await pending.settle();
      samples.push({ requests: next, heap: heapUsed() });
      console.error(`  memory: ${next} requests, heap ${formatBytes(samples.at(-1)?.heap ?? 0)}`);
    }
    trafficSeconds = (performance.now() - started) / 1000;
  } finally {
    await bridge.stop();
  }

  const first = samples[0]?.heap ?? 0;
  const tailStart = samples.find((s) => s.requests === TAIL_FROM)?.heap ?? first;
  const last = samples.at(-1)?.heap ?? first;
  const tailGrowth = last - tailStart;
  const headGrowth = tailStart - first;
  const plateau = tailGrowth <= Math.max(1024 * 1024, 0.1 * Math.max(0, headGrowth));
  const mirror = containment.status().mirror;
  return {
    bench: "memory",
    title: "Memory",
    summary: `memory: ${COMPILED_RULES.toLocaleString("en-US")} compiled rules hold ${formatBytes(compiledBytes)} of heap (compile ${Math.round(compileMs)} ms); over ${REQUESTS.toLocaleString("en-US")} rotating-identity requests heap ${formatBytes(first)} → ${formatBytes(tailStart)} at ${TAIL_FROM / 1000}k → ${formatBytes(last)} (${plateau ? "levels off" : "STILL GROWING"})`,
    metrics: {
      compiled_rules: COMPILED_RULES,
      compiled_heap_bytes: compiledBytes,
      compiled_heap_bytes_per_rule: Math.round(compiledBytes / COMPILED_RULES),
      compile_ms: Math.round(compileMs),
      document_json_bytes: text.length,
      traffic_requests: REQUESTS,
      traffic_heap_start_bytes: first,
      traffic_heap_at_60k_bytes: tailStart,
      traffic_heap_end_bytes: last,
      traffic_tail_growth_bytes: tailGrowth,
      traffic_tail_bytes_per_request: sig(tailGrowth / (REQUESTS - TAIL_FROM)),
      traffic_plateau: plateau,
      traffic_rps: Math.round(REQUESTS / trafficSeconds),
      mirror_dropped: mirror?.dropped ?? null,
    },
    rows: [
      {
        metric: `heap held by a compiled ${COMPILED_RULES.toLocaleString("en-US")}-rule ruleset`,
        value: `${formatBytes(compiledBytes)} (${Math.round(compiledBytes / COMPILED_RULES)} B/rule; document ${formatBytes(text.length)} of JSON; compile ${Math.round(compileMs)} ms incl. validation)`,
      },
      {
        metric: `heap after each ${SAMPLE_EVERY.toLocaleString("en-US")} requests (after GC)`,
        value: samples.map((s) => formatBytes(s.heap)).join(" → "),
      },
      {
        metric: `growth over the last ${((REQUESTS - TAIL_FROM) / 1000).toFixed(0)}k requests`,
        value: `${formatBytes(tailGrowth)} (${sig(tailGrowth / (REQUESTS - TAIL_FROM))} B/request) vs ${formatBytes(headGrowth)} over the first ${TAIL_FROM / 1000}k`,
      },
      {
        metric: "answers",
        value: `${JSON.stringify(statuses)} at ${Math.round(REQUESTS / trafficSeconds)} req/s; mirror ${JSON.stringify(mirror ?? {})}; reports ${JSON.stringify(Object.fromEntries(reports))}`,
      },
    ],
    goals: [
      {
        goal: "heap levels off over 100,000 requests with rotating identities (bounded caches)",
        actual: `${formatBytes(tailGrowth)} growth over the last ${(REQUESTS - TAIL_FROM) / 1000}k requests (${formatBytes(first)} → ${formatBytes(last)})`,
        met: plateau,
        ...(plateau ? {} : { limit: "a per-isolate structure keyed by identity or path without a bound" }),
      },
    ],
    method: [
      `(a) Heap used (after forced GC) before and after \`createContainment({ rules })\` on the eval benchmark's seeded ${COMPILED_RULES.toLocaleString("en-US")}-rule document parsed from JSON text, keeping the result alive; includes the validated document the ruleset retains.`,
      `(b) ${REQUESTS.toLocaleString("en-US")} \`decide()\` calls, ${CONCURRENCY} concurrent, waitUntil work awaited every ${SAMPLE_EVERY.toLocaleString("en-US")}: 40% to a 1-per-minute rate limit with quarantine (each client IP twice, so 20,000 identities go over their limit and fill the ephemeral cache), 20% headers, 10% kill switch, 10% tenant binding without a token (401), 20% unique static paths; 20,000 tenants; every other request a new client IP. Real Redis via the Upstash bridge in a separate process; mirror on (defaults).`,
      `Plateau = growth over the last ${(REQUESTS - TAIL_FROM) / 1000}k requests ≤ max(1 MB, 10% of the growth before). The per-isolate caches are bounded at 10,000 entries each by default, so the heap rises until they fill and must then stay flat.`,
      "The bundled engine runs in a Node process of its own with --expose-gc; Node's heap stands in for a workerd isolate's (same V8 object layout).",
    ],
  };
}
