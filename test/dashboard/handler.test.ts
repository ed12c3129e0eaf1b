import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Snapshot } from "../../src/dashboard/api.js";
import { createDashboardHandler } from "../../src/dashboard/index.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { type Harness, startHarness } from "../support/harness.js";
import { DASHBOARD_RULES, sendTraffic } from "./fixtures.js";

let redis: RedisFixture;
let harness: Harness;

beforeAll(async () => {
  redis = await startRedisFixture();
  harness = await startHarness("node", { rules: DASHBOARD_RULES, redis: redis.connection });
});
afterAll(async () => {
  await harness?.close();
  await redis?.close();
});

const BASE = "http://app.example/containment";
const allow = () => true;

async function snapshot(handler: (r: Request) => Promise<Response>): Promise<Snapshot> {
  const response = await handler(new Request(`${BASE}/api/v1/snapshot`));
  expect(response.status).toBe(200);
  return (await response.json()) as Snapshot;
}

describe("the mountable dashboard handler", () => {
  beforeEach(async () => {
    await redis.io.flushall();
  });

  it("serves the numbers the middleware mirrored: chart, top lists, events, regions", async () => {
    const sent = await sendTraffic(harness, { blocks: 4, exports: 5 });
    expect(sent.blocked).toBe(4);
    const handler = createDashboardHandler({ redis: redis.connection, authorize: allow });
    const total = sent.blocked + sent.refused;
    await until(async () => (await snapshot(handler)).events.length >= total, 30_000, "the mirrored events");
    const snap = await snapshot(handler);
    const series = Object.fromEntries(snap.series.map((s) => [`${s.rule}|${s.outcome}`, s.total]));
    expect(series).toEqual({
      "freeze-patients|block": 4,
      ...(sent.limited > 0 ? { "export-limit|rate-limited": sent.limited } : {}),
    });
    expect(snap.series[0]?.counts).toHaveLength(snap.minutes.length);
    expect(snap.top.tenant).toEqual([{ id: "acme", blocked: total }]);
    expect(snap.top.ip).toEqual([{ id: "203.0.113.0/24", blocked: total }]);
    expect(snap.regions.map((r) => r.region)).toEqual(["local"]);
    expect(snap.events.find((e) => e.outcome === "block")).toMatchObject({
      rule: "freeze-patients",
      tenant: "acme",
    });
    // The mirror never holds the query string, and neither does anything the dashboard serves.
    expect(JSON.stringify(snap)).not.toContain("mrn");
  });

  it("refuses whatever authorize refuses and reads nothing for it", async () => {
    await sendTraffic(harness, { blocks: 1, exports: 0 });
    const refused = createDashboardHandler({ redis: redis.connection, authorize: () => false });
    const own401 = createDashboardHandler({
      redis: redis.connection,
      authorize: () =>
        new Response("login first", { status: 401, headers: { "www-authenticate": "Bearer" } }),
    });
    const throwing = createDashboardHandler({
      redis: redis.connection,
      authorize: () => {
        throw new Error("session store exploded at /srv/secret.ts:12");
      },
    });
    for (const path of ["/", "/api/v1/snapshot", "/api/v1/stream", "/api/v1/events"]) {
      const a = await refused(new Request(`${BASE}${path}`));
      expect(a.status).toBe(403);
      expect(await a.text()).not.toMatch(/acme|freeze|digest/);
      const b = await own401(new Request(`${BASE}${path}`));
      expect(b.status).toBe(401);
      expect(b.headers.get("www-authenticate")).toBe("Bearer");
      const c = await throwing(new Request(`${BASE}${path}`));
      expect(c.status).toBe(500);
      expect(await c.text()).not.toMatch(/exploded|secret\.ts|at /);
    }
  });

  it("has no action endpoint: every method but GET and HEAD is 405, and action paths do not exist", async () => {
    const handler = createDashboardHandler({ redis: redis.connection, authorize: allow });
    for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
      for (const path of ["/", "/api/v1/snapshot", "/api/v1/actions/kill"]) {
        const response = await handler(new Request(`${BASE}${path}`, { method, body: "{}" }));
        expect(response.status).toBe(405);
        expect(response.headers.get("allow")).toBe("GET, HEAD");
      }
    }
    const get = await handler(new Request(`${BASE}/api/v1/actions/kill?path=/**`));
    expect(get.status).toBe(404);
    const page = await (await handler(new Request(`${BASE}/`))).text();
    expect(page).toContain('name="containment-actions" content="off"');
    expect(page).not.toContain("kill-form");
  });

  it("answers bad input with a clear 4xx in JSON, never a stack trace", async () => {
    const handler = createDashboardHandler({ redis: redis.connection, authorize: allow });
    for (const query of ["limit=abc", "limit=0", "limit=501", "limit=-1", "limit=1e3"]) {
      const response = await handler(new Request(`${BASE}/api/v1/events?${query}`));
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: { code: "bad_limit", message: "limit must be a whole number from 1 to 500." },
      });
    }
    const unknown = await handler(new Request(`${BASE}/api/v2/snapshot`));
    expect(unknown.status).toBe(404);
    const asset = await handler(new Request(`${BASE}/assets/../../package.json`));
    expect(asset.status).toBe(404);
    const outside = await handler(new Request("http://app.example/elsewhere"));
    expect(outside.status).toBe(404);
  });

  it("says the mirror is unavailable (503) when Redis does not answer, without internals", async () => {
    const handler = createDashboardHandler({
      redis: { url: "http://127.0.0.1:9", token: "t" },
      authorize: allow,
      timeoutMs: 500,
    });
    const snap = await snapshot(handler);
    expect(snap.problems.length).toBeGreaterThan(0);
    expect(snap.series).toEqual([]);
    const events = await handler(new Request(`${BASE}/api/v1/events`));
    expect(events.status).toBe(503);
    expect(await events.json()).toMatchObject({ error: { code: "mirror_unavailable" } });
  });

  it("sends every response with the security headers and the page's assets from the package", async () => {
    const handler = createDashboardHandler({ redis: redis.connection, authorize: allow });
    const page = await handler(new Request(`${BASE}/`));
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="\/containment\/(assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toHaveLength(4);
    for (const path of assets) {
      const response = await handler(new Request(`${BASE}/${path}`));
      expect(response.status).toBe(200);
      expect(response.headers.get("cache-control")).toContain("immutable");
    }
    expect(html).not.toMatch(/https?:\/\//);
    // Without the trailing slash too (Next.js redirects it away, so a redirect back would loop),
    // with the same absolute URLs.
    const bare = await handler(new Request(BASE));
    expect(bare.status).toBe(200);
    expect(await bare.text()).toBe(html);
    expect(html).toContain('<meta name="containment-base" content="/containment/">');
    // Under a Next.js basePath: the route sees its URL without it, the browser's URLs carry it.
    const inNext = Object.assign(new Request(`${BASE}/`), { nextUrl: { basePath: "/portal" } });
    const based = await (await handler(inNext)).text();
    expect(based).toContain('<meta name="containment-base" content="/portal/containment/">');
    expect(based).toContain('src="/portal/containment/assets/');
    const full = Object.assign(new Request(`http://127.0.0.1/portal/containment/api/v1`), {
      nextUrl: { basePath: "/portal" },
    });
    expect((await handler(full)).status).toBe(200);
  });

  it("streams snapshots as server-sent events", async () => {
    await sendTraffic(harness, { blocks: 2, exports: 0 });
    const handler = createDashboardHandler({
      redis: redis.connection,
      authorize: allow,
      refreshSeconds: 0.2,
    });
    const controller = new AbortController();
    const response = await handler(new Request(`${BASE}/api/v1/stream`, { signal: controller.signal }));
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    while ((text.match(/event: snapshot/g) ?? []).length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    controller.abort();
    await reader.cancel();
    expect(text).toMatch(/^retry: \d+/);
    const first = text.split("\n").find((line) => line.startsWith("data: "));
    expect(JSON.parse(first?.slice(6) ?? "{}")).toMatchObject({ v: 1 });
  });

  it("checks its options up front", () => {
    expect(() => createDashboardHandler({ redis: redis.connection } as never)).toThrow(/authorize/);
    expect(() => createDashboardHandler({ authorize: allow } as never)).toThrow(/redis/);
    expect(() =>
      createDashboardHandler({ redis: redis.connection, authorize: allow, basePath: "no-slash" }),
    ).toThrow(/basePath/);
  });
});
