/**
 * The read-only handler mounted the two ways a Next.js App Router route runs it: in an edge runtime
 * (bundled for the edge, in workerd without nodejs_compat) and behind a real Node HTTP server.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDashboardHandler } from "../../src/dashboard/index.js";
import { edgeBuildOptions } from "../../src/dev/bundle.js";
import { type EdgeRuntime, startEdgeRuntime } from "../../src/dev/edge-runtime.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { type Harness, startHarness } from "../support/harness.js";
import { DASHBOARD_RULES, sendTraffic } from "./fixtures.js";

const SECRET = "responder-session-7";
let redis: RedisFixture;
let harness: Harness;
let edge: EdgeRuntime;
let node: Server;
let nodeUrl = "";

beforeAll(async () => {
  redis = await startRedisFixture();
  harness = await startHarness("node", { rules: DASHBOARD_RULES, redis: redis.connection });
  const bundled = await build({
    ...edgeBuildOptions(),
    entryPoints: [fileURLToPath(new URL("./fixtures/edge-worker.ts", import.meta.url))],
    write: false,
    outfile: "edge-dashboard.js",
  });
  const code = bundled.outputFiles?.[0]?.text ?? "";
  edge = await startEdgeRuntime({
    worker: { path: "edge-dashboard.js", code },
    bindings: {
      REDIS_URL: redis.connection.url,
      REDIS_TOKEN: redis.connection.token,
      DASHBOARD_SECRET: SECRET,
    },
  });
  const handler = createDashboardHandler({
    redis: redis.connection,
    authorize: (r) => r.headers.get("authorization") === `Bearer ${SECRET}`,
    refreshSeconds: 0.5,
    streamSeconds: 2,
  });
  node = createServer(async (req, res) => {
    const response = await handler(
      new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method ?? "GET",
        headers: req.headers as HeadersInit,
      }),
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve));
  nodeUrl = `http://127.0.0.1:${(node.address() as AddressInfo).port}`;
  await sendTraffic(harness, { blocks: 3, exports: 0, tenant: "acme" });
});

afterAll(async () => {
  await edge?.close();
  await new Promise((resolve) => node?.close(resolve));
  await harness?.close();
  await redis?.close();
});

type Fetcher = (path: string, init?: RequestInit) => Promise<Response>;
const runtimes: Array<[string, () => Fetcher]> = [
  [
    "edge runtime (workerd)",
    () => (path, init) =>
      edge.dispatch(`http://app.example${path}`, {
        method: init?.method ?? "GET",
        headers: [...new Headers(init?.headers)],
        body: init?.body ? new TextEncoder().encode(String(init.body)) : null,
      }),
  ],
  ["Node HTTP server", () => (path, init) => fetch(`${nodeUrl}${path}`, init)],
];

describe.each(runtimes)("the mounted dashboard handler in the %s", (_name, fetcher) => {
  const auth = { authorization: `Bearer ${SECRET}` };

  it("serves the page and the mirrored numbers to an authorized request", async () => {
    const f = fetcher();
    const page = await f("/containment/", { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Has the leak stopped?");
    await until(
      async () => {
        const snap = (await (await f("/containment/api/v1/snapshot", { headers: auth })).json()) as {
          series: Array<{ rule: string; total: number }>;
        };
        return snap.series.some((s) => s.rule === "freeze-patients" && s.total === 3);
      },
      20_000,
      "the mirrored blocks",
    );
  });

  it("refuses an unauthorized request and leaks nothing", async () => {
    const f = fetcher();
    for (const path of ["/containment/", "/containment/api/v1/snapshot", "/containment/api/v1/stream"]) {
      const response = await f(path, { headers: { authorization: "Bearer wrong" } });
      expect([401, 403]).toContain(response.status);
      expect(await response.text()).not.toMatch(/acme|freeze-patients|digest/);
    }
  });

  it("has no action endpoint", async () => {
    const f = fetcher();
    const post = await f("/containment/api/v1/actions/kill", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ path: "/**", reason: "x", incident: "I" }),
    });
    expect(post.status).toBe(405);
    expect((await f("/containment/api/v1/actions/kill", { headers: auth })).status).toBe(404);
  });

  it("streams server-sent events", async () => {
    const f = fetcher();
    const response = await f("/containment/api/v1/stream", { headers: auth });
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const text = await response.text();
    expect(text).toContain("event: snapshot");
  });
});
