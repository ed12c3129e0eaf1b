/**
 * the same thing validated or decided two ways. Each of these once had two (or three)
 * definitions that disagreed; now each has one, and these tests hold the places that use it to the
 * same answer.
 */
import { describe, expect, it } from "vitest";
import { createContainment } from "../../src/engine/firewall.js";
import { validateDocument } from "../../src/rules/validate.js";
import { memoryStore } from "../../src/stores/memory.js";

const bindingRule = (origins: string[]) => ({
  id: "bind",
  kind: "tenant-binding",
  match: { path: "/api/:tenant/**" },
  tenant: { from: "path", param: "tenant" },
  token: { claim: "org_id", jwks: "https://id.example.com/jwks.json", algorithms: ["RS256"] },
  origins,
});

function faults(document: unknown): string[] {
  const result = validateDocument(document);
  return result.ok ? [] : result.issues.map((issue) => `${issue.path}: ${issue.message}`);
}

describe("one definition each", () => {
  it("refuses an origin with a default port alike in the document's tenants and in a rule's origins", () => {
    for (const origin of ["https://acme.example.com:443", "http://acme.example.com:80"]) {
      const atDocument = faults({ version: 1, tenants: { acme: { origins: [origin] } }, rules: [] });
      const atRule = faults({ version: 1, rules: [bindingRule([origin])] });
      expect(atDocument).toEqual([
        "$.tenants.acme.origins[0]: must leave out the default port (browsers never send it)",
      ]);
      expect(atRule).toEqual([
        "$.rules[0].origins[0]: must leave out the default port (browsers never send it)",
      ]);
    }
  });

  it("accepts the same origins in both places: other ports, {tenant} labels, IPv6 literals", () => {
    for (const origin of [
      "https://acme.example.com:8443",
      "https://{tenant}.example.com",
      "http://[::1]:3000",
    ]) {
      expect(faults({ version: 1, tenants: { acme: { origins: [origin] } }, rules: [] })).toEqual([]);
      expect(faults({ version: 1, rules: [bindingRule([origin])] })).toEqual([]);
    }
    for (const origin of [
      "https://acme.example.com/",
      "https://ACME.example.com",
      "https://acme..example.com",
    ]) {
      expect(faults({ version: 1, tenants: { acme: { origins: [origin] } }, rules: [] })).not.toEqual([]);
      expect(faults({ version: 1, rules: [bindingRule([origin])] })).not.toEqual([]);
    }
  });

  it("takes one header-name syntax in a headers rule, in CORS headers and in the document's tenancy", () => {
    const name = "x-tenant_id";
    expect(
      faults({
        version: 1,
        tenancy: { from: "header", name },
        rules: [
          { id: "h", kind: "headers", match: { path: "/a" }, set: { [name]: "1" } },
          { ...bindingRule([]), cors: { headers: [name] } },
        ],
      }),
    ).toEqual([]);
    const upper = "X-Tenant";
    expect(
      faults({
        version: 1,
        tenancy: { from: "header", name: upper },
        rules: [
          { id: "h", kind: "headers", match: { path: "/a" }, set: { [upper]: "1" } },
          { ...bindingRule([]), cors: { headers: [upper] } },
        ],
      }),
    ).toHaveLength(3);
  });

  it("takes one method syntax in a match and in CORS methods", () => {
    const document = (method: string) => ({
      version: 1,
      rules: [
        {
          ...bindingRule([]),
          match: { path: "/api/:tenant/**", methods: [method] },
          cors: { methods: [method] },
        },
      ],
    });
    expect(faults(document("PROPFIND"))).toEqual([]);
    expect(faults(document("get"))).toHaveLength(2);
  });

  it("counts an OPTIONS without Origin against a rate limit, as tenant binding also treats it as no preflight", async () => {
    const containment = createContainment({
      rules: {
        version: 1,
        rules: [
          {
            id: "limit",
            kind: "rate-limit",
            match: { path: "/api/**" },
            limit: 1,
            window: "1h",
            by: ["route"],
          },
        ],
      },
      redis: memoryStore(),
      mirror: false,
      now: () => 1_800_000_000_000,
      onReport: () => {},
    });
    const options = (headers: Record<string, string>) =>
      containment.decide(new Request("https://app.example.com/api/x", { method: "OPTIONS", headers }));
    const acrm = { "access-control-request-method": "POST" };
    // Real preflights (with Origin) never spend quota, however many there are.
    for (let i = 0; i < 3; i++)
      expect((await options({ ...acrm, origin: "https://app.example.com" })).decision.outcome).toBe("allow");
    // Without Origin it is an ordinary request: the first spends the quota, the second is limited.
    expect((await options(acrm)).decision.outcome).toBe("allow");
    expect((await options(acrm)).decision.outcome).toBe("rate-limited");
  });
});
