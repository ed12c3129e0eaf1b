import { describe, expect, it } from "vitest";
import { createContainment } from "../../../src/engine/firewall.js";
import { validateDocument } from "../../../src/rules/validate.js";

const token = { claim: "org_id", jwks: "https://id.example.com/jwks.json", algorithms: ["RS256"] };
const rule = {
  id: "bind",
  kind: "tenant-binding",
  match: { path: "/api/:tenant/**" },
  tenant: { from: "path", param: "tenant" },
  token,
};

function issuesOf(overrides: Record<string, unknown>): Array<{ path: string; message: string }> {
  const result = validateDocument({ version: 1, rules: [{ ...rule, ...overrides }] });
  return result.ok ? [] : result.issues;
}

describe("the tenant-binding schema", () => {
  it("accepts a minimal rule, a secret rule and a subdomain rule with origin templates", () => {
    expect(issuesOf({})).toEqual([]);
    expect(
      issuesOf({ token: { claim: "org.id", secretEnv: "TENANT_JWT_SECRET", algorithms: ["HS256"] } }),
    ).toEqual([]);
    expect(
      issuesOf({
        match: { path: "/app/**" },
        tenant: { from: "subdomain", baseDomain: "example.com" },
        token: { ...token, from: "cookie", cookie: "__Host-session" },
        origins: ["https://{tenant}.example.com", "http://localhost:3000"],
        withoutOrigin: ["same-origin"],
        cors: { methods: ["GET", "POST"], headers: ["authorization"], credentials: true, maxAge: 300 },
      }),
    ).toEqual([]);
  });

  it("requires pinned algorithms", () => {
    expect(issuesOf({ token: { claim: "org_id", jwks: token.jwks } })).toContainEqual(
      expect.objectContaining({ path: "$.rules[0].token.algorithms" }),
    );
    expect(issuesOf({ token: { ...token, algorithms: [] } })).toEqual([
      { path: "$.rules[0].token.algorithms", message: "must pin at least one algorithm" },
    ]);
    expect(issuesOf({ token: { ...token, algorithms: ["none"] } })[0]?.path).toBe(
      "$.rules[0].token.algorithms[0]",
    );
  });

  it("requires exactly one key source, each with its own algorithm family", () => {
    expect(issuesOf({ token: { claim: "org_id", algorithms: ["RS256"] } })).toEqual([
      {
        path: "$.rules[0].token.jwks",
        message: "must name exactly one key source: jwks (a URL) or secretEnv",
      },
    ]);
    expect(issuesOf({ token: { ...token, secretEnv: "S" } })[0]?.path).toBe("$.rules[0].token.jwks");
    expect(issuesOf({ token: { ...token, algorithms: ["RS256", "HS256"] } })[0]?.path).toBe(
      "$.rules[0].token.algorithms",
    );
    expect(issuesOf({ token: { claim: "x", secretEnv: "S", algorithms: ["RS256"] } })[0]?.path).toBe(
      "$.rules[0].token.algorithms",
    );
  });

  it("refuses a JWKS over plain http except on loopback, and URLs with credentials", () => {
    expect(issuesOf({ token: { ...token, jwks: "http://id.example.com/jwks.json" } })[0]?.path).toBe(
      "$.rules[0].token.jwks",
    );
    expect(issuesOf({ token: { ...token, jwks: "https://u:p@id.example.com/jwks.json" } })[0]?.path).toBe(
      "$.rules[0].token.jwks",
    );
    expect(issuesOf({ token: { ...token, jwks: "http://127.0.0.1:8080/jwks.json" } })).toEqual([]);
  });

  it("requires a cookie name when the token may come from a cookie", () => {
    expect(issuesOf({ token: { ...token, from: "cookie" } })).toEqual([
      { path: "$.rules[0].token.cookie", message: 'must name the cookie when "from" reads one' },
    ]);
  });

  it("names bad origins, bad Sec-Fetch-Site values and a too-short cooldown by their path", () => {
    expect(issuesOf({ origins: ["https://acme.example.com/"] })[0]?.path).toBe("$.rules[0].origins[0]");
    expect(issuesOf({ origins: ["https://*.example.com"] })[0]?.path).toBe("$.rules[0].origins[0]");
    expect(issuesOf({ origins: ["https://acme.example.com:443"] })).toEqual([
      { path: "$.rules[0].origins[0]", message: "must leave out the default port (browsers never send it)" },
    ]);
    expect(issuesOf({ withoutOrigin: ["cross-origin"] })[0]?.path).toBe("$.rules[0].withoutOrigin[0]");
    expect(issuesOf({ token: { ...token, jwksCooldown: "10ms" } })).toEqual([
      { path: "$.rules[0].token.jwksCooldown", message: "must be at least 1s" },
    ]);
    expect(issuesOf({ token: { ...token, maxBytes: 10 } })[0]?.path).toBe("$.rules[0].token.maxBytes");
  });

  it("refuses a rule whose path patterns do not all capture the tenant parameter, naming the field", () => {
    const rules = {
      version: 1,
      rules: [
        { id: "k", kind: "kill-switch", match: { path: "/x" } },
        { ...rule, match: { path: ["/api/:tenant/**", "/v2/:org/**"] } },
      ],
    };
    expect(() => createContainment({ rules, onReport: () => {} })).toThrow(
      /\$\.rules\[1\]\.tenant\.param: must be captured by every pattern of match\.path: "\/v2\/:org\/\*\*" has no :tenant/,
    );
  });
});
