/**
 * The JWKS cache against a real key-set server: rotation, kid floods, sharing across recompiles,
 * and a slow or unreachable endpoint. The firewall's clock is injected so cooldowns are exact;
 * each test uses its own key-set URL (its own cache entry) and counts fetches at the server.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContainment } from "../../../src/engine/firewall.js";
import { clearJwksCache, FAILURE_BACKOFF_MS, jwksCacheSize } from "../../../src/rules/tenant-binding/jwks.js";
import { type JwksServer, startJwksServer, unreachableUrl } from "../../support/jwks-server.js";
import { claims, mint, type SigningKey, signingKey } from "../../support/jwt.js";

const T0 = Date.parse("2026-11-23T19:00:00Z");
let server: JwksServer;
let rsa1: SigningKey;
let rsa2: SigningKey;
let ec1: SigningKey;

beforeAll(async () => {
  [rsa1, rsa2, ec1] = await Promise.all([
    signingKey("rsa-1"),
    signingKey("rsa-2"),
    signingKey("ec-1", "ES256"),
  ]);
  server = await startJwksServer([rsa1.jwk, ec1.jwk]);
});
afterAll(() => server?.close());

interface Setup {
  jwks: string;
  failMode?: "open" | "closed";
  timeoutMs?: number;
  cooldown?: string;
  maxAge?: string;
}

function firewall(setup: Setup, clock: { now: number }) {
  const rules = {
    version: 1,
    rules: [
      {
        id: "bind",
        kind: "tenant-binding",
        match: { path: "/api/:tenant/**" },
        tenant: { from: "path", param: "tenant" },
        token: {
          claim: "org_id",
          jwks: setup.jwks,
          algorithms: ["RS256", "ES256"],
          ...(setup.cooldown ? { jwksCooldown: setup.cooldown } : {}),
          ...(setup.maxAge ? { jwksMaxAge: setup.maxAge } : {}),
        },
        ...(setup.failMode ? { failMode: setup.failMode } : {}),
        ...(setup.timeoutMs ? { timeoutMs: setup.timeoutMs } : {}),
      },
    ],
  };
  return createContainment({ rules, now: () => clock.now, onReport: () => {} });
}

function token(key: SigningKey, clock: { now: number }, kid?: string): Promise<string> {
  return mint(key, claims({ org_id: "acme" }, clock.now), kid === undefined ? {} : { kid });
}

async function call(fw: ReturnType<typeof firewall>, jwt: string) {
  return fw.decide(
    new Request("https://api.example.com/api/acme/x", { headers: { authorization: `Bearer ${jwt}` } }),
  );
}

describe("the JWKS cache", () => {
  it("picks up a rotated-in key by its new kid, refetching no sooner than the cooldown allows", async () => {
    server.setKeys([rsa1.jwk, ec1.jwk]);
    const clock = { now: T0 };
    const fw = firewall({ jwks: server.url("rotation"), cooldown: "30s" }, clock);
    expect((await call(fw, await token(rsa1, clock))).response).toBeUndefined();
    expect(server.hits("rotation")).toBe(1);

    server.setKeys([rsa1.jwk, ec1.jwk, rsa2.jwk]);
    clock.now += 5_000;
    // Within the cooldown of the first fetch: the new kid is unknown for now.
    expect((await call(fw, await token(rsa2, clock))).decision.reason).toBe("jwks-no-matching-key");
    expect(server.hits("rotation")).toBe(1);

    clock.now += 25_000;
    expect((await call(fw, await token(rsa2, clock))).decision).toMatchObject({
      outcome: "allow",
      tenant: "acme",
    });
    expect(server.hits("rotation")).toBe(2);
    // The old key still works from the same set, with no further fetch.
    expect((await call(fw, await token(rsa1, clock))).response).toBeUndefined();
    expect(server.hits("rotation")).toBe(2);
  });

  it("lets a flood of 50 unknown kids, concurrent or spread over time, refetch at most once per cooldown", async () => {
    server.setKeys([rsa1.jwk]);
    const clock = { now: T0 };
    const fw = firewall({ jwks: server.url("flood"), cooldown: "30s" }, clock);
    await call(fw, await token(rsa1, clock));
    expect(server.hits("flood")).toBe(1);

    // 50 concurrent unknown kids right after the first fetch: all within the cooldown.
    const flood = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => call(fw, await token(rsa1, clock, `evil-${i}`))),
    );
    expect(
      flood.every((r) => r.decision.reason === "jwks-no-matching-key" && r.response?.status === 401),
    ).toBe(true);
    expect(server.hits("flood")).toBe(1);

    // Past the cooldown, 50 concurrent unknown kids: one refetch, whoever claims the slot first.
    clock.now += 30_000;
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => token(rsa1, clock, `evil-b-${i}`)));
    await Promise.all(tokens.map((t) => call(fw, t)));
    expect(server.hits("flood")).toBe(2);

    // One unknown kid per second for 100 seconds: at most one refetch per 30 s cooldown.
    for (let i = 0; i < 100; i++) {
      clock.now += 1_000;
      await call(fw, await token(rsa1, clock, `evil-c-${i}`));
    }
    expect(server.hits("flood")).toBe(2 + 3);
  });

  it("fetches a cold key set once for 20 concurrent requests, the others waiting for its result", async () => {
    server.setKeys([rsa1.jwk]);
    server.setDelay(100);
    try {
      const clock = { now: T0 };
      const fw = firewall({ jwks: server.url("single-flight") }, clock);
      const results = await Promise.all(
        Array.from({ length: 20 }, async () => call(fw, await token(rsa1, clock))),
      );
      expect(results.map((r) => r.decision.outcome)).toEqual(results.map(() => "allow"));
      expect(server.hits("single-flight")).toBe(1);
    } finally {
      server.setDelay(0);
    }
  });

  it("lets concurrent requests with a newly rotated kid share one refetch, and all of them pass", async () => {
    server.setKeys([rsa1.jwk]);
    const clock = { now: T0 };
    const fw = firewall({ jwks: server.url("rotation-burst"), cooldown: "30s" }, clock);
    await call(fw, await token(rsa1, clock));
    server.setKeys([rsa1.jwk, rsa2.jwk]);
    server.setDelay(100);
    try {
      clock.now += 30_000;
      const tokens = await Promise.all(Array.from({ length: 10 }, () => token(rsa2, clock)));
      const results = await Promise.all(tokens.map((t) => call(fw, t)));
      expect(results.map((r) => r.decision.outcome)).toEqual(results.map(() => "allow"));
      expect(server.hits("rotation-burst")).toBe(2);
    } finally {
      server.setDelay(0);
    }
  });

  it("keeps fetched keys across a rules reload: a recompiled ruleset does not refetch", async () => {
    server.setKeys([rsa1.jwk]);
    const clock = { now: T0 };
    const url = server.url("reload");
    await call(firewall({ jwks: url }, clock), await token(rsa1, clock));
    await call(firewall({ jwks: url }, clock), await token(rsa1, clock));
    await call(firewall({ jwks: url, failMode: "open" }, clock), await token(rsa1, clock));
    expect(server.hits("reload")).toBe(1);
  });

  it("refetches once the keys are older than jwksMaxAge, and then drops a removed key", async () => {
    server.setKeys([rsa1.jwk, rsa2.jwk]);
    const clock = { now: T0 };
    const fw = firewall({ jwks: server.url("maxage"), maxAge: "1m" }, clock);
    expect((await call(fw, await token(rsa2, clock))).response).toBeUndefined();
    server.setKeys([rsa1.jwk]);
    clock.now += 59_000;
    expect((await call(fw, await token(rsa2, clock))).response).toBeUndefined();
    clock.now += 1_000;
    expect((await call(fw, await token(rsa2, clock))).decision.reason).toBe("jwks-no-matching-key");
    expect(server.hits("maxage")).toBe(2);
  });

  it("fails closed with 503 at the deadline when the JWKS is slow, and lets the request through when the rule fails open", async () => {
    server.setKeys([rsa1.jwk]);
    // Far past the 200 ms deadline: without one, the keys would arrive and the token would pass.
    server.setDelay(20_000);
    try {
      const clock = { now: T0 };
      const closed = firewall({ jwks: server.url("slow-closed"), timeoutMs: 200 }, clock);
      const blocked = await call(closed, await token(rsa1, clock));
      expect([blocked.response?.status, blocked.decision.outcome, blocked.decision.reason]).toEqual([
        503,
        "error",
        "jwks-unavailable",
      ]);
      // The key server was asked (so this is its slowness, not a refused connection).
      expect(server.hits("slow-closed")).toBe(1);

      const open = firewall({ jwks: server.url("slow-open"), timeoutMs: 200, failMode: "open" }, clock);
      const passed = await call(open, await token(rsa1, clock));
      expect(passed.response).toBeUndefined();
      expect(passed.decision).toMatchObject({
        outcome: "error",
        failMode: "open",
        reason: "jwks-unavailable",
      });
      expect(passed.decision).not.toHaveProperty("user");
    } finally {
      server.setDelay(0);
    }
  });

  it("fails fast after a failed fetch, without asking again, then recovers once the backoff has passed", async () => {
    const clock = { now: T0 };
    const unreachable = firewall({ jwks: await unreachableUrl() }, clock);
    expect((await call(unreachable, await token(rsa1, clock))).decision.reason).toBe("jwks-unavailable");
    expect((await call(unreachable, await token(rsa1, clock))).response?.status).toBe(503);

    server.setKeys([rsa1.jwk]);
    server.setFailure(500);
    const broken = firewall({ jwks: server.url("broken") }, clock);
    expect((await call(broken, await token(rsa1, clock))).decision.reason).toBe("jwks-unavailable");
    expect(server.hits("broken")).toBe(1);
    // Within the backoff the next request fails at once: no second fetch, even once the server is back.
    server.setFailure(undefined);
    clock.now += FAILURE_BACKOFF_MS - 1;
    expect((await call(broken, await token(rsa1, clock))).decision.reason).toBe("jwks-unavailable");
    expect(server.hits("broken")).toBe(1);
    clock.now += 1;
    expect((await call(broken, await token(rsa1, clock))).response).toBeUndefined();
    expect(server.hits("broken")).toBe(2);
  });

  it("never turns an unknown kid into a fail-open pass when the refetch it causes fails", async () => {
    server.setKeys([rsa1.jwk]);
    const clock = { now: T0 };
    const fw = firewall({ jwks: server.url("kid-open"), failMode: "open", cooldown: "1s" }, clock);
    await call(fw, await token(rsa1, clock));
    server.setFailure(503);
    try {
      clock.now += 2_000;
      const result = await call(fw, await token(rsa2, clock));
      expect([result.response?.status, result.decision.reason]).toEqual([401, "jwks-no-matching-key"]);
      expect(server.hits("kid-open")).toBe(2);
    } finally {
      server.setFailure(undefined);
    }
  });

  it("holds at most 32 key-set URLs", async () => {
    clearJwksCache();
    const clock = { now: T0 };
    server.setKeys([rsa1.jwk]);
    for (let i = 0; i < 40; i++)
      await call(firewall({ jwks: server.url(`many-${i}`) }, clock), await token(rsa1, clock));
    expect(jwksCacheSize()).toBe(32);
  });
});
