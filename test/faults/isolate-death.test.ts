import { afterEach, describe, expect, it } from "vitest";
import { startUpstashBridge } from "../../src/dev/upstash-bridge.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { mirrorReader } from "../../src/stores/mirror/reader.js";
import { startRedisFixture, until } from "../integration/redis-fixture.js";
import { type Harness, startHarness } from "../support/harness.js";
import { FAULT_RULES } from "./fault-kit.js";

// an isolate can die with unsent decisions (Vercel recycles isolates; nothing survives
// it). Every flush attempt carries the isolate's id and decision sequence number, so after the
// outage the evidence states how many decisions of which isolate never arrived: exactly, not hidden.

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function totalCounted(reader: ReturnType<typeof mirrorReader>): Promise<number> {
  const minute = Math.floor(Date.now() / 60_000);
  const rows = await reader.counts({ from: minute - 10, to: minute + 1 });
  return rows.reduce((total, row) => total + row.n, 0);
}

describe("an isolate killed in the middle of a Redis outage", () => {
  it("leaves an exact gap: decisions it made minus decisions that reached counts, by isolate", {
    timeout: 120_000,
  }, async () => {
    const redis = await startRedisFixture({ delayProxy: true });
    cleanup.push(() => redis.close());
    const h: Harness = await startHarness("workerd", {
      rules: FAULT_RULES,
      redis: redis.connection,
      options: { mirror: { sampleAllows: 1, timeoutMs: 300, minIntervalMs: 50 } },
    });
    let closed = false;
    cleanup.push(async () => {
      if (!closed) await h.close();
    });
    // The reader reaches Redis on its own path: the outage is between the isolate and Redis.
    const direct = await startUpstashBridge({ redisUrl: redis.server.url });
    cleanup.push(() => direct.close());
    const reader = mirrorReader({ client: restRedis({ url: direct.url, token: direct.token }) });
    let made = 0;
    const request = async (path: string): Promise<void> => {
      await (await h.fetch(path)).arrayBuffer();
      made++;
    };

    for (let i = 0; i < 20; i++) await request(i % 2 ? "/api/acme/frozen" : `/api/acme/items/${i}`);
    await until(async () => (await reader.ledger())[0]?.accounted === 20, 10_000, "the healthy decisions");

    // The outage: Redis answers later than the flush deadline. Flushes fail from the isolate's view;
    // each attempt still reaches Redis eventually and carries the isolate's sequence number.
    redis.proxy?.setDelay(1_000);
    for (let i = 0; i < 30; i++) await request(i % 2 ? "/api/acme/frozen" : `/api/acme/items/o${i}`);
    await until(
      async () => (await reader.ledger())[0]?.seq === made,
      20_000,
      "a heartbeat carrying the last decision",
    );

    // The isolate dies with decisions it never managed to send; nothing more of it reaches Redis.
    await h.close();
    closed = true;
    redis.proxy?.setBlackhole(true);
    redis.proxy?.dropConnections();

    // Read the ledger and counts as one view (a script that had already reached Redis lands in both at once).
    let ledger = await reader.ledger();
    let counted = -1;
    await until(
      async () => {
        ledger = await reader.ledger();
        counted = await totalCounted(reader);
        return ledger[0]?.accounted === counted && (await reader.ledger())[0]?.accounted === counted;
      },
      10_000,
      "a settled view of the ledger and counts",
    );
    const [isolate, ...others] = ledger;
    expect(others).toEqual([]);
    expect(isolate?.seq).toBe(made);
    // Exact: what the isolate decided = what reached counts + the gap it is reported with.
    expect(isolate?.gap).toBe(made - counted);
    expect(isolate?.gap).toBeGreaterThan(0);
    console.log(
      `[workerd] isolate ${isolate?.member} killed mid-outage: ${made} decisions, ${counted} counted, gap ${isolate?.gap} reported`,
    );
  });
});
