import { describe, expect, it } from "vitest";
import { redactPath } from "../../src/core/redact.js";

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
