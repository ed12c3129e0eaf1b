import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EDGE_USER, type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { HARNESSES, type Harness, startHarness } from "../support/harness.js";
import {
  drive,
  expectContained,
  expectExactMirror,
  FAULT_RULES,
  MIRROR_OPTIONS,
  newTally,
  type RedisFixtureFactory,
} from "./fault-kit.js";

// Against real components: a real redis-server behind the Upstash
// bridge, a delaying / black-holing TCP proxy, OOM under noeviction, ACL-denied commands, SIGSTOP,
// and a crash-restart with persistence. During each fault the firewall keeps its promises (kill
// switches block, rate limits answer by their fail mode within the deadline); afterwards the mirror
// is exact: counts equal the decisions made, no event twice, events and aggregates cover every
// decision, nothing dropped, every isolate's ledger closed.

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
});

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  expect(unhandled).toEqual([]);
});

async function setUp(
  name: "node" | "workerd",
  fixture: RedisFixtureFactory,
): Promise<{ redis: RedisFixture; h: Harness }> {
  const redis = await fixture();
  cleanup.push(() => redis.close());
  const h = await startHarness(name, {
    rules: FAULT_RULES,
    redis: redis.connection,
    options: MIRROR_OPTIONS,
  });
  cleanup.push(() => h.close());
  return { redis, h };
}

interface Scenario {
  name: string;
  /** What the rate-limited route answers during the fault (its fail mode, or 200 when the fault spares it). */
  limitAnswers: number;
  fixture: RedisFixtureFactory;
  /** Starts the fault; returns what ends it. */
  fault(redis: RedisFixture): Promise<() => Promise<void>>;
}

const SCENARIOS: Scenario[] = [
  {
    limitAnswers: 503,
    name: "paused (SIGSTOP) past the flush deadline",
    fixture: () => startRedisFixture(),
    async fault(redis) {
      await redis.server.pause();
      return async () => redis.server.resume();
    },
  },
  {
    limitAnswers: 503,
    name: "3 s slower than every deadline behind a delaying proxy",
    fixture: () => startRedisFixture({ delayProxy: true }),
    async fault(redis) {
      redis.proxy?.setDelay(3_000);
      return async () => redis.proxy?.setDelay(0);
    },
  },
  {
    limitAnswers: 503,
    name: "black-holed by the proxy",
    fixture: () => startRedisFixture({ delayProxy: true }),
    async fault(redis) {
      redis.proxy?.setBlackhole(true);
      return async () => redis.proxy?.setBlackhole(false);
    },
  },
  {
    limitAnswers: 503,
    name: "out of memory under noeviction",
    fixture: () => startRedisFixture({ serverArgs: ["--maxmemory-policy", "noeviction"] }),
    async fault(redis) {
      // Below what Redis already holds: every command that adds memory answers OOM, as a full database does.
      await redis.io.config("SET", "maxmemory", "1");
      return async () => {
        await redis.io.config("SET", "maxmemory", "0");
      };
    },
  },
  {
    limitAnswers: 200,
    name: "denying the edge user XADD and HINCRBY (ACL)",
    fixture: () => startRedisFixture({ aclUser: true }),
    async fault(redis) {
      await redis.io.call("ACL", "SETUSER", EDGE_USER.name, "-xadd", "-hincrby");
      return async () => {
        await redis.io.call("ACL", "SETUSER", EDGE_USER.name, "+@all");
      };
    },
  },
  {
    limitAnswers: 503,
    name: "crashed (SIGKILL) and restarted with persistence (appendfsync always)",
    fixture: () => {
      const dir = mkdtempSync(join(tmpdir(), "containment-aof-"));
      return startRedisFixture({
        serverArgs: ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir],
      });
    },
    async fault(redis) {
      await redis.server.stop("SIGKILL");
      return async () => redis.server.start();
    },
  },
];

describe.each(HARNESSES)("Redis faults (%s)", (name) => {
  it.each(SCENARIOS)("keeps containment and exact evidence when Redis is $name", async (scenario) => {
    const { redis, h } = await setUp(name, scenario.fixture);
    const tally = newTally();
    await drive(h, tally, 10, "before");
    await until(async () => Number(await redis.io.xlen("containment:events")) > 0, 10_000, "the first flush");

    const heal = await scenario.fault(redis);
    const during = newTally();
    await drive(h, during, 20, "during");
    expectContained(during);
    // The fault was real: the rate-limited route answered by its fail mode (ACL spares its commands).
    expect(new Set(during.export.map((e) => e.status))).toEqual(new Set([scenario.limitAnswers]));
    tally.decisions += during.decisions;
    await heal();

    await drive(h, tally, 5, "after");
    expectContained(tally);
    const seen = await expectExactMirror(h, redis, tally);
    console.log(
      `[${name}] ${scenario.name}: ${tally.decisions} decisions, counted ${seen.counted}, events for ${seen.eventDecisions}, ` +
        `rate-limit answers during the fault ${[...new Set(during.export.map((e) => e.status))].join("/")} ` +
        `(slowest ${Math.max(...during.export.map((e) => e.ms)).toFixed(0)} ms)`,
    );
  });
});
