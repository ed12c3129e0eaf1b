import { Redis } from "@upstash/redis";
import { importJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FastLaneAuditEntry,
  type FastLaneContext,
  generateFastLaneKeys,
  publishFastLane,
  withdrawFastLane,
} from "../../src/ops/fastlane.js";
import { verifyFastLaneEntry } from "../../src/sources/fastlane.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";

let redis: RedisFixture;
beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
});

const item = { id: "exports", version: 3, match: { path: "/api/patients/*/export" }, reason: "INC-7" };
const AUDIENCE = "ecfg_prod";

async function context(extra: Partial<FastLaneContext> = {}) {
  const keys = await generateFastLaneKeys();
  const audits: FastLaneAuditEntry[] = [];
  const client = new Redis({
    url: redis.connection.url,
    token: redis.connection.token,
    retry: { retries: 0 },
  });
  const ctx: FastLaneContext = {
    redis: client,
    audience: AUDIENCE,
    prefix: `t${Math.random().toString(36).slice(2)}:`,
    signingKey: keys.privateJwk,
    now: () => 1_000_000,
    audit: (entry) => {
      audits.push(entry);
    },
    ...extra,
  };
  const publicKey = (await importJWK(keys.publicJwk, "EdDSA")) as CryptoKey;
  return { ctx, audits, publicKey, keys };
}

describe("the fast-lane publisher (real Redis behind the Upstash bridge)", () => {
  it("writes a signed entry the edge verifies with the public key, and audits the publish once", async () => {
    const { ctx, audits, publicKey } = await context();
    const published = await publishFastLane(ctx, item);
    expect(published).toMatchObject({ id: "exports", version: 3, exp: 1_000_000 + 180_000 });
    const raw = await redis.io.hget(`${ctx.prefix}fastlane`, "exports");
    const verified = await verifyFastLaneEntry("exports", raw, [publicKey], 1_000_000, AUDIENCE);
    expect(verified.ok && verified.value?.spec.match.path).toBe("/api/patients/*/export");
    expect(verified.ok && verified.value?.version).toBe(3);
    // Signed for this deployment only: another audience's isolate ignores it.
    expect(await verifyFastLaneEntry("exports", raw, [publicKey], 1_000_000, "ecfg_preview")).toEqual({
      ok: false,
      fault: "wrong-audience",
    });
    expect(audits).toEqual([
      {
        action: "fastlane-publish",
        key: `${ctx.prefix}fastlane:exports`,
        before: null,
        after: { id: "exports", version: 3, exp: 1_180_000 },
      },
    ]);
    expect(await redis.io.pttl(`${ctx.prefix}fastlane`)).toBeGreaterThan(180_000);
  });

  it("refuses a verification with another key as a bad signature", async () => {
    const { ctx } = await context();
    await publishFastLane(ctx, item);
    const other = await generateFastLaneKeys();
    const wrong = (await importJWK(other.publicJwk, "EdDSA")) as CryptoKey;
    const raw = await redis.io.hget(`${ctx.prefix}fastlane`, "exports");
    expect(await verifyFastLaneEntry("exports", raw, [wrong], 1_000_000, AUDIENCE)).toEqual({
      ok: false,
      fault: "bad-signature",
    });
  });

  it("caps the lifetime at five minutes and prunes expired entries on the next publish", async () => {
    let now = 1_000_000;
    const { ctx } = await context({ ttlMs: 60 * 60_000, now: () => now });
    const first = await publishFastLane(ctx, { ...item, id: "old" });
    expect(first.exp - now).toBe(5 * 60_000);
    now += 6 * 60_000;
    await publishFastLane(ctx, item);
    expect(Object.keys(await redis.io.hgetall(`${ctx.prefix}fastlane`))).toEqual(["exports"]);
  });

  it("withdraws an entry on lift with a signed withdrawal of its version, audits it, and answers false when there was none", async () => {
    const { ctx, audits, publicKey } = await context();
    await publishFastLane(ctx, item);
    expect(await withdrawFastLane(ctx, "exports", 3)).toBe(true);
    const raw = await redis.io.hget(`${ctx.prefix}fastlane`, "exports");
    expect(await verifyFastLaneEntry("exports", raw, [publicKey], 1_000_000, AUDIENCE)).toEqual({
      ok: true,
      withdrawal: { id: "exports", version: 3, exp: 1_000_000 + 5 * 60_000 },
    });
    expect(await withdrawFastLane(ctx, "exports")).toBe(false);
    expect(audits.map((a) => a.action)).toEqual(["fastlane-publish", "fastlane-withdraw"]);
    expect(audits[1]?.after).toEqual({ id: "exports", version: 3, exp: 1_300_000 });
  });

  it("rejects an id that is not an Edge Config key suffix, writing nothing", async () => {
    const { ctx, audits } = await context();
    await expect(publishFastLane(ctx, { ...item, id: "a b" })).rejects.toThrow(/needs an id/);
    expect(await redis.io.exists(`${ctx.prefix}fastlane`)).toBe(0);
    expect(audits).toEqual([]);
  });
});
