import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { HARNESSES, type Harness, startHarness } from "../support/harness.js";
import { awayFromWindowEdge, type RedisFixture, startRedisFixture, until } from "./redis-fixture.js";

// When evidence goes out (docs/recorded-format.md): traffic no rule can refuse is flushed on a
// cadence that grows with quiet (few Redis commands, none of it lost, even when no request follows),
// while blocks go out at once and decisions on protected routes within the evidence interval,
// however long the quiet cadence has grown.
let redis: RedisFixture;
let harness: Harness | undefined;

beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
});
beforeEach(async () => {
  await redis.io.flushall();
  await awayFromWindowEdge(60_000, 25_000);
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const RULES = {
  version: 1,
  rules: [
    { id: "freeze", kind: "kill-switch", match: { path: "/api/:tenant/frozen" }, status: 503 },
    // Protects /api/:tenant/records for POST only: a GET there is allowed, on a reserved shape.
    {
      id: "records-writes",
      kind: "kill-switch",
      match: { path: "/api/:tenant/records", methods: ["POST"] },
      status: 503,
    },
    { id: "no-store", kind: "headers", match: { path: "/api/**" }, set: { "cache-control": "no-store" } },
  ],
};

async function counted(outcome?: string, path?: string): Promise<number> {
  let total = 0;
  for (const key of await redis.io.keys("containment:shapes:*")) {
    for (const [field, n] of Object.entries(await redis.io.hgetall(key))) {
      const [, shape, , , fieldOutcome] = field.split("|");
      if (outcome !== undefined && fieldOutcome !== outcome) continue;
      if (path !== undefined && shape !== path) continue;
      total += Number(n);
    }
  }
  return total;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(HARNESSES)("the mirror's flush cadence (%s)", (name) => {
  it("flushes steady traffic on unprotected routes a few times, not per request, and loses none of it", {
    timeout: 60_000,
  }, async () => {
    harness = await startHarness(name, { rules: RULES, redis: redis.connection });
    const h = harness;
    redis.bridge.resetCounts();
    for (let i = 0; i < 40; i++) {
      await (await h.fetch(`/api/acme/items/${i}`)).arrayBuffer();
      await pause(100);
    }
    // No request follows: the standby of the last ones still flushes what they left.
    await until(async () => (await counted()) === 40, 30_000, "every decision counted");
    // Flushes at once, then after 2 s, 4 s, …: a handful of flush scripts (and one EVAL when the
    // script was not loaded yet), where a flush every 100 ms would have sent about forty.
    expect(redis.bridge.counts.commands).toBeLessThanOrEqual(6);
  });

  it("sends a protected route's evidence within the evidence interval and a block at once, however quiet it was", {
    timeout: 60_000,
  }, async () => {
    harness = await startHarness(name, {
      rules: RULES,
      redis: redis.connection,
      // A short first interval, so the quiet cadence grows to 4 s and more within the test.
      options: { mirror: { evidenceIntervalMs: 250, quietMaxIntervalMs: 60_000 } },
    });
    const h = harness;
    const quiet = async (ms: number) => {
      const end = Date.now() + ms;
      for (let i = 0; Date.now() < end; i++) {
        await (await h.fetch(`/api/acme/items/q${i}`)).arrayBuffer();
        await pause(100);
      }
    };
    await quiet(4_500);
    const protectedGet = await h.fetch("/api/acme/records");
    await protectedGet.arrayBuffer();
    expect(protectedGet.status).toBe(200);
    // The quiet cadence has grown past 4 s; the evidence interval is 250 ms.
    await until(async () => (await counted("allow", "/api/acme/records")) === 1, 2_000, "the protected GET");

    await quiet(4_500);
    const blocked = await h.fetch("/api/acme/frozen");
    await blocked.arrayBuffer();
    expect(blocked.status).toBe(503);
    await until(async () => (await counted("block")) === 1, 2_000, "the block");
  });
});
