import { afterEach, describe, expect, it, vi } from "vitest";
import { HARNESSES, type Harness, startHarness } from "../support/harness.js";
import { type RedisFixture, startRedisFixture } from "./redis-fixture.js";

// Redis down, slow or hanging: every rate-limit answer arrives within the rule's deadline (plus a
// generous margin here; bench/ measures it precisely) and the rule's fail mode decides.

const TIMEOUT_MS = 200;

const RULES = {
  version: 1,
  rules: [
    {
      id: "closed-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/export/**" },
      limit: 100,
      window: "1m",
      by: ["tenant"],
      failMode: "closed",
      timeoutMs: TIMEOUT_MS,
    },
    {
      id: "open-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/search" },
      limit: 100,
      window: "1m",
      by: ["tenant"],
      failMode: "open",
      timeoutMs: TIMEOUT_MS,
    },
  ],
};

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setUp(
  name: "node" | "workerd",
  delayProxy = false,
): Promise<{ redis: RedisFixture; h: Harness }> {
  const redis = await startRedisFixture({ delayProxy });
  cleanup.push(() => redis.close());
  const h = await startHarness(name, { rules: RULES, redis: redis.connection, options: { mirror: false } });
  cleanup.push(() => h.close());
  // Healthy first: both pass and the scripts are loaded. Waited on: a cold first check on a loaded
  // machine can itself run past the 200 ms deadline (and rightly fail by its mode).
  for (const path of ["/api/acme/export/x", "/api/acme/search"])
    await vi.waitFor(async () => expect((await h.fetch(path)).status).toBe(200), {
      timeout: 15_000,
      interval: 50,
    });
  return { redis, h };
}

async function timed(h: Harness, path: string): Promise<{ status: number; ms: number; body: unknown }> {
  const started = performance.now();
  const response = await h.fetch(path);
  const ms = performance.now() - started;
  const text = await response.text();
  return { status: response.status, ms, body: text.startsWith("{") ? JSON.parse(text) : text };
}

describe.each(HARNESSES)("fail modes when Redis fails (%s)", (name) => {
  it("answers 503 for failMode closed and passes failMode open within the deadline when Redis is stopped", async () => {
    const { redis, h } = await setUp(name);
    await redis.server.stop();
    const closed = await timed(h, "/api/acme/export/x");
    const open = await timed(h, "/api/acme/search");
    console.log(
      `[${name}] Redis stopped: closed → ${closed.status} in ${closed.ms.toFixed(1)} ms, open → ${open.status} in ${open.ms.toFixed(1)} ms`,
    );
    expect(closed.status).toBe(503);
    expect(closed.body).toMatchObject({ rule: "closed-limit" });
    expect(open.status).toBe(200);

    // Back up: limits work again without a restart of the firewall (waited on, not slept for).
    await redis.server.start();
    await vi.waitFor(async () => expect((await h.fetch("/api/acme/export/x")).status).toBe(200), {
      timeout: 15_000,
      interval: 100,
    });
  });

  it("answers by fail mode at the deadline when Redis answers too slowly (bridge delay)", async () => {
    const { redis, h } = await setUp(name);
    // Far past the deadline: without one, both requests would wait for Redis and pass (200, 200).
    redis.bridge.setDelay(10_000);
    const closed = await timed(h, "/api/acme/export/x");
    const open = await timed(h, "/api/acme/search");
    console.log(
      `[${name}] Redis 10 s slow: closed → ${closed.status} in ${closed.ms.toFixed(1)} ms, open → ${open.status} in ${open.ms.toFixed(1)} ms`,
    );
    expect(closed.status).toBe(503);
    expect(open.status).toBe(200);
    // A lower bound only (load cannot break it): the answer waited for the deadline, no less.
    for (const { ms } of [closed, open]) expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    redis.bridge.setDelay(0);
  });

  it("answers by fail mode at the deadline when Redis sits behind a delaying proxy", async () => {
    const { redis, h } = await setUp(name, true);
    redis.proxy?.setDelay(10_000);
    const closed = await timed(h, "/api/acme/export/x");
    const open = await timed(h, "/api/acme/search");
    console.log(
      `[${name}] Redis behind a 10 s proxy: closed → ${closed.status} in ${closed.ms.toFixed(1)} ms, open → ${open.status} in ${open.ms.toFixed(1)} ms`,
    );
    expect(closed.status).toBe(503);
    expect(open.status).toBe(200);

    redis.proxy?.setBlackhole(true);
    const hung = await timed(h, "/api/acme/export/y");
    console.log(`[${name}] Redis black-holed: closed → ${hung.status} in ${hung.ms.toFixed(1)} ms`);
    expect(hung.status).toBe(503);
    redis.proxy?.setBlackhole(false);
  });
});
