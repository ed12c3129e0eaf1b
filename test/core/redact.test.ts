import { describe, expect, it } from "vitest";
import { redactPath, redactSecrets, secretsOf } from "../../src/core/redact.js";

describe("path redaction for evidence", () => {
  it("replaces identifier-like segments and keeps route words", () => {
    expect(redactPath(["api", "patients", "12345", "export"])).toBe("/api/patients/:id/export");
    expect(redactPath(["users", "jane@example.com"])).toBe("/users/:id");
    expect(redactPath(["docs", "3f2504e0-4f89-11d3-9a0c-0305e82c3301"])).toBe("/docs/:id");
    expect(redactPath(["blobs", "deadbeefcafe"])).toBe("/blobs/:id");
    expect(redactPath(["t", "a".repeat(33)])).toBe("/t/:id");
    expect(redactPath(["mrn", "AB123456"])).toBe("/mrn/:id");
  });

  it("keeps ordinary words, versions and short hex-looking words", () => {
    expect(redactPath(["api", "v1", "acme", "export"])).toBe("/api/v1/acme/export");
    expect(redactPath(["facade", "beef"])).toBe("/facade/beef");
    expect(redactPath([])).toBe("/");
  });

  it("replaces a segment still percent-encoded after the one decode (a double-encoded e-mail)", () => {
    expect(redactPath(["api", "jane%40example.com", "export"])).toBe("/api/:id/export");
    expect(redactPath(["api", "a%2Fb"])).toBe("/api/:id");
  });
});

describe("secret redaction in messages", () => {
  it("masks a URL's password and keeps the ACL user name, host and port", () => {
    expect(redactSecrets("cannot reach redis://containment-responder:hunter22@10.0.0.5:6379/0")).toBe(
      "cannot reach redis://containment-responder:***@10.0.0.5:6379/0",
    );
    expect(redactSecrets("rediss://:only-password@cache.example:6380")).toBe(
      "rediss://:***@cache.example:6380",
    );
    // A password with an unencoded @ is masked whole, not up to its first @.
    expect(redactSecrets("redis://ops:p@ss@host:6379")).toBe("redis://ops:***@host:6379");
  });

  it("masks a lone userinfo (a token in the user part), in any scheme", () => {
    expect(redactSecrets("https://AbC123token@proxy.example/x")).toBe("https://***@proxy.example/x");
  });

  it("masks credential query parameters, Bearer/Basic values and credential JSON fields", () => {
    expect(redactSecrets("http://127.0.0.1:4111/ecfg_local?token=s3cr3t-read&version=1")).toBe(
      "http://127.0.0.1:4111/ecfg_local?token=***&version=1",
    );
    expect(redactSecrets("GET /x?teamId=team_1&access_token=abc")).toBe(
      "GET /x?teamId=team_1&access_token=***",
    );
    expect(redactSecrets("authorization: Bearer vercel_abc.def")).toBe("authorization: Bearer ***");
    expect(redactSecrets("Authorization: Basic dXNlcjpwYXNzd29yZA==")).toBe("Authorization: Basic ***");
    expect(redactSecrets("the Basic plan")).toBe("the Basic plan");
    expect(redactSecrets('{"url":"http://x","token":"t0ps3cret"}')).toBe('{"url":"http://x","token":"***"}');
  });

  it("masks every occurrence of a known secret, raw or URL-encoded, and ignores very short ones", () => {
    const known = ["vercel-token-1", "p@ss/w:rd", "abc"];
    expect(redactSecrets("token vercel-token-1 refused; was vercel-token-1", known)).toBe(
      "token *** refused; was ***",
    );
    expect(redactSecrets('got "redis://u:p%40ss%2Fw%3Ard@h"', known)).toBe('got "redis://u:***@h"');
    expect(redactSecrets("abc stays", known)).toBe("abc stays");
  });

  it("leaves ordinary messages alone", () => {
    const line =
      "edge-containment: the kill switch exports (v3) is active at https://api.vercel.com/v1/edge-config";
    expect(redactSecrets(line)).toBe(line);
  });

  it("finds the secret parts of configured values", () => {
    expect(secretsOf("redis://ops:hunter22@h:6379")).toEqual(["hunter22"]);
    expect(secretsOf("redis://p%40ss@h")).toEqual(["p@ss"]);
    expect(secretsOf("https://edge-config.vercel.com/ecfg_1?token=read-tok")).toEqual(["read-tok"]);
    expect(secretsOf("https://api.vercel.com")).toEqual([]);
    expect(secretsOf("not a url: token")).toEqual(["not a url: token"]);
    expect(secretsOf(undefined)).toEqual([]);
  });
});
