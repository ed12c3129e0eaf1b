/**
 * The fast lane end to end: the publisher (src/ops/fastlane.ts) writes to a real Redis behind the
 * Upstash bridge, the firewall reads it in the background next to the Edge Config stand-in.
 */
import { Redis } from "@upstash/redis";
import type { JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { createContainment } from "../../src/engine/firewall.js";
import type { ContainmentOptions } from "../../src/engine/options.js";
import type { Json } from "../../src/model/json.js";
import {
  type FastLaneContext,
  generateFastLaneKeys,
  publishFastLane,
  withdrawFastLane,
} from "../../src/ops/fastlane.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";

const rulesWith = (...rules: Json[]): Json => ({ version: 1, rules });
const EXPORT = "/api/patients/1/export";
const exportsItem = { id: "exports", version: 1, match: { path: "/api/patients/*/export" }, reason: "INC-9" };

let redis: RedisFixture;
let keys: { privateJwk: JWK; publicJwk: JWK };
beforeAll(async () => {
  redis = await startRedisFixture();
  keys = await generateFastLaneKeys();
});
afterAll(async () => {
  await redis?.close();
});

interface Setup {
  ec: EdgeConfigServer;
  clock: { now: number };
  prefix: string;
  lane: FastLaneContext;
  reports: Array<{ event: string; detail: Record<string, unknown> }>;
  /** Decides one request, then lets its background work (refresh, lane read) finish. */
  status(path?: string): Promise<number>;
  containment: ReturnType<typeof createContainment>;
}

const servers: EdgeConfigServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
});

async function setup(items: Record<string, Json>, extra: Partial<ContainmentOptions> = {}): Promise<Setup> {
  const ec = await startEdgeConfigServer({
    items: { containment_fastlane_key: keys.publicJwk as Json, ...items },
  });
  servers.push(ec);
  const clock = { now: Date.UTC(2026, 11, 1, 12) };
  const prefix = `fl${Math.random().toString(36).slice(2)}:`;
  const reports: Setup["reports"] = [];
  const containment = createContainment({
    edgeConfig: ec.connectionString,
    fallbackRules: rulesWith(),
    refreshMs: 0,
    // Generous deadlines: these tests are about what is enforced, not about time (a loaded machine).
    edgeConfigTimeoutMs: 5_000,
    fastLane: { timeoutMs: 5_000 },
    redis: redis.connection,
    redisPrefix: prefix,
    mirror: false,
    now: () => clock.now,
    onReport: (event, detail) => reports.push({ event, detail: { ...detail } }),
    ...extra,
  });
  const client = new Redis({
    url: redis.connection.url,
    token: redis.connection.token,
    retry: { retries: 0 },
  });
  const lane: FastLaneContext = {
    redis: client,
    prefix,
    audience: extra.fastLane ? (extra.fastLane.audience ?? ec.id) : ec.id,
    signingKey: keys.privateJwk,
    now: () => clock.now,
  };
  const status = async (path = EXPORT) => {
    const pending: Promise<unknown>[] = [];
    const result = await containment.decide(new Request(`https://app.example.com${path}`), {
      waitUntil: (p) => void pending.push(p),
    });
    await Promise.all(pending);
    return result.response?.status ?? 200;
  };
  return { ec, clock, prefix, lane, reports, status, containment };
}

