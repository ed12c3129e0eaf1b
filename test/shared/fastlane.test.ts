/**
 * The fast lane in both runtimes: Node, and the edge bundle in workerd without nodejs_compat
 * (Ed25519 verification through WebCrypto there). A switch published to Redis, signed with the
 * responders' key for this deployment, is enforced before Edge Config holds it; one signed with
 * another key or for another deployment never is, nor is a withdrawn one put back.
 */
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import {
  type FastLaneContext,
  generateFastLaneKeys,
  publishFastLane,
  withdrawFastLane,
} from "../../src/ops/fastlane.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { HARNESSES, type Harness, startHarness } from "../support/harness.js";

let redis: RedisFixture;
beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
});

describe.each(HARNESSES)("the fast lane (%s)", (name) => {
  let ec: EdgeConfigServer;
  let harness: Harness;
  let keys: Awaited<ReturnType<typeof generateFastLaneKeys>>;
  const prefix = `shared-${name}:`;
  const client = () => new Redis({ ...redis.connection, retry: { retries: 0 } });
  const lane = (): FastLaneContext => ({
    redis: client(),
    prefix,
    audience: ec.id,
    signingKey: keys.privateJwk,
  });
  const status = async (path: string) => (await harness.fetch(path)).status;

  beforeAll(async () => {
    keys = await generateFastLaneKeys();
    ec = await startEdgeConfigServer({
      items: { containment: { version: 1, rules: [] }, containment_fastlane_key: keys.publicJwk as never },
    });
    harness = await startHarness(name, {
      edgeConfig: ec.connectionString,
      redis: redis.connection,
      options: { mirror: false, refreshMs: 0, redisPrefix: prefix, fastLane: { timeoutMs: 5_000 } },
    });
  });
  afterAll(async () => {
    await harness?.close();
    await ec?.close();
  });

  it("enforces a signed switch before Edge Config holds it, and ignores one signed with another key", async () => {
    const other = await generateFastLaneKeys();
    expect(await status("/api/patients/1/export")).toBe(200);
    await publishFastLane(
      { ...lane(), signingKey: other.privateJwk },
      {
        id: "forged",
        version: 1,
        match: { path: "/api/orders/**" },
      },
    );
    await publishFastLane(lane(), { id: "exports", version: 1, match: { path: "/api/patients/*/export" } });
    // The lane is read behind requests: wait for the condition, not for a time.
    await until(async () => (await status("/api/patients/1/export")) === 503, 15_000, "the lane switch");
    expect(await status("/api/orders/1")).toBe(200);
    expect(ec.items().containment_kill_exports).toBeUndefined();
  });

  it("ignores an entry signed for another deployment, and a withdrawn entry put back into Redis", async () => {
    await publishFastLane(lane(), { id: "gone", version: 1, match: { path: "/api/gone/**" } });
    await until(async () => (await status("/api/gone/1")) === 503, 15_000, "the lane switch");
    const signed = (await redis.io.hget(`${prefix}fastlane`, "gone")) as string;
    await withdrawFastLane(lane(), "gone", 1);
    await until(async () => (await status("/api/gone/1")) === 200, 15_000, "the withdrawal");
    // Whoever can write Redis replays the withdrawn entry, and adds one signed (with the same key)
    // for another deployment; a marker published after both shows the lane was read since.
    await redis.io.hset(`${prefix}fastlane`, "gone", signed);
    await publishFastLane(
      { ...lane(), audience: "ecfg_elsewhere" },
      {
        id: "foreign",
        version: 1,
        match: { path: "/api/foreign/**" },
      },
    );
    await publishFastLane(lane(), { id: "marker", version: 1, match: { path: "/api/marker/**" } });
    await until(async () => (await status("/api/marker/1")) === 503, 15_000, "the marker switch");
    expect(await status("/api/gone/1")).toBe(200);
    expect(await status("/api/foreign/1")).toBe(200);
  });
});
