import { describe, expect, it } from "vitest";
import { isPreflight } from "../../../src/core/preflight.js";
import { claimAt, claimMatches, parseClaimPath } from "../../../src/rules/tenant-binding/claim.js";
import {
  answerPreflight,
  compileOriginPolicy,
  grantHeaders,
} from "../../../src/rules/tenant-binding/origin.js";
import { extractToken, type TokenLocation } from "../../../src/rules/tenant-binding/token.js";

const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln";
const OTHER = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIyIn0.c2ln";

function headers(entries: Array<[string, string]>): Headers {
  const out = new Headers();
  for (const [name, value] of entries) out.append(name, value);
  return out;
}

describe("token extraction", () => {
  const bearer: TokenLocation = { from: "authorization", cookie: undefined, maxBytes: 8192 };
  const either: TokenLocation = { from: "authorization-or-cookie", cookie: "session", maxBytes: 8192 };

  it("takes the token of an Authorization: Bearer header, scheme in any case", () => {
    expect(extractToken(headers([["authorization", `Bearer ${JWT}`]]), bearer)).toEqual({
      ok: true,
      token: JWT,
    });
    expect(extractToken(headers([["authorization", `bearer ${JWT}`]]), bearer)).toEqual({
      ok: true,
      token: JWT,
    });
  });

  it("reports a missing token, another scheme or a non-JWT value precisely", () => {
    expect(extractToken(headers([]), bearer)).toEqual({ ok: false, reason: "token-missing" });
    expect(extractToken(headers([["authorization", "Basic dXNlcjpwYXNz"]]), bearer)).toEqual({
      ok: false,
      reason: "token-malformed",
    });
    expect(extractToken(headers([["authorization", "Bearer"]]), bearer)).toEqual({
      ok: false,
      reason: "token-malformed",
    });
    expect(extractToken(headers([["authorization", "Bearer not a jwt"]]), bearer)).toEqual({
      ok: false,
      reason: "token-malformed",
    });
    expect(extractToken(headers([["authorization", `Bearer ${JWT}.extra`]]), bearer)).toEqual({
      ok: false,
      reason: "token-malformed",
    });
  });

  it("rejects two Authorization headers as ambiguous, even when both carry tokens", () => {
    const two = headers([
      ["authorization", `Bearer ${JWT}`],
      ["authorization", `Bearer ${OTHER}`],
    ]);
    expect(extractToken(two, bearer)).toEqual({ ok: false, reason: "token-ambiguous" });
  });

  it("rejects an oversized header by its length alone, before looking at its content", () => {
    // Commas and a foreign scheme would be reported as such if the content were looked at first.
    const huge = headers([["authorization", `Basic ${"a,".repeat(512 * 1024)}`]]);
    expect(extractToken(huge, bearer)).toEqual({ ok: false, reason: "token-too-large" });
    const justOver = `Bearer ${"a".repeat(8193)}`;
    expect(extractToken(headers([["authorization", justOver]]), bearer)).toEqual({
      ok: false,
      reason: "token-too-large",
    });
  });

  it("reads a named cookie among others, quoted or not", () => {
    const cookieOnly: TokenLocation = { from: "cookie", cookie: "session", maxBytes: 8192 };
    expect(extractToken(headers([["cookie", `theme=dark; session=${JWT}; x=1`]]), cookieOnly)).toEqual({
      ok: true,
      token: JWT,
    });
    expect(extractToken(headers([["cookie", `session="${JWT}"`]]), cookieOnly)).toEqual({
      ok: true,
      token: JWT,
    });
    expect(extractToken(headers([["cookie", `xsession=${JWT}`]]), cookieOnly)).toEqual({
      ok: false,
      reason: "token-missing",
    });
    // Cookie-only: an Authorization header is not this rule's token source.
    expect(
      extractToken(
        headers([
          ["authorization", "Basic x"],
          ["cookie", `session=${JWT}`],
        ]),
        cookieOnly,
      ),
    ).toEqual({ ok: true, token: JWT });
  });

  it("rejects a cookie set twice with different values, and a bearer token that differs from the cookie", () => {
    const cookieOnly: TokenLocation = { from: "cookie", cookie: "session", maxBytes: 8192 };
    expect(extractToken(headers([["cookie", `session=${JWT}; session=${OTHER}`]]), cookieOnly)).toEqual({
      ok: false,
      reason: "token-ambiguous",
    });
    expect(extractToken(headers([["cookie", `session=${JWT}; session=${JWT}`]]), cookieOnly)).toEqual({
      ok: true,
      token: JWT,
    });
    const both = headers([
      ["authorization", `Bearer ${JWT}`],
      ["cookie", `session=${OTHER}`],
    ]);
    expect(extractToken(both, either)).toEqual({ ok: false, reason: "token-ambiguous" });
    const same = headers([
      ["authorization", `Bearer ${JWT}`],
      ["cookie", `session=${JWT}`],
    ]);
    expect(extractToken(same, either)).toEqual({ ok: true, token: JWT });
  });

  it("ignores cookies when the rule reads only the Authorization header", () => {
    expect(extractToken(headers([["cookie", `session=${JWT}`]]), bearer)).toEqual({
      ok: false,
      reason: "token-missing",
    });
  });
});

