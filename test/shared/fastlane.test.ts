/**
 * The fast lane in both runtimes: Node, and the edge bundle in workerd without nodejs_compat
 * (Ed25519 verification through WebCrypto there). A switch published to Redis, signed with the
 * responders' key, is enforced before Edge Config holds it; one signed with another key never is.
 */
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { generateFastLaneKeys, publishFastLane } from "../../src/ops/fastlane.js";
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
  afterAll(async () => {
    await harness?.close();
    await ec?.close();
  });

  it("enforces a signed switch before Edge Config holds it, and ignores one signed with another key", async () => {
    const keys = await generateFastLaneKeys();
    const other = await generateFastLaneKeys();
    const prefix = `shared-${name}:`;
    ec = await startEdgeConfigServer({
      items: { containment: { version: 1, rules: [] }, containment_fastlane_key: keys.publicJwk as never },
    });
    harness = await startHarness(name, {
      edgeConfig: ec.connectionString,
      redis: redis.connection,
      options: { mirror: false, refreshMs: 0, redisPrefix: prefix, fastLane: { timeoutMs: 5_000 } },
    });
    expect((await harness.fetch("/api/patients/1/export")).status).toBe(200);
    const client = new Redis({ ...redis.connection, retry: { retries: 0 } });
    const forged = { redis: client, prefix, signingKey: other.privateJwk };
    await publishFastLane(forged, { id: "forged", version: 1, match: { path: "/api/orders/**" } });
    await publishFastLane(
      { redis: client, prefix, signingKey: keys.privateJwk },
      { id: "exports", version: 1, match: { path: "/api/patients/*/export" } },
    );
    // The lane is read behind requests: wait for the condition, not for a time.
    await until(
      async () => (await harness.fetch("/api/patients/1/export")).status === 503,
      15_000,
      "the lane switch",
    );
    expect((await harness.fetch("/api/orders/1")).status).toBe(200);
    expect(ec.items().containment_kill_exports).toBeUndefined();
  });
});
