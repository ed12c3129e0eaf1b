import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Algorithm, CheckTicket, LimiterConfig } from "../../src/model/rate-limit-store.js";
import { MemoryStore } from "../../src/stores/memory.js";
import { UpstashStore } from "../../src/stores/redis.js";
import { type RedisFixture, startRedisFixture } from "./redis-fixture.js";

let redis: RedisFixture;
beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
});
beforeEach(async () => {
  await redis.io.flushall();
});

/** A small seeded generator (mulberry32): the same sequence on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Step =
  | { kind: "check"; key: string; ticket: CheckTicket }
  | { kind: "refund"; key: string; ticket: CheckTicket };

function sequence(seed: number, windowMs: number, length: number): Step[] {
  const random = seeded(seed);
  let now = 1_700_000_000_000 + Math.floor(random() * windowMs);
  const issued: Array<{ key: string; ticket: CheckTicket }> = [];
  const steps: Step[] = [];
  for (let i = 0; i < length; i++) {
    now += Math.floor(random() * (windowMs / 8));
    const roll = random();
    if (roll < 0.15 && issued.length > 0) {
      // Refund a past check, sometimes one refunded already (refunds must be idempotent).
      const past = issued[Math.floor(random() * issued.length)] as (typeof issued)[number];
      steps.push({ kind: "refund", ...past });
    } else if (roll < 0.2) {
      // A refund whose check never arrived leaves a tombstone; the late check must not count.
      const ticket = { id: `late-${i}`, at: now };
      steps.push({ kind: "refund", key: "k0", ticket }, { kind: "check", key: "k0", ticket });
    } else {
      const key = `k${Math.floor(random() * 3)}`;
      const ticket = { id: `c-${i}`, at: now };
      issued.push({ key, ticket });
      steps.push({ kind: "check", key, ticket });
    }
  }
  return steps;
}

async function run(
  store: MemoryStore | UpstashStore,
  config: LimiterConfig,
  steps: Step[],
  clock: { now: number },
): Promise<string[]> {
  const limiter = store.limiter(config);
  const out: string[] = [];
  for (const step of steps) {
    clock.now = step.ticket.at;
    if (step.kind === "refund") {
      out.push(`refund ${await limiter.refund(step.key, step.ticket)}`);
      continue;
    }
    try {
      const { limit } = await limiter.check(step.key, [], step.ticket);
      out.push(`check ${limit?.success} ${limit?.remaining} ${limit?.reset}`);
    } catch (error) {
      out.push(`check refused: ${String(error).includes("taken back")}`);
    }
  }
  return out;
}

const ALGORITHMS: Algorithm[] = ["fixed-window", "sliding-window", "token-bucket"];

describe("the memory store and the Redis store", () => {
  it.each(ALGORITHMS)(
    "admit, deny, reset and refund the same way on the same sequence (%s)",
    async (algorithm) => {
      // An hour-long window: Redis expires keys in real time while this sequence runs on its own clock,
      // so no key may expire by itself during the run.
      const config: LimiterConfig = { name: "r", algorithm, limit: 4, windowMs: 3_600_000, refill: 2 };
      for (const seed of [1, 2, 3]) {
        await redis.io.flushall();
        const steps = sequence(seed, config.windowMs, 120);
        const memoryClock = { now: 0 };
        const redisClock = { now: 0 };
        const memory = await run(new MemoryStore({ now: () => memoryClock.now }), config, steps, memoryClock);
        // The Redis store takes the isolate's clock for windows (as @upstash/ratelimit does). Its
        // over-limit cache is off here: the algorithms are compared, not the cache in front of them.
        const store = new UpstashStore({
          connection: redis.connection,
          now: () => redisClock.now,
          cache: false,
        });
        const remote = await run(store, config, steps, redisClock);
        expect(remote).toEqual(memory);
        // The sequence exercises every branch: admits, denials, real refunds and tombstones.
        expect(memory.some((line) => line.startsWith("check true"))).toBe(true);
        expect(memory.some((line) => line.startsWith("check false"))).toBe(true);
        expect(memory).toContain("refund true");
        expect(memory).toContain("refund false");
      }
    },
  );
});
