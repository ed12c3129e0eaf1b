/**
 * The fast lane through the CLI: `kill` publishes the signed switch to Redis after Edge Config
 * accepted it, and an isolate whose Edge Config has not propagated the switch yet blocks through
 * the lane alone (workerd, real Redis); `lift` withdraws it and the isolate passes again; each
 * publish and withdrawal is an entry of the audit chain, which still verifies against its anchor.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { readAnchor, readAudit, verifyAudit } from "../../src/ops/audit/index.js";
import { VercelApi } from "../../src/ops/edge-config-api.js";
import { generateFastLaneKeys } from "../../src/ops/fastlane.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { responderEnv, runCli } from "../support/cli.js";
import { type Harness, startHarness } from "../support/harness.js";

const PREFIX = "containment:";
const ROUTE = "/api/acme/fast/1";

let ec: EdgeConfigServer;
/** What the isolate's region serves: the key, but never the switch (Edge Config not propagated yet). */
let replica: EdgeConfigServer;
let redis: RedisFixture;
let edge: Harness;
let cwd: string;
let privateJwk: string;

const cli = (args: string[]) =>
  runCli(args, {
    env: responderEnv(ec, redis.connection, { CONTAINMENT_FASTLANE_PRIVATE_KEY: privateJwk }),
    cwd,
  });
const status = async () => {
  const response = await edge.fetch(ROUTE);
  await response.arrayBuffer();
  return response.status;
};

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-lane-"));
  const keys = await generateFastLaneKeys();
  privateJwk = JSON.stringify(keys.privateJwk);
  const items = { containment: { version: 1, rules: [] }, containment_fastlane_key: keys.publicJwk as never };
  ec = await startEdgeConfigServer({ items });
  replica = await startEdgeConfigServer({ items });
  redis = await startRedisFixture();
  edge = await startHarness("workerd", {
    edgeConfig: replica.connectionString,
    redis: redis.connection,
    options: { refreshMs: 0 },
  });
}, 120_000);
afterAll(async () => {
  await edge?.close();
  await redis?.close();
  await replica?.close();
  await ec?.close();
});

describe("kill and lift through the fast lane", { timeout: 120_000 }, () => {
  it("blocks through the lane before Edge Config propagates, passes once lifted, and audits both", async () => {
    expect(await status()).toBe(200);
    const kill = await cli([
      "kill",
      "/api/:tenant/fast/**",
      "--id",
      "fast",
      "--reason",
      "r",
      "--incident",
      "INC-F",
      "--yes",
      "--json",
    ]);
    expect(kill.code).toBe(0);
    expect(kill.json).toMatchObject({ id: "fast", version: 1, fastLane: "published" });
    expect(Object.keys(await redis.io.hgetall(`${PREFIX}fastlane`))).toEqual(["fast"]);
    await until(async () => (await status()) === 503, 30_000, "the isolate blocking through the lane");
    expect(replica.items().containment_kill_fast).toBeUndefined();

    const lift = await cli(["lift", "fast", "--reason", "fixed", "--yes", "--json"]);
    expect(lift.code).toBe(0);
    // The entry is replaced by a signed withdrawal of its version, which the edge honours.
    const withdrawn = JSON.parse((await redis.io.hget(`${PREFIX}fastlane`, "fast")) ?? "{}");
    expect(withdrawn).toMatchObject({ id: "fast", version: 1, item: null, withdrawn: true });
    await until(async () => (await status()) === 200, 30_000, "the isolate passing again");

    const records = await readAudit({ redis: restRedis(redis.connection), prefix: PREFIX });
    expect(records.map((r) => `${r.entry.action}:${r.entry.phase}`)).toEqual([
      "kill:intent",
      "kill:result",
      "fastlane-publish:result",
      "lift:intent",
      "lift:result",
      "fastlane-withdraw:result",
    ]);
    expect(records[2]?.entry).toMatchObject({
      key: `${PREFIX}fastlane:fast`,
      after: { id: "fast", version: 1 },
      actor: { source: "vercel", name: "local-responder" },
    });
    const anchor = await readAnchor(
      new VercelApi({ base: ec.apiUrl, token: ec.apiToken, edgeConfigId: ec.id }),
    );
    expect(await verifyAudit(records, { anchor })).toMatchObject({ ok: true, count: 6, unanchored: 0 });
  });
});