describe("the fast lane (Edge Config stand-in + real Redis)", () => {
  it("enforces a published switch before Edge Config holds it, and hands over once Edge Config has that version", async () => {
    const s = await setup({ containment: rulesWith() });
    expect(await s.status()).toBe(200);
    await publishFastLane(s.lane, exportsItem);
    await s.status(); // the lane is read behind this request
    expect(await s.status()).toBe(503);
    expect(s.containment.status().fast).toEqual(["exports@1"]);
    s.ec.setItem("containment_kill_exports", exportsItem);
    expect(await s.status()).toBe(503);
    expect(s.containment.status().fast).toEqual([]);
    expect(s.containment.status().switches).toEqual(["exports@1"]);
  });

  it("only adds: an entry that would weaken or narrow a switch Edge Config holds leaves that block in force", async () => {
    const held = { ...exportsItem, version: 2 };
    const s = await setup({ containment: rulesWith(), containment_kill_exports: held });
    expect(await s.status()).toBe(503);
    await publishFastLane(s.lane, { ...held, version: 3, mode: "monitor", match: { path: "/nothing" } });
    await s.status();
    expect(await s.status()).toBe(503);
    expect(await s.status("/nothing")).toBe(200); // monitor mode: recorded, not blocked
    expect(s.containment.status().fast).toEqual(["exports@3"]);
  });

  it("stops enforcing a switch once lift withdraws it from the lane", async () => {
    const s = await setup({ containment: rulesWith() });
    await publishFastLane(s.lane, exportsItem);
    await s.status();
    expect(await s.status()).toBe(503);
    expect(await withdrawFastLane(s.lane, "exports")).toBe(true);
    await s.status();
    expect(await s.status()).toBe(200);
  });

  it("does not enforce a withdrawn entry put back into Redis, until a newer version is published", async () => {
    const s = await setup({ containment: rulesWith() });
    await publishFastLane(s.lane, exportsItem);
    await s.status();
    expect(await s.status()).toBe(503);
    const signed = (await redis.io.hget(`${s.prefix}fastlane`, "exports")) as string;
    expect(await withdrawFastLane(s.lane, "exports", 1)).toBe(true);
    await s.status();
    expect(await s.status()).toBe(200);
    // Whoever can write the lane puts the withdrawn (still signed, unexpired) entry back.
    await redis.io.hset(`${s.prefix}fastlane`, "exports", signed);
    await s.status();
    expect(await s.status()).toBe(200);
    expect(s.reports.some((r) => r.event === "fastlane-invalid" && r.detail.fault === "withdrawn")).toBe(
      true,
    );
    // …and deleting the withdrawal first changes nothing: the isolate remembers it until it lapses.
    await redis.io.hdel(`${s.prefix}fastlane`, "exports");
    await redis.io.hset(`${s.prefix}fastlane`, "exports", signed);
    await s.status();
    expect(await s.status()).toBe(200);
    // A new kill of the switch (the next version) is enforced at once.
    await publishFastLane(s.lane, { ...exportsItem, version: 2 });
    await s.status();
    expect(await s.status()).toBe(503);
    // The withdrawal lapses with the entries it could withdraw.
    s.clock.now += 5 * 60_000 + 1;
    await s.status();
    expect(s.containment.status().fast).toEqual([]);
  });

  it("does not enforce a lane entry not newer than a version Edge Config has held, after the lift", async () => {
    const s = await setup({ containment: rulesWith(), containment_kill_exports: exportsItem });
    await publishFastLane(s.lane, exportsItem);
    const signed = (await redis.io.hget(`${s.prefix}fastlane`, "exports")) as string;
    expect(await s.status()).toBe(503);
    // Lifted in Edge Config; the lane's withdrawal never arrived (deleted, or Redis was down).
    s.ec.deleteItem("containment_kill_exports");
    await redis.io.hset(`${s.prefix}fastlane`, "exports", signed);
    await s.status();
    expect(await s.status()).toBe(200);
    expect(s.containment.status().fast).toEqual([]);
  });

  it("ignores an entry signed for another deployment, with the same key and Redis", async () => {
    const s = await setup({ containment: rulesWith() });
    await publishFastLane({ ...s.lane, audience: "ecfg_preview" }, exportsItem);
    await publishFastLane(s.lane, { id: "orders", version: 1, match: { path: "/api/orders/**" } });
    await s.status("/api/orders/1");
    expect(await s.status("/api/orders/1")).toBe(503);
    expect(await s.status()).toBe(200);
    expect(s.reports.some((r) => r.event === "fastlane-invalid" && r.detail.fault === "wrong-audience")).toBe(
      true,
    );
  });

  it("checks a configured audience instead of the Edge Config id", async () => {
    const s = await setup(
      { containment: rulesWith() },
      { fastLane: { audience: "prod-eu", timeoutMs: 5_000 } },
    );
    await publishFastLane(
      { ...s.lane, audience: s.ec.id },
      { ...exportsItem, id: "orders", match: { path: "/api/orders/**" } },
    );
    await publishFastLane(s.lane, exportsItem);
    await s.status();
    expect(await s.status()).toBe(503);
    expect(await s.status("/api/orders/1")).toBe(200);
  });

  it("stops enforcing an entry when it expires", async () => {
    const s = await setup({ containment: rulesWith() });
    await publishFastLane({ ...s.lane, ttlMs: 60_000 }, exportsItem);
    await s.status();
    expect(await s.status()).toBe(503);
    s.clock.now += 60_001;
    await s.status();
    expect(await s.status()).toBe(200);
  });

  it("ignores and reports, once each, an unsigned entry and one signed with another key", async () => {
    const s = await setup({ containment: rulesWith() });
    const other = await generateFastLaneKeys();
    await publishFastLane({ ...s.lane, signingKey: other.privateJwk }, exportsItem);
    const exp = s.clock.now + 60_000;
    await redis.io.hset(
      `${s.prefix}fastlane`,
      "orders",
      JSON.stringify({ item: { id: "orders", match: { path: "/api/**" } }, version: 1, exp }),
    );
    for (let i = 0; i < 3; i++) expect(await s.status()).toBe(200);
    expect(await s.status("/api/orders")).toBe(200);
    const faults = s.reports
      .filter((r) => r.event === "fastlane-invalid")
      .map((r) => `${r.detail.id}:${r.detail.fault}`);
    expect(faults.sort()).toEqual(["exports:bad-signature", "orders:unsigned"]);
  });

  it("skips a published key that does not import: the entry verifies with the other key, and with none is no-key", async () => {
    // 3 bytes, where an Ed25519 public key has 32: WebCrypto refuses to import it.
    const broken = { kty: "OKP", crv: "Ed25519", x: "AAAA" };
    const rotating = await setup({
      containment: rulesWith(),
      containment_fastlane_key: { keys: [broken, keys.publicJwk] } as Json,
    });
    await publishFastLane(rotating.lane, exportsItem);
    await rotating.status();
    expect(await rotating.status()).toBe(503);

    const s = await setup({ containment: rulesWith(), containment_fastlane_key: broken });
    await publishFastLane(s.lane, exportsItem);
    await s.status();
    expect(await s.status()).toBe(200);
    expect(s.reports.some((r) => r.event === "fastlane-invalid" && r.detail.fault === "no-key")).toBe(true);
  });

  it("refuses an entry that claims more than five minutes of life", async () => {
    const s = await setup({ containment: rulesWith() });
    await publishFastLane(s.lane, exportsItem);
    s.clock.now -= 10 * 60_000; // the edge's clock: the entry now lies 13 minutes ahead
    await s.status();
    expect(await s.status()).toBe(200);
    expect(s.reports.some((r) => r.event === "fastlane-invalid" && r.detail.fault === "ttl-too-long")).toBe(
      true,
    );
  });

  it("keeps Edge Config's kill switches in force when Redis is down", async () => {
    const own = await startRedisFixture();
    const ec = await startEdgeConfigServer({
      items: { containment: rulesWith(), containment_kill_exports: exportsItem },
    });
    servers.push(ec);
    const containment = createContainment({
      edgeConfig: ec.connectionString,
      fallbackRules: rulesWith(),
      refreshMs: 0,
      redis: own.connection,
      mirror: false,
      onReport: () => {},
    });
    await own.server.stop();
    const decide = async () => {
      const pending: Promise<unknown>[] = [];
      const r = await containment.decide(new Request(`https://app.example.com${EXPORT}`), {
        waitUntil: (p) => void pending.push(p),
      });
      await Promise.allSettled(pending);
      return r.response?.status;
    };
    expect(await decide()).toBe(503);
    expect(await decide()).toBe(503);
    await own.close();
  });

  it("applies lane switches on a cold start with Edge Config down, verified with the deployment's public key", async () => {
    const s = await setup({ containment: rulesWith() });
    await publishFastLane(s.lane, exportsItem);
    s.ec.setDown(true);
    const cold = createContainment({
      edgeConfig: s.ec.connectionString,
      fallbackRules: rulesWith(),
      edgeConfigTimeoutMs: 200,
      redis: redis.connection,
      redisPrefix: s.prefix,
      mirror: false,
      now: () => s.clock.now,
      fastLane: { publicKey: keys.publicJwk, timeoutMs: 5_000 },
      onReport: () => {},
    });
    const first = await cold.decide(new Request(`https://app.example.com${EXPORT}`));
    expect(first.response?.status).toBe(503);
    expect(cold.status()).toMatchObject({ source: "fallback", fast: ["exports@1"] });
  });

  it("is off without Redis: Edge Config alone enforces", async () => {
    const ec = await startEdgeConfigServer({
      items: { containment: rulesWith(), containment_kill_exports: exportsItem },
    });
    servers.push(ec);
    const containment = createContainment({
      edgeConfig: ec.connectionString,
      refreshMs: 0,
      env: {},
      onReport: () => {},
    });
    expect((await containment.decide(new Request(`https://app.example.com${EXPORT}`))).response?.status).toBe(
      503,
    );
    expect(containment.status().fast).toEqual([]);
  });
});