describe("claim match", () => {
  it("follows dotted paths through own properties of plain objects only", () => {
    const payload = JSON.parse('{"org":{"id":"acme"},"list":["acme"],"__proto__":{"polluted":"acme"}}');
    expect(claimAt(payload, parseClaimPath("org.id"))).toBe("acme");
    expect(claimAt(payload, parseClaimPath("org.missing"))).toBeUndefined();
    expect(claimAt(payload, parseClaimPath("list.0"))).toBeUndefined();
    expect(claimAt(payload, parseClaimPath("constructor"))).toBeUndefined();
    expect(claimAt(payload, parseClaimPath("polluted"))).toBeUndefined();
    expect(claimAt({ "https://example.com/org": "acme" }, parseClaimPath(["https://example.com/org"]))).toBe(
      "acme",
    );
  });

  it("matches only the identical string: no array, number, case, whitespace, zero-width, normalization or look-alike", () => {
    expect(claimMatches("acme", "acme")).toBe(true);
    for (const value of [
      ["acme"],
      1,
      null,
      undefined,
      {},
      "ACME",
      "Acme",
      "acme ",
      " acme",
      "acme\u200b",
      "\u200bacme",
      "аcme",
      "acmе",
      "acme\n",
    ]) {
      expect(claimMatches(value, "acme"), JSON.stringify(value)).toBe(false);
    }
    // é as one code point (NFC) and as e + combining accent (NFD) are different strings here.
    expect(claimMatches("caf\u00e9", "cafe\u0301")).toBe(false);
    // NFKC would fold the fullwidth letters into "acme".
    expect(claimMatches("ａｃｍｅ", "acme")).toBe(false);
  });
});

