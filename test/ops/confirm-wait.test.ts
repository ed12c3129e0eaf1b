import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOpsConfig } from "../../src/ops/config.js";
import { describeConfirm, waitForEnforcement } from "../../src/ops/confirm.js";
import { createOpsContext } from "../../src/ops/context.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type IsolateReport, serializeReport } from "../../src/stores/mirror/isolate-report.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";

const SECRET = "deployment-report-secret";
let redis: RedisFixture;
let n = 0;
let prefix = "";

beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(() => redis.close());

/** Writes a report exactly as CONTRACTS format 1 says the edge does (key with EX 300, zset by `at`). */
async function report(
  region: string,
  isolate: string,
  at: number,
  switches: string[],
  secret: string | null = SECRET,
): Promise<void> {
  const body: IsolateReport = { v: 1, region, isolate, seq: 1, at, digest: "d1", switches, fast: [] };
  await redis.io.set(
    `${prefix}isolate:${region}:${isolate}`,
    await serializeReport(body, secret ?? undefined),
    "EX",
    300,
  );
  await redis.io.zadd(`${prefix}isolates`, at, `${region}:${isolate}`);
}

function context(now: () => number, secret: string | null = SECRET) {
  const config = loadOpsConfig({
    env: {
      EDGE_CONFIG_ID: "ecfg_test",
      CONTAINMENT_REDIS_PREFIX: prefix,
      ...(secret ? { CONTAINMENT_REPORT_SECRET: secret } : {}),
    },
    cwd: "/nonexistent-dir-for-test",
  });
  return createOpsContext(config, { redis: restRedis(redis.connection), now });
}

