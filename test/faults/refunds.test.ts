import { afterEach, describe, expect, it } from "vitest";
import { pseudonymize } from "../../src/core/hash.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { HARNESSES, startHarness } from "../support/harness.js";

// with Redis paused or slow, requests answered 503 by `failMode: closed`
// were still counted when Redis ran the queued checks, so after recovery an identity had less
// than its quota. A check whose answer was not used is refunded by its id, exactly once.

// Long enough that a healthy check on a loaded 2-core machine answers in time; short against the fault.
const TIMEOUT_MS = 500;
const RULES = {
  version: 1,
  rules: [
    {
      id: "export-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/export/**" },
      limit: 5,
      window: "1h",
      algorithm: "fixed-window",
      by: ["tenant"],
      failMode: "closed",
      timeoutMs: TIMEOUT_MS,
    },
  ],
};

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** The tenant's counter keys carry its pseudonym; this test tells them apart by the pseudonym of "acme". */
let acme = "";

/** Check ids of the window and what became of them: "1" counted, "r" refunded. */
async function marks(redis: RedisFixture): Promise<string[]> {
  const keys = (await redis.io.keys("containment:rl:export-limit:*:checks")).filter((key) =>
    key.includes(acme),
  );
  return keys.length === 1 ? (await redis.io.hvals(keys[0] as string)).sort() : [];
}

async function counter(redis: RedisFixture): Promise<number> {
  const keys = (await redis.io.keys("containment:rl:export-limit:*")).filter(
    (key) => !key.endsWith(":checks") && key.includes(acme),
  );
  if (keys.length !== 1) return -1;
  return Number(await redis.io.get(keys[0] as string));
}

describe.each(HARNESSES)("refused checks use up no quota (%s)", (name) => {
  for (const fault of ["paused", "delayed"] as const) {
    it(`gives back every check answered by the fail mode while Redis is ${fault}`, async () => {
      const redis = await startRedisFixture({ delayProxy: fault === "delayed" });
      cleanup.push(() => redis.close());
      const salt = "refund-test-salt";
      const h = await startHarness(name, {
        rules: RULES,
        redis: redis.connection,
        env: { CONTAINMENT_SALT: salt },
        options: { mirror: false },
      });
      acme = await pseudonymize("tenant:acme", salt);
      cleanup.push(() => h.close());
      // Warm up on another tenant until the scripts are loaded (a loaded machine can make a cold
      // isolate's first check miss its deadline; that is not what this test is about).
      await until(async () => (await h.fetch("/api/warm/export/1")).status === 200, 15_000, "a warm isolate");
      expect((await h.fetch("/api/acme/export/1")).status).toBe(200);
      expect(await counter(redis)).toBe(1);

      if (fault === "paused") await redis.server.pause();
      else redis.proxy?.setDelay(2_500);
      const refused: number[] = [];
      for (let i = 0; i < 3; i++) refused.push((await h.fetch(`/api/acme/export/r${i}`)).status);
      expect(refused).toEqual([503, 503, 503]);
      if (fault === "paused") redis.server.resume();
      else redis.proxy?.setDelay(0);

      // The late checks land, then their refunds (or the refunds first, leaving tombstones): each
      // refused check id ends refunded, and the counter is back where the healthy request left it.
      await until(async () => (await marks(redis)).join() === "1,r,r,r", 15_000, "three refunds");
      expect(await counter(redis)).toBe(1);
      const after: number[] = [];
      for (let i = 0; i < 5; i++) after.push((await h.fetch(`/api/acme/export/a${i}`)).status);
      expect(after).toEqual([200, 200, 200, 200, 429]);
      expect(await counter(redis)).toBe(6);
    });
  }
});
