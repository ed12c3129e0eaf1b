/**
 * `containment quarantine list` / `release` against the real middleware in workerd on a real
 * Redis: a tenant quarantined by the edge is listed, released in one audited command, and the same
 * isolate that had it quarantined (and cached it) lets the tenant through again.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { readAudit, verifyAudit } from "../../src/ops/audit/index.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { responderEnv, runCli } from "../support/cli.js";
import { type Harness, startHarness } from "../support/harness.js";

const PREFIX = "containment:";
// Two rate-limited routes; a tenant refused twice on reports is quarantined on both (scope all).
const RULES = {
  version: 1,
  tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
  rules: [
    {
      id: "reports-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/reports" },
      limit: 1,
      window: "1h",
      algorithm: "fixed-window",
      by: ["tenant"],
      quarantine: { after: 2, for: "15m", scope: "all" },
    },
    {
      id: "items-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/items" },
      limit: 1000,
      window: "1h",
      by: ["tenant"],
    },
  ],
};

let ec: EdgeConfigServer;
let redis: RedisFixture;
let edge: Harness;
/** Another isolate: it has no cached answers, so its refusals reach Redis and count as trips. */
let other: Harness;
let cwd: string;

const cli = (args: string[]) =>
  runCli(args, {
    env: responderEnv(ec, redis.connection),
    cwd,
  });

/** What the edge answers; on the items route (limit 1000) a 429 can only be the quarantine. */
async function reason(path: string, isolate: Harness = edge): Promise<string> {
  const response = await isolate.fetch(path);
  await response.arrayBuffer();
  return response.status === 200 ? "passed" : String(response.status);
}

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-quarantine-"));
  ec = await startEdgeConfigServer({ items: { containment: RULES } });
  redis = await startRedisFixture();
  const start = () =>
    startHarness("workerd", {
      edgeConfig: ec.connectionString,
      redis: redis.connection,
      env: { CONTAINMENT_SALT: "test-salt" },
    });
  [edge, other] = await Promise.all([start(), start()]);
}, 120_000);
afterAll(async () => {
  await edge?.close();
  await other?.close();
  await redis?.close();
  await ec?.close();
});

describe("quarantine release through the CLI", { timeout: 120_000 }, () => {
  it("lists the tenant the edge quarantined, releases it audited, and the edge lets it through again", async () => {
    expect(await reason("/api/initech/reports")).toBe("passed");
    await reason("/api/initech/reports"); // over the limit: trip 1
    await reason("/api/initech/reports"); // trip 2: quarantined
    expect(await reason("/api/initech/items")).toBe("429");

    const listed = await cli(["quarantine", "list", "--json"]);
    expect(listed.code).toBe(0);
    const rows = (listed.json as { quarantines: Array<{ dimension: string; id: string; rule?: string }> })
      .quarantines;
    expect(rows).toHaveLength(1);
    const target = `${rows[0]?.dimension}:${rows[0]?.id}`;
    expect(target).toMatch(/^tenant:[0-9a-f]{16}$/);
    // For a person: the target as `release` takes it, time left, the evidence's facts by name; no raw JSON.
    const human = await cli(["quarantine", "list"]);
    expect(human.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(`^${target}  \\S.*  since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ`),
      ),
    ]);
    expect(human.stdout).not.toMatch(/[{}"]/);
    // The same isolate asks again (and answers from what it knows): still quarantined.
    expect(await reason("/api/initech/items")).toBe("429");

    const released = await cli([
      "quarantine",
      "release",
      target,
      "--reason",
      "partner job",
      "--yes",
      "--json",
    ]);
    expect(released.code).toBe(0);
    expect(released.json).toMatchObject({ action: "quarantine-release", released: true });
    expect((await cli(["quarantine", "list", "--json"])).json).toMatchObject({ quarantines: [] });
    // The isolate that cached the quarantine lets the tenant through again, well before its 15 min.
    await until(async () => (await reason("/api/initech/items")) === "passed", 30_000, "items passing again");
    // A fresh start (the trips went when the quarantine began): a refusal in another isolate, which
    // asks Redis, is a refusal and no new quarantine.
    expect(await reason("/api/initech/reports", other)).toBe("429");
    expect(await reason("/api/initech/items", other)).toBe("passed");
    expect(await reason("/api/initech/items")).toBe("passed");

    const audit = await readAudit({ redis: restRedis(redis.connection), prefix: PREFIX });
    expect(audit.map((r) => [r.entry.action, r.entry.phase, r.entry.key, r.entry.reason])).toEqual([
      ["quarantine-release", "intent", `quarantine:${target}`, "partner job"],
      ["quarantine-release", "result", `quarantine:${target}`, "partner job"],
    ]);
    expect(audit[1]?.entry.outcome).toBe("ok");
    expect((await verifyAudit(audit, { allowUnanchored: true })).ok).toBe(true);

    const again = await cli(["quarantine", "release", target, "--yes"]);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/no quarantine .*nothing was changed/),
    ]);
    const bad = await cli(["quarantine", "release", "tenant", "--yes"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/is not <dimension>:<id>/);
  });
});