describe("origin policy", () => {
  const policy = compileOriginPolicy({
    mode: "required-for-unsafe-methods",
    tenantOrigins: {
      acme: { origins: ["https://acme.example.com"] },
      globex: { origins: ["https://globex.example.com"] },
    },
    templates: ["https://{tenant}.app.example.com", "https://admin.example.com"],
    withoutOrigin: ["same-origin", "none"],
  });
  const check = (tenant: string, methods: string[], entries: Array<[string, string]>) =>
    policy.check(tenant, methods, headers(entries));

  it("allows the tenant's own origins, its template origin and shared origins, exactly", () => {
    expect(check("acme", ["POST"], [["origin", "https://acme.example.com"]])).toEqual({
      ok: true,
      origin: "https://acme.example.com",
    });
    expect(check("acme", ["POST"], [["origin", "https://acme.app.example.com"]])).toEqual({
      ok: true,
      origin: "https://acme.app.example.com",
    });
    expect(check("acme", ["POST"], [["origin", "https://admin.example.com"]])).toEqual({
      ok: true,
      origin: "https://admin.example.com",
    });
  });

  it("refuses other tenants' origins, look-alikes, other schemes and ports, null and duplicated headers", () => {
    const refused = [
      "https://globex.example.com",
      "https://globex.app.example.com",
      "https://acme.example.com.evil.com",
      "https://evil-acme.example.com",
      "http://acme.example.com",
      "https://acme.example.com:8443",
      "https://acme.example.com:443",
      "https://acme.example.com/",
      "https://ACME.example.com",
      "null",
      "https://acme.example.com, https://acme.example.com",
    ];
    for (const origin of refused)
      expect(check("acme", ["GET"], [["origin", origin]]), origin).toEqual({
        ok: false,
        reason: "origin-not-allowed",
      });
    const duplicated = headers([
      ["origin", "https://acme.example.com"],
      ["origin", "https://acme.example.com"],
    ]);
    expect(policy.check("acme", ["GET"], duplicated)).toEqual({ ok: false, reason: "origin-not-allowed" });
  });

  it("never substitutes a tenant id that is not one DNS label into a template", () => {
    expect(policy.allows("a.b", "https://a.b.app.example.com")).toBe(false);
    expect(policy.allows("Acme", "https://Acme.app.example.com")).toBe(false);
  });

  it("lets safe requests without Origin through when same-origin, user-initiated or from a non-browser client", () => {
    expect(check("acme", ["GET"], [])).toEqual({ ok: true });
    expect(check("acme", ["HEAD", "GET"], [["sec-fetch-site", "same-origin"]])).toEqual({ ok: true });
    expect(check("acme", ["GET"], [["sec-fetch-site", "none"]])).toEqual({ ok: true });
  });

  it("lets a cross-site top-level navigation without Origin through, but not a cross-site image or iframe", () => {
    const site: [string, string] = ["sec-fetch-site", "cross-site"];
    expect(
      check("acme", ["GET"], [site, ["sec-fetch-mode", "navigate"], ["sec-fetch-dest", "document"]]),
    ).toEqual({ ok: true });
    expect(
      check("acme", ["GET"], [site, ["sec-fetch-mode", "navigate"], ["sec-fetch-dest", "iframe"]]),
    ).toEqual({ ok: false, reason: "origin-missing" });
    expect(
      check("acme", ["GET"], [site, ["sec-fetch-mode", "no-cors"], ["sec-fetch-dest", "image"]]),
    ).toEqual({ ok: false, reason: "origin-missing" });
    expect(
      check("acme", ["POST"], [site, ["sec-fetch-mode", "navigate"], ["sec-fetch-dest", "document"]]),
    ).toEqual({ ok: false, reason: "origin-missing" });
  });

  it("refuses safe requests without Origin that a browser marks same-site or cross-site", () => {
    expect(check("acme", ["GET"], [["sec-fetch-site", "cross-site"]])).toEqual({
      ok: false,
      reason: "origin-missing",
    });
    expect(check("acme", ["GET"], [["sec-fetch-site", "same-site"]])).toEqual({
      ok: false,
      reason: "origin-missing",
    });
  });

  it("requires Origin on unsafe methods, including a GET that overrides its method", () => {
    expect(check("acme", ["POST"], [])).toEqual({ ok: false, reason: "origin-missing" });
    expect(check("acme", ["GET", "DELETE"], [])).toEqual({ ok: false, reason: "origin-missing" });
  });

  it("requires Origin always in required mode and checks nothing in off mode", () => {
    const required = compileOriginPolicy({
      mode: "required",
      tenantOrigins: undefined,
      templates: ["https://{tenant}.example.com"],
      withoutOrigin: ["same-origin"],
    });
    expect(required.check("acme", ["GET"], headers([]))).toEqual({ ok: false, reason: "origin-missing" });
    expect(required.check("acme", ["GET"], headers([["origin", "https://acme.example.com"]]))).toEqual({
      ok: true,
      origin: "https://acme.example.com",
    });
    const off = compileOriginPolicy({
      mode: "off",
      tenantOrigins: undefined,
      templates: [],
      withoutOrigin: [],
    });
    expect(off.check("acme", ["POST"], headers([["origin", "https://evil.com"]]))).toEqual({ ok: true });
  });
});

describe("CORS answers", () => {
  const cors = {
    methods: ["GET", "POST"],
    headers: ["authorization", "content-type"],
    credentials: true,
    maxAge: 600,
  };

  it("recognises a preflight only as OPTIONS with Origin and Access-Control-Request-Method", () => {
    expect(
      isPreflight(
        "OPTIONS",
        headers([
          ["origin", "https://a"],
          ["access-control-request-method", "POST"],
        ]),
      ),
    ).toBe(true);
    expect(isPreflight("OPTIONS", headers([["origin", "https://a"]]))).toBe(false);
    expect(
      isPreflight(
        "POST",
        headers([
          ["origin", "https://a"],
          ["access-control-request-method", "POST"],
        ]),
      ),
    ).toBe(false);
  });

  it("grants the exact origin, listed methods and only the configured requested headers, never *", () => {
    const answer = answerPreflight(
      "https://acme.example.com",
      headers([
        ["access-control-request-method", "POST"],
        ["access-control-request-headers", "Authorization, X-Evil, content-type"],
      ]),
      cors,
    );
    expect(answer).toEqual({
      ok: true,
      headers: {
        "access-control-allow-origin": "https://acme.example.com",
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": "authorization, content-type",
        "access-control-allow-credentials": "true",
        "access-control-max-age": "600",
        vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        "cache-control": "no-store",
      },
    });
    expect(JSON.stringify(answer)).not.toContain("*");
  });

  it("refuses a preflight for a method the rule does not allow", () => {
    expect(
      answerPreflight("https://a", headers([["access-control-request-method", "DELETE"]]), cors),
    ).toEqual({ ok: false, reason: "cors-method-not-allowed" });
  });

  it("adds credentials to actual-request grants only when configured", () => {
    expect(grantHeaders("https://a", { ...cors, credentials: false })).toEqual({
      "access-control-allow-origin": "https://a",
      vary: "Origin",
    });
    expect(grantHeaders("https://a", cors)["access-control-allow-credentials"]).toBe("true");
  });
});
