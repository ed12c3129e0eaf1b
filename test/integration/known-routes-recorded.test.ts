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
    // A tenant the document does not declare is recorded as ~undeclared, its segment too.
    expect((await harness.fetch("http://app.example/api/initech/patients/7/notes")).status).toBe(200);
    const shapeFields = async () => {
      const fields: string[] = [];
      for (const key of await redis.io.keys("containment:shapes:*"))
        fields.push(...(await redis.io.hkeys(key)));
      return fields;
    };
    await until(async () => (await shapeFields()).length === 2, 20_000, "shapes mirrored");
    expect(await shapeFields()).toContain("*|/api/~undeclared/patients/:id/notes|GET|~undeclared|allow");

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
    // Served to an undeclared tenant: a kill naming that tenant's route is no typo.
    expect(unknownPatterns(["/api/initech/patients/*/notes"], known.routes)).toEqual([]);
    expect(nearestRoutes("/api/:tenant/patients/*/exprot", known.routes)[0]).toBe(
      "/api/acme/patients/:id/export",
    );
  });
});
