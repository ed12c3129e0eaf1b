/**
 * Routes the app is known to have, from recorded traffic (docs/runbook.md, "A route nobody has"):
 * allowed requests are sampled into events (1% by default), so a route served all day may have no
 * event at all; the route shapes every decision adds to make it known, and a kill on it is not
 * taken for a typo. Real engine, real redis-server, the real mirror and reader.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpsContext } from "../../src/ops/context.js";
import { knownRoutes, nearestRoutes, unknownPatterns } from "../../src/ops/known-routes.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { mirrorReader } from "../../src/stores/mirror/reader.js";
import { type Harness, startHarness } from "../support/harness.js";
import { type RedisFixture, startRedisFixture, until } from "./redis-fixture.js";

let redis: RedisFixture;
let harness: Harness | undefined;

beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(async () => {
  await harness?.close();
  await redis?.close();
});

describe("known routes from recorded traffic", () => {
  it("knows a route from its shapes when no allowed request was sampled into events", {
    timeout: 60_000,
  }, async () => {
    harness = await startHarness("node", {
      rules: {
        version: 1,
        tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
        tenants: { acme: { origins: ["https://acme.example.com"] } },
        rules: [
          {
            id: "phi",
            kind: "headers",
            match: { path: "/api/:tenant/patients/**" },
            set: { "cache-control": "no-store" },
          },
        ],
      },
      redis: redis.connection,
      options: { mirror: { sampleAllows: 0 } },
    });
    for (let i = 0; i < 5; i++)
      expect((await harness.fetch(`http://app.example/api/acme/patients/${1000 + i}/export`)).status).toBe(
        200,
      );
    await until(
      async () => (await redis.io.keys("containment:shapes:*")).length > 0,
      20_000,
      "shapes mirrored",
    );

    const ctx = {
      reader: mirrorReader({ client: restRedis(redis.connection) }),
      now: () => Date.now(),
      config: { cwd: "/nonexistent" },
    } as unknown as OpsContext;
    expect(await ctx.reader?.events({ limit: 10 })).toEqual([]);
    const known = await knownRoutes(ctx, "/nonexistent");
    expect(known.sources).toEqual(["recorded traffic"]);
    expect(unknownPatterns(["/api/:tenant/patients/*/export"], known.routes)).toEqual([]);
    expect(unknownPatterns(["/api/:tenant/patients/*/exprot"], known.routes)).toHaveLength(1);
    expect(nearestRoutes("/api/:tenant/patients/*/exprot", known.routes)[0]).toBe(
      "/api/acme/patients/:id/export",
    );
  });
});
