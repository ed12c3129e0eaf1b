/**
 * An isolate reports what a background refresh changed without waiting for another request: its
 * one request after a flip is decided on the rules in force and starts the refresh; the refresh's
 * own background task then writes the enforcement report, so `--wait` can confirm an isolate whose
 * traffic stopped right after the flip. workerd (no nodejs_compat), real Redis, Edge Config stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { parseReport, verifyReport } from "../../src/stores/mirror/isolate-report.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { type Harness, startHarness } from "../support/harness.js";

const SECRET = "refresh-report-secret";
let ec: EdgeConfigServer;
let redis: RedisFixture;
let edge: Harness;

async function report() {
  const [member] = await redis.io.zrange("containment:isolates", 0, -1);
  const raw = member === undefined ? null : await redis.io.get(`containment:isolate:${member}`);
  const parsed = raw ? parseReport(raw) : undefined;
  return parsed && (await verifyReport(parsed, SECRET)) === "verified" ? parsed : undefined;
}

beforeAll(async () => {
  ec = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
  redis = await startRedisFixture();
  edge = await startHarness("workerd", {
    edgeConfig: ec.connectionString,
    redis: redis.connection,
    env: { VERCEL_REGION: "iad1", CONTAINMENT_REPORT_SECRET: SECRET },
    // Every request refreshes behind itself; none ever waits for Edge Config (rules never too old).
    options: { refreshMs: 0, maxStaleMs: 600_000 },
  });
}, 120_000);
afterAll(async () => {
  await edge?.close();
  await redis?.close();
  await ec?.close();
});

describe("the enforcement report after a background refresh", { timeout: 120_000 }, () => {
  it("names a switch the isolate's last request only started loading", async () => {
    await until(
      async () => {
        await (await edge.fetch("/api/x")).arrayBuffer();
        return (await report()) !== undefined;
      },
      60_000,
      "the first report",
    );
    expect((await report())?.switches).toEqual([]);
    ec.setItem("containment_kill_late", { id: "late", version: 1, match: { path: "/api/**" }, reason: "r" });
    // The one request after the flip: decided on the rules in force (not blocked), refresh behind it.
    const response = await edge.fetch("/api/x");
    await response.arrayBuffer();
    expect(response.status).toBe(200);
    // No more traffic: the report still comes, from the refresh's own background task.
    await until(
      async () => (await report())?.switches.includes("late@1") === true,
      30_000,
      "late@1 reported",
    );
  });
});