describe("--wait confirms the change it made, per region, from MAC-verified isolate reports", () => {
  it("confirms a region only when every recent isolate there enforces this switch at this version, despite another responder's flip", async () => {
    prefix = `w${++n}:`;
    let clock = 1_000_000;
    const sleep = async (ms: number) => {
      clock += ms;
      // Between polls: the lagging isolate catches up after 2 s; a second responder's switch appears everywhere.
      if (clock >= 1_002_000) await report("fra1", "b", clock, ["other@1", "exports@2"]);
    };
    await report("iad1", "a", clock, ["exports@2", "other@1"]);
    await report("fra1", "a", clock, ["exports@2"]);
    await report("fra1", "b", clock, ["exports@1"]); // lagging: the previous version
    const seen: string[] = [];
    const result = await waitForEnforcement(
      context(() => clock),
      {
        expectation: { kind: "present", id: "exports", version: 2 },
        writtenAt: 1_000_000,
        timeoutMs: 10_000,
        pollMs: 500,
        sleep,
        onRegion: (r) => seen.push(`${r.region}@${r.afterMs}`),
      },
    );
    expect(result.ok).toBe(true);
    expect(seen[0]).toBe("iad1@0");
    expect(seen[1]).toMatch(/^fra1@(2000|2500)$/);
    expect(result.confirmed.find((r) => r.region === "fra1")?.isolates).toBe(2);
  });

  it("never accepts a confirmation written with the Redis token alone, and times out naming the region and isolate behind", async () => {
    prefix = `w${++n}:`;
    let clock = 2_000_000;
    await report("sin1", "good", clock, []); // verified, not enforcing yet
    await report("sin1", "forged", clock, ["exports@1"], "guessed-secret"); // bad MAC
    await report("hnd1", "nomac", clock, ["exports@1"], null); // no MAC at all
    // ams1's lagging isolate had its report overwritten with the Redis token alone: were it skipped,
    // ams1 would count only its fresh isolate and confirm.
    await report("ams1", "fresh", clock, ["exports@1"]);
    await report("ams1", "lagging", clock, ["exports@1"], null);
    const result = await waitForEnforcement(
      context(() => clock),
      {
        expectation: { kind: "present", id: "exports", version: 1 },
        writtenAt: clock,
        timeoutMs: 3000,
        pollMs: 1000,
        sleep: async (ms) => {
          clock += ms;
        },
      },
    );
    expect(result.ok).toBe(false);
    expect(result.reason).toBe("timeout");
    expect(result.confirmed).toEqual([]);
    const behind = Object.fromEntries(
      result.behind.map((r) => [r.region, Object.fromEntries(r.isolates.map((i) => [i.isolate, i.state]))]),
    );
    expect(behind).toEqual({
      ams1: { lagging: "report failed verification (unsigned)" },
      hnd1: { nomac: "report failed verification (unsigned)" },
      sin1: { good: "not enforcing exports", forged: "report failed verification (bad-mac)" },
    });
    expect(result.unverified.map((u) => u.trust).sort()).toEqual(["bad-mac", "unsigned", "unsigned"]);
  });

  it("stops at once when interrupted (Ctrl-C), keeping what was confirmed and naming the region behind", async () => {
    prefix = `w${++n}:`;
    let clock = 4_000_000;
    await report("iad1", "a", clock, ["exports@1"]);
    await report("fra1", "b", clock, []);
    const interrupt = new AbortController();
    let polls = 0;
    const result = await waitForEnforcement(
      context(() => clock),
      {
        expectation: { kind: "present", id: "exports", version: 1 },
        writtenAt: clock,
        timeoutMs: 600_000,
        pollMs: 500,
        signal: interrupt.signal,
        // The third pause never ends by itself: only the interrupt can end the wait before the deadline.
        sleep: (ms) => {
          polls++;
          if (polls === 3) {
            queueMicrotask(() => interrupt.abort());
            return new Promise<void>(() => {});
          }
          clock += ms;
          return Promise.resolve();
        },
      },
    );
    expect(polls).toBe(3);
    expect(result).toMatchObject({ ok: false, reason: "interrupted" });
    expect(result.confirmed.map((r) => r.region)).toEqual(["iad1"]);
    expect(result.behind.map((r) => r.region)).toEqual(["fra1"]);
    expect(describeConfirm(result)).toEqual([
      expect.stringMatching(/^stopped waiting \(Ctrl-C\): the change is written/),
      "not confirmed in fra1: b (not enforcing exports)",
    ]);
  });

  it("confirms a lift only from reports made after it, and says it cannot confirm without the secret", async () => {
    prefix = `w${++n}:`;
    let clock = 3_000_000;
    await report("iad1", "a", clock - 5000, []); // made before the lift: proves nothing
    const lift = waitForEnforcement(
      context(() => clock),
      {
        expectation: { kind: "absent", id: "exports" },
        writtenAt: clock,
        timeoutMs: 5000,
        pollMs: 1000,
        sleep: async (ms) => {
          clock += ms;
          if (clock >= 3_002_000) await report("iad1", "a", clock, []);
        },
      },
    );
    const result = await lift;
    expect(result.ok).toBe(true);
    expect(result.confirmed[0]).toMatchObject({ region: "iad1", afterMs: 2000 });
    const blind = await waitForEnforcement(
      context(() => clock, null),
      { expectation: { kind: "absent", id: "exports" }, writtenAt: clock },
    );
    expect(blind).toMatchObject({ ok: false, reason: "no-secret" });
    // Without Redis there is nothing to read: said so, rather than pretending.
    const config = loadOpsConfig({
      env: { EDGE_CONFIG_ID: "ecfg_test", CONTAINMENT_REPORT_SECRET: SECRET },
      cwd: "/nonexistent-dir-for-test",
    });
    const offline = await waitForEnforcement(createOpsContext(config, {}), {
      expectation: { kind: "absent", id: "exports" },
      writtenAt: clock,
    });
    expect(offline).toMatchObject({ ok: false, reason: "no-redis" });
    expect(describeConfirm(offline)).toEqual([
      "enforcement cannot be confirmed: no Redis configured (the isolates report there)",
    ]);
  });

  it("names a region whose isolates stop reporting before they confirm, and never takes a report older than the write", async () => {
    prefix = `w${++n}:`;
    let clock = 4_000_000;
    // fra1's only isolate last reported 25 s before the write (idle since): inside the 30 s window
    // for 5 s, then gone quiet. iad1's report predates the write too, with the same id@version an
    // earlier, lifted switch had: it proves nothing until iad1 reports again.
    await report("fra1", "f", clock - 25_000, []);
    await report("iad1", "i", clock - 1_000, ["exports@1"]);
    const seen: string[] = [];
    const result = await waitForEnforcement(
      context(() => clock),
      {
        expectation: { kind: "present", id: "exports", version: 1 },
        writtenAt: clock,
        timeoutMs: 12_000,
        pollMs: 1000,
        onRegion: (r) => seen.push(`${r.region}@${r.afterMs}`),
        sleep: async (ms) => {
          clock += ms;
          if (clock === 4_003_000) await report("iad1", "i", clock, ["exports@1"]);
        },
      },
    );
    expect(seen).toEqual(["iad1@3000"]);
    expect(result).toMatchObject({
      ok: false,
      reason: "timeout",
      behind: [
        {
          region: "fra1",
          isolates: [{ isolate: "f", state: "stopped reporting (last: no report since the change)" }],
        },
      ],
    });
  });
});
