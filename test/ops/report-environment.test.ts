/**
 * An isolate's enforcement report is bound to its deployment environment (VERCEL_ENV): a preview
 * deployment that shares production's CONTAINMENT_REPORT_SECRET (and its Redis) writes reports that
 * verify only for `preview`, never as production's, so it cannot confirm `--wait` for production
 * (docs/security.md, "Preview deployments"). The firewall in Node, a real redis-server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseReport, verifyReport } from "../../src/stores/mirror/isolate-report.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { type Harness, startHarness } from "../support/harness.js";

const SECRET = "shared-production-report-secret";
let redis: RedisFixture;
let preview: Harness;

beforeAll(async () => {
  redis = await startRedisFixture();
  preview = await startHarness("node", {
    redis: redis.connection,
    rules: { version: 1, rules: [] },
    env: { VERCEL_ENV: "preview", VERCEL_REGION: "iad1", CONTAINMENT_REPORT_SECRET: SECRET },
  });
}, 120_000);
afterAll(async () => {
  await preview?.close();
  await redis?.close();
});

describe("a preview deployment holding production's report secret", { timeout: 120_000 }, () => {
  it("writes reports production's readers reject, and its own environment accepts", async () => {
    let stored: string | null = null;
    await until(
      async () => {
        await (await preview.fetch("/")).arrayBuffer();
        const [member] = await redis.io.zrange("containment:isolates", 0, -1);
        stored = member === undefined ? null : await redis.io.get(`containment:isolate:${member}`);
        return stored !== null;
      },
      60_000,
      "the preview's first report",
    );
    const report = parseReport(stored ?? "");
    expect(report?.mac).toBeDefined();
    if (report === undefined) return;
    expect(await verifyReport(report, SECRET)).toBe("bad-mac");
    expect(await verifyReport(report, SECRET, "production")).toBe("bad-mac");
    expect(await verifyReport(report, SECRET, "preview")).toBe("verified");
  });
});
