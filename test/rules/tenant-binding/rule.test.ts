/**
 * The tenant-binding rule through the real firewall in Node, asserting the precise reason of each
 * decision (what the mirror records). The shared suite (test/shared) proves the same behaviour at
 * the HTTP level in Node and workerd.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContainment } from "../../../src/engine/firewall.js";
import type { ContainmentOptions } from "../../../src/engine/options.js";
import { type JwksServer, startJwksServer } from "../../support/jwks-server.js";
import {
  AUDIENCE,
  claims,
  hmacSigned,
  ISSUER,
  mint,
  mintHs,
  type SigningKey,
  signingKey,
  unsigned,
} from "../../support/jwt.js";

const SECRET = "s".repeat(40);
let jwks: JwksServer;
let rsa: SigningKey;
let ec: SigningKey;
let stranger: SigningKey;

beforeAll(async () => {
  [rsa, ec, stranger] = await Promise.all([
    signingKey("rsa-1"),
    signingKey("ec-1", "ES256"),
    signingKey("rsa-1"),
  ]);
  jwks = await startJwksServer([rsa.jwk, ec.jwk]);
});
afterAll(() => jwks?.close());

function document(extra: Record<string, unknown> = {}) {
  return {
    version: 1,
    tenants: {
      acme: { origins: ["https://acme.example.com"] },
      globex: { origins: ["https://globex.example.com"] },
    },
    rules: [
      {
        id: "bind",
        kind: "tenant-binding",
        match: { path: "/api/:tenant/**" },
        tenant: { from: "path", param: "tenant" },
        token: {
          claim: "org_id",
          jwks: jwks.url("rule"),
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ["RS256", "ES256"],
          maxTokenAge: "1h",
        },
        ...extra,
      },
      {
        id: "bind-hs",
        kind: "tenant-binding",
        match: { path: "/hs/:tenant/**" },
        tenant: { from: "path", param: "tenant" },
        token: { claim: "org.id", secretEnv: "TB_SECRET", algorithms: ["HS256"] },
        failMode: "open",
      },
      {
        id: "bind-hs-closed",
        kind: "tenant-binding",
        match: { path: "/hsc/:tenant/**" },
        tenant: { from: "path", param: "tenant" },
        token: { claim: "org.id", secretEnv: "TB_MISSING", algorithms: ["HS256"] },
      },
    ],
  };
}

function firewall(extra: Record<string, unknown> = {}, options: Partial<ContainmentOptions> = {}) {
  return createContainment({
    rules: document(extra),
    env: { TB_SECRET: SECRET, TB_SHORT: "short" },
    onReport: () => {},
    ...options,
  });
}

const acme = (payload = {}) => claims({ org_id: "acme", ...payload });

async function decide(
  containment: ReturnType<typeof firewall>,
  path: string,
  token?: string,
  init: RequestInit & { origin?: string } = {},
) {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
  if (init.origin !== undefined) headers.set("origin", init.origin);
  return containment.decide(new Request(`https://api.example.com${path}`, { ...init, headers }));
}

describe("tenant binding decisions", () => {
  it("lets a valid RS256 or ES256 token of the path's tenant through and records tenant and user", async () => {
    const fw = firewall();
    for (const key of [rsa, ec]) {
      const { decision, response } = await decide(fw, "/api/acme/patients", await mint(key, acme()));
      expect(response).toBeUndefined();
      expect(decision).toMatchObject({ outcome: "allow", tenant: "acme", user: "user-1" });
    }
  });

  it("records the precise reason of each token failure and answers 401 Unauthorized without details", async () => {
    const fw = firewall();
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string | undefined]> = [
      ["token-missing", undefined],
      ["token-malformed", "not-a-token"],
      ["token-malformed", "eyJhbGciOiJSUzI1NiJ9.!!!.x"],
      ["token-alg-not-allowed", unsigned(acme(), "rsa-1")],
      ["token-alg-not-allowed", hmacSigned(acme(), rsa.pem, "rsa-1")],
      ["token-expired", await mint(rsa, acme({ iat: now - 700, exp: now - 60 }))],
      ["token-expired", await mint(rsa, acme({ iat: now - 7200 }))],
      ["token-not-yet-valid", await mint(rsa, acme({ nbf: now + 600 }))],
      ["token-claim-invalid", await mint(rsa, { iss: ISSUER, aud: AUDIENCE, iat: now, org_id: "acme" })],
      ["token-claim-invalid", await mint(rsa, acme({ aud: "other" }))],
      ["token-claim-invalid", await mint(rsa, acme({ iss: "https://evil.example/" }))],
      ["token-signature-invalid", await mint(stranger, acme())],
      ["jwks-no-matching-key", await mint(rsa, acme(), { kid: "unknown" })],
    ];
    for (const [reason, token] of cases) {
      const { decision, response } = await decide(fw, "/api/acme/x", token);
      expect({ reason: decision.reason, status: response?.status }, reason).toEqual({ reason, status: 401 });
      expect(await response?.json()).toEqual({
        error: "Unauthorized.",
        rule: "bind",
        requestId: decision.requestId,
      });
      expect(response?.headers.get("www-authenticate")).toBe("Bearer");
      expect(decision).not.toHaveProperty("user");
    }
  });

  it("answers 403 tenant-mismatch for a valid token of another tenant and 403 tenant-unknown for a tenant outside the id alphabet", async () => {
    const fw = firewall();
    const { decision, response } = await decide(fw, "/api/globex/x", await mint(rsa, acme()));
    expect([decision.reason, response?.status]).toEqual(["tenant-mismatch", 403]);
    expect(await response?.json()).toMatchObject({ error: "Forbidden." });
    const weird = await decide(fw, "/api/ac%20me/x", await mint(rsa, claims({ org_id: "ac me" })));
    expect([weird.decision.reason, weird.response?.status]).toEqual(["tenant-unknown", 403]);
  });

  it("checks the origin before any crypto and grants CORS to the allowed origin on success and on 401", async () => {
    const fw = firewall();
    const token = await mint(rsa, acme());
    const bad = await decide(fw, "/api/acme/x", token, { origin: "https://globex.example.com" });
    expect([
      bad.decision.reason,
      bad.response?.status,
      bad.response?.headers.get("access-control-allow-origin"),
    ]).toEqual(["origin-not-allowed", 403, null]);
    const ok = await decide(fw, "/api/acme/x", token, { origin: "https://acme.example.com" });
    expect(ok.response).toBeUndefined();
    expect(ok.headers).toMatchObject({
      "access-control-allow-origin": "https://acme.example.com",
      vary: "Origin",
    });
    const expired = await decide(fw, "/api/acme/x", "a.b.c", { origin: "https://acme.example.com" });
    expect(expired.response?.status).toBe(401);
    expect(expired.response?.headers.get("access-control-allow-origin")).toBe("https://acme.example.com");
    const post = await decide(fw, "/api/acme/x", token, { method: "POST" });
    expect([post.decision.reason, post.response?.status]).toEqual(["origin-missing", 403]);
  });

  it("answers a preflight from the tenant's origin itself with 204 and the exact origin, without a token", async () => {
    const fw = firewall();
    const headers = {
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, x-debug",
    };
    const { response, decision } = await decide(fw, "/api/acme/x", undefined, {
      method: "OPTIONS",
      origin: "https://acme.example.com",
      headers,
    });
    expect(response?.status).toBe(204);
    expect(response?.headers.get("access-control-allow-origin")).toBe("https://acme.example.com");
    expect(response?.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
    expect(response?.headers.get("vary")).toContain("Origin");
    expect(response?.headers.get("access-control-allow-credentials")).toBeNull();
    expect(decision).toMatchObject({ outcome: "allow", rule: "bind", reason: "cors-preflight" });
    const other = await decide(fw, "/api/acme/x", undefined, {
      method: "OPTIONS",
      origin: "https://globex.example.com",
      headers,
    });
    expect([
      other.response?.status,
      other.decision.reason,
      other.response?.headers.get("access-control-allow-origin"),
    ]).toEqual([403, "origin-not-allowed", null]);
  });

  it("verifies HS256 tokens with the secret named by secretEnv, on a nested claim", async () => {
    const fw = firewall();
    const good = await decide(fw, "/hs/acme/x", await mintHs(SECRET, claims({ org: { id: "acme" } })));
    expect(good.decision).toMatchObject({ outcome: "allow", tenant: "acme" });
    const forged = await decide(
      fw,
      "/hs/acme/x",
      await mintHs("t".repeat(40), claims({ org: { id: "acme" } })),
    );
    expect([forged.decision.reason, forged.response?.status]).toEqual(["token-signature-invalid", 401]);
    const flat = await decide(fw, "/hs/acme/x", await mintHs(SECRET, claims({ "org.id": "acme" })));
    expect(flat.decision.reason).toBe("tenant-mismatch");
  });

  it("applies failMode when the secret is missing: closed answers 503, open lets the request through unverified", async () => {
    const fw = firewall();
    const closed = await decide(fw, "/hsc/acme/x", await mintHs(SECRET, claims({ org: { id: "acme" } })));
    expect([closed.decision.outcome, closed.decision.reason, closed.response?.status]).toEqual([
      "error",
      "secret-missing",
      503,
    ]);
    const open = createContainment({ rules: document(), env: {}, onReport: () => {} });
    const passed = await decide(open, "/hs/acme/x", await mintHs(SECRET, claims({ org: { id: "acme" } })));
    expect(passed.response).toBeUndefined();
    expect(passed.decision).toMatchObject({ outcome: "error", failMode: "open", reason: "secret-missing" });
    expect(passed.decision).not.toHaveProperty("user");
  });

  it("treats a secret shorter than 32 bytes as a misconfiguration, not as a key", async () => {
    const rules = document();
    (rules.rules[2] as { token: { secretEnv: string } }).token.secretEnv = "TB_SHORT";
    const fw = createContainment({ rules, env: { TB_SHORT: "short" }, onReport: () => {} });
    const { decision } = await decide(
      fw,
      "/hsc/acme/x",
      await mintHs("short", claims({ org: { id: "acme" } })),
    );
    expect([decision.outcome, decision.reason]).toEqual(["error", "secret-weak"]);
  });

  it("only records in monitor mode: the request goes through and the decision says what would have happened", async () => {
    const fw = firewall({ mode: "monitor" });
    const { decision, response } = await decide(fw, "/api/globex/x", await mint(rsa, acme()));
    expect(response).toBeUndefined();
    expect(decision).toMatchObject({
      outcome: "monitor",
      rule: "bind",
      reason: "tenant-mismatch",
      wouldBe: "block",
      status: 403,
    });
  });

  it("honours typ and clock tolerance", async () => {
    const fw = firewall({
      token: {
        claim: "org_id",
        jwks: jwks.url("rule"),
        algorithms: ["RS256"],
        typ: "at+jwt",
        clockTolerance: "30s",
      },
    });
    const now = Math.floor(Date.now() / 1000);
    expect(
      (await decide(fw, "/api/acme/x", await mint(rsa, acme(), { typ: "at+jwt" }))).response,
    ).toBeUndefined();
    expect((await decide(fw, "/api/acme/x", await mint(rsa, acme(), { typ: "JWT" }))).decision.reason).toBe(
      "token-claim-invalid",
    );
    expect(
      (await decide(fw, "/api/acme/x", await mint(rsa, acme({ exp: now - 10 }), { typ: "at+jwt" }))).response,
    ).toBeUndefined();
    expect(
      (await decide(fw, "/api/acme/x", await mint(rsa, acme({ exp: now - 40 }), { typ: "at+jwt" }))).decision
        .reason,
    ).toBe("token-expired");
  });

  it("records the tenant a refused request addressed, also when it comes from a header", async () => {
    const containment = createContainment({
      rules: {
        version: 1,
        rules: [
          {
            id: "bind-header",
            kind: "tenant-binding",
            match: { path: "/h/**" },
            tenant: { from: "header", name: "x-tenant" },
            token: { claim: "org_id", secretEnv: "TB_SECRET", algorithms: ["HS256"] },
          },
        ],
      },
      env: { TB_SECRET: SECRET },
      onReport: () => {},
    });
    const request = new Request("https://api.example.com/h/x", { headers: { "x-tenant": "globex" } });
    const { decision } = await containment.decide(request);
    expect(decision).toMatchObject({ outcome: "block", reason: "token-missing", tenant: "globex" });
  });
});
