/**
 * `--wait` when Redis fails (src/ops/confirm.ts): the isolates' reports cannot be read, so the wait
 * ends in one line saying so, after reads failed for 5 s in a row rather than at `--timeout`, and
 * never throws; a blip shorter than that is retried and the wait confirms. A real redis-server,
 * stopped and started again; time from an injected clock advanced by the wait's own sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOpsConfig } from "../../src/ops/config.js";
import { describeConfirm, waitForEnforcement } from "../../src/ops/confirm.js";
import { createOpsContext } from "../../src/ops/context.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type IsolateReport, serializeReport } from "../../src/stores/mirror/isolate-report.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";

const SECRET = "deployment-report-secret";
const PREFIX = "down:";
let redis: RedisFixture;

beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(() => redis.close());

function context(now: () => number) {
  const config = loadOpsConfig({
    env: { EDGE_CONFIG_ID: "ecfg_test", CONTAINMENT_REDIS_PREFIX: PREFIX, CONTAINMENT_REPORT_SECRET: SECRET },
    cwd: "/nonexistent-dir-for-test",
  });
  return createOpsContext(config, { redis: restRedis(redis.connection), now });
}

async function reportEnforcing(at: number): Promise<void> {
  const body: IsolateReport = {
    v: 1,
    region: "iad1",
    isolate: "a",
    seq: 1,
    at,
    digest: "d1",
    switches: ["exports@2"],
    fast: [],
  };
  await redis.io.set(`${PREFIX}isolate:iad1:a`, await serializeReport(body, SECRET), "EX", 300);
  await redis.io.zadd(`${PREFIX}isolates`, at, "iad1:a");
}

describe("--wait with Redis down", () => {
  it("ends unconfirmed after 5 s of failed reads, long before the timeout, in one line naming Redis", async () => {
    await redis.server.stop();
    let clock = 1_000_000;
    const result = await waitForEnforcement(
      context(() => clock),
      {
        expectation: { kind: "present", id: "exports", version: 2 },
        writtenAt: clock,
        timeoutMs: 60_000,
        sleep: async (ms) => {
          clock += ms;
        },
      },
    );
    expect(result).toMatchObject({
      ok: false,
      reason: "redis-unavailable",
      redis: "is unreachable (unavailable behind its REST endpoint)",
      confirmed: [],
    });
    expect(clock - 1_000_000).toBe(5_000);
    expect(describeConfirm(result)).toEqual([
      "not confirmed: cannot read the isolates' reports (Redis is unreachable (unavailable behind its REST endpoint)); the change stays written: `containment status` shows the regions once Redis answers",
    ]);
    await redis.server.start();
  });

  it("retries a blip: Redis back within 5 s, the wait confirms", async () => {
    await redis.server.stop();
    let clock = 2_000_000;
    const result = await waitForEnforcement(
      context(() => clock),
      {
        expectation: { kind: "present", id: "exports", version: 2 },
        writtenAt: clock,
        timeoutMs: 60_000,
        sleep: async (ms) => {
          clock += ms;
          if (clock - 2_000_000 === 2_000 && !redis.server.running) {
            await redis.server.start();
            await until(async () => (await redis.io.ping().catch(() => "")) === "PONG", 10_000, "Redis back");
            await reportEnforcing(clock);
          }
        },
      },
    );
    expect(result).toMatchObject({ ok: true, confirmed: [{ region: "iad1", isolates: 1 }] });
    expect(result.confirmed[0]?.afterMs).toBeGreaterThanOrEqual(2_000);
  });
});
