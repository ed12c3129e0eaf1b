import { describe, expect, it } from "vitest";
import { createContainment } from "../../src/index.js";
import { memoryStore } from "../../src/memory.js";
import type { RulesDocument } from "../../src/rules/document.js";

const silent = () => {};

function firewall(rules: Omit<RulesDocument, "version">, now = () => Date.parse("2026-11-23T19:00:00Z")) {
  return createContainment({ rules: { version: 1, ...rules }, now, onReport: silent });
}

async function decide(containment: ReturnType<typeof firewall>, path: string, init: RequestInit = {}) {
  return containment.decide(new Request(`https://app.example.com${path}`, init));
}

const exportSwitch = {
  id: "exports",
  kind: "kill-switch",
  match: { path: "/api/patients/*/export" },
  incident: "INC-1",
} as const;

describe("the decision engine", () => {
  it("answers a kill switch with 503 JSON that names the rule and incident and nothing internal", async () => {
    const containment = firewall({
      rules: [{ ...exportSwitch, reason: "secret internal reason", retryAfter: 60 }],
    });
    const { response, decision } = await decide(containment, "/api/patients/42/export?ssn=123");
    expect(response?.status).toBe(503);
    expect(response?.headers.get("cache-control")).toBe("no-store");
    expect(response?.headers.get("retry-after")).toBe("60");
    const body = await response?.json();
    expect(Object.keys(body).sort()).toEqual(["error", "incident", "requestId", "rule"]);
    expect(JSON.stringify(body)).not.toContain("secret");
    expect(decision).toMatchObject({
      outcome: "block",
      rule: "exports",
      kind: "kill-switch",
      incident: "INC-1",
    });
    expect(decision.path).toBe("/api/patients/:id/export");
    expect(JSON.stringify(decision)).not.toContain("ssn");
  });

  it("stops enforcing a switch once its expiresAt has passed, without anyone deleting it", async () => {
    let now = Date.parse("2026-11-23T19:59:59Z");
    const containment = firewall(
      { rules: [{ ...exportSwitch, expiresAt: "2026-11-23T20:00:00Z" }] },
      () => now,
    );
    expect((await decide(containment, "/api/patients/1/export")).response?.status).toBe(503);
    now = Date.parse("2026-11-23T20:00:00Z");
    expect((await decide(containment, "/api/patients/1/export")).response).toBeUndefined();
  });

  it("scopes switches by method (HEAD counts as GET), host and tenant", async () => {
    const containment = firewall({
      tenancy: { from: "subdomain", baseDomain: "example.com" },
      rules: [
        { id: "get-only", kind: "kill-switch", match: { path: "/a", methods: ["GET"] } },
        { id: "host-only", kind: "kill-switch", match: { path: "/b", hosts: ["*.example.com"] } },
        { id: "tenant-only", kind: "kill-switch", match: { path: "/c", tenants: ["app"] } },
        { id: "other-tenant", kind: "kill-switch", match: { path: "/d", tenants: ["globex"] } },
      ],
    });
    expect((await decide(containment, "/a", { method: "HEAD" })).decision.rule).toBe("get-only");
    expect((await decide(containment, "/a", { method: "POST" })).response).toBeUndefined();
    expect(
      (await decide(containment, "/a", { method: "POST", headers: { "x-http-method-override": "GET" } }))
        .response?.status,
    ).toBe(503);
    expect((await decide(containment, "/b")).response?.status).toBe(503);
    expect((await decide(containment, "/c")).response?.status).toBe(503);
    expect((await decide(containment, "/d")).response).toBeUndefined();
  });

  it("lets responder networks through kill switches and records the bypass", async () => {
    const containment = createContainment({
      rules: { version: 1, breakGlass: { cidrs: ["198.51.100.0/24"] }, rules: [exportSwitch] },
      env: { VERCEL: "1" },
      onReport: silent,
    });
    const responder = await decide(containment, "/api/patients/1/export", {
      headers: { "x-real-ip": "198.51.100.9" },
    });
    expect(responder.response).toBeUndefined();
    expect(responder.decision).toMatchObject({ outcome: "allow", reason: "break-glass", rule: "exports" });
    const outsider = await decide(containment, "/api/patients/1/export", {
      headers: { "x-real-ip": "192.0.2.1" },
    });
    expect(outsider.response?.status).toBe(503);
  });

  it("honours break-glass only where the runtime vouches for the client address", async () => {
    const rules = { version: 1, breakGlass: { cidrs: ["198.51.100.0/24"] }, rules: [exportSwitch] };
    const request = () =>
      new Request("https://app.example.com/api/patients/1/export", {
        headers: { "x-real-ip": "198.51.100.9" },
      });
    // Outside Vercel, nothing says who set x-real-ip: a client can claim a responder address.
    const outside = createContainment({ rules, env: {}, onReport: silent });
    expect((await outside.decide(request())).response?.status).toBe(503);
    const declared = createContainment({
      rules,
      env: {},
      normalize: { clientIp: { trusted: true } },
      onReport: silent,
    });
    expect((await declared.decide(request())).response).toBeUndefined();
    const overridden = createContainment({
      rules,
      env: { VERCEL: "1" },
      normalize: { clientIp: { trusted: false } },
      onReport: silent,
    });
    expect((await overridden.decide(request())).response?.status).toBe(503);
  });

  it("never trusts X-Forwarded-For for the client address unless configured", async () => {
    const containment = firewall({ breakGlass: { cidrs: ["198.51.100.0/24"] }, rules: [exportSwitch] });
    const spoofed = await decide(containment, "/api/patients/1/export", {
      headers: { "x-forwarded-for": "198.51.100.9" },
    });
    expect(spoofed.response?.status).toBe(503);
  });

  it("decides but does not block in monitor mode, globally and per rule", async () => {
    const global = createContainment({
      rules: { version: 1, mode: "monitor", rules: [exportSwitch] },
      onReport: silent,
    });
    const watched = await decide(global, "/api/patients/1/export");
    expect(watched.response).toBeUndefined();
    expect(watched.decision).toMatchObject({
      outcome: "monitor",
      rule: "exports",
      wouldBe: "block",
      status: 503,
    });
    const perRule = firewall({
      rules: [
        { ...exportSwitch, mode: "monitor" },
        { id: "b", kind: "kill-switch", match: { path: "/b" } },
      ],
    });
    expect((await decide(perRule, "/api/patients/1/export")).response).toBeUndefined();
    expect((await decide(perRule, "/b")).response?.status).toBe(503);
  });

  it("adds headers-rule headers to responses that pass", async () => {
    const containment = firewall({
      rules: [
        {
          id: "no-store",
          kind: "headers",
          match: { path: "/api/patients/**" },
          set: { "cache-control": "private, no-store", "x-phi": "1" },
        },
      ],
    });
    const { response, headers, decision } = await decide(containment, "/api/patients/1");
    expect(response).toBeUndefined();
    expect(headers).toEqual({ "cache-control": "private, no-store", "x-phi": "1" });
    expect(decision).toMatchObject({ outcome: "allow", reason: "passed" });
  });

  it("blocks requests carrying Next.js internal headers (CVE-2025-29927) and bad paths with defined statuses", async () => {
    const containment = firewall({ rules: [] });
    const subrequest = await decide(containment, "/admin", {
      headers: { "x-middleware-subrequest": "middleware:middleware" },
    });
    expect(subrequest.response?.status).toBe(400);
    expect(subrequest.decision).toMatchObject({
      outcome: "block",
      rule: "request-guard",
      reason: "internal-header",
    });
    expect((await decide(containment, "/a%00b")).response?.status).toBe(400);
    expect((await decide(containment, `/${"a/".repeat(5000)}`)).response?.status).toBe(414);
  });

  it("matches correctly among 10,000 rules, where only the trie keeps the cost flat", async () => {
    const rules = Array.from({ length: 10_000 }, (_, i) => ({
      id: `r${i}`,
      kind: "kill-switch" as const,
      match: { path: `/api/v${i}/:x/export` },
    }));
    const containment = firewall({ rules });
    expect((await decide(containment, "/api/v9999/a/export")).decision.rule).toBe("r9999");
    expect((await decide(containment, "/api/v10000/a/export")).response).toBeUndefined();
  });

  it("evaluates rules in phase order: a kill switch wins over a headers rule listed first", async () => {
    const containment = firewall({
      rules: [{ id: "h", kind: "headers", match: { path: "/**" }, set: { "x-a": "1" } }, exportSwitch],
    });
    const { decision, response } = await decide(containment, "/api/patients/1/export");
    expect(decision.rule).toBe("exports");
    // Headers rules style responses that reach the origin; a block keeps its own fixed headers.
    expect(response?.headers.get("x-a")).toBeNull();
  });

  it("refuses to build with an invalid static document, naming the fault", () => {
    expect(() =>
      createContainment({
        rules: { version: 1, rules: [{ id: "x", kind: "kill-switch", match: { path: "x" } }] },
      }),
    ).toThrow(/\$\.rules\[0\]\.match\.path/);
  });

  it("reports the most restrictive of several matching rate limits in the RateLimit headers", async () => {
    for (const order of [
      ["tight", "loose"],
      ["loose", "tight"],
    ]) {
      const limits = { tight: 2, loose: 100 } as const;
      const containment = createContainment({
        rules: {
          version: 1,
          rules: order.map((id) => ({
            id,
            kind: "rate-limit",
            match: { path: "/api/export" },
            limit: limits[id as keyof typeof limits],
            window: "1m",
            by: ["ip"],
          })),
        },
        redis: memoryStore(),
        onReport: silent,
      });
      const { headers } = await decide(containment, "/api/export", { headers: { "x-real-ip": "192.0.2.1" } });
      expect(headers["ratelimit-limit"]).toBe("2");
      expect(headers["ratelimit-remaining"]).toBe("1");
    }
  });

  it("merges Vary from several rules instead of letting the last one overwrite it", async () => {
    const containment = firewall({
      rules: [
        { id: "a", kind: "headers", match: { path: "/x" }, set: { vary: "Origin" } },
        { id: "b", kind: "headers", match: { path: "/x" }, set: { vary: "Accept-Encoding, origin" } },
      ],
    });
    expect((await decide(containment, "/x")).headers.vary).toBe("Origin, Accept-Encoding");
  });

  it("never takes a tenant from the path that a tenant id could not be", async () => {
    const containment = firewall({
      tenancy: { from: "path", param: "tenant", pattern: "/t/:tenant/**" },
      rules: [{ id: "acme-only", kind: "kill-switch", match: { path: "/t/**", tenants: ["acme"] } }],
    });
    expect((await decide(containment, "/t/acme/x")).response?.status).toBe(503);
    const odd = await decide(containment, "/t/ac%20me/x");
    expect(odd.response).toBeUndefined();
    expect(odd.decision.tenant).toBeUndefined();
  });

  it("scopes by tenant through the document's tenancy parameter when a rule's pattern captures it", async () => {
    const containment = firewall({
      tenancy: { from: "path", param: "org" },
      rules: [
        { id: "acme-orgs", kind: "kill-switch", match: { path: "/orgs/:org/export", tenants: ["acme"] } },
      ],
    });
    expect((await decide(containment, "/orgs/acme/export")).response?.status).toBe(503);
    expect((await decide(containment, "/orgs/globex/export")).response).toBeUndefined();
  });

  it("tells tenant-scoped switches on one route apart, whichever tenant is asked first", async () => {
    const rules = ["globex", "acme", "initech"].map((tenant) => ({
      id: `freeze-${tenant}`,
      kind: "kill-switch" as const,
      match: { path: "/api/:tenant/export", tenants: [tenant] },
    }));
    const containment = firewall({ rules });
    for (const tenant of ["initech", "acme", "umbrella", "globex"]) {
      const { decision } = await decide(containment, `/api/${tenant}/export`);
      expect(decision.rule).toBe(tenant === "umbrella" ? undefined : `freeze-${tenant}`);
    }
  });

  it("fails closed when a rule throws or rejects, without the error reaching the client", async () => {
    for (const failure of ["throw", "reject"] as const) {
      const reports: string[] = [];
      const containment = createContainment({
        rules: {
          version: 1,
          rules: [{ id: "h", kind: "headers", match: { path: "/x" }, set: { "x-a": "1" } }],
        },
        onReport: (event) => void reports.push(event),
      });
      const ruleset = await containment.ruleset();
      const rule = ruleset.rules[0] as unknown as { evaluate: () => unknown };
      rule.evaluate =
        failure === "throw"
          ? () => {
              throw new Error("secret stack detail");
            }
          : () => Promise.reject(new Error("secret stack detail"));
      const { response, decision } = await decide(containment, "/x");
      expect(response?.status).toBe(503);
      expect(await response?.text()).not.toContain("secret");
      expect(decision).toMatchObject({
        outcome: "error",
        failMode: "closed",
        reason: "rule-error",
        rule: "h",
      });
      expect(reports).toContain("rule-error");
    }
  });

  it("matches hosts however the Host header spells them: case, port, trailing dot", async () => {
    const containment = firewall({
      rules: [{ id: "app-only", kind: "kill-switch", match: { path: "/x", hosts: ["app.example.com"] } }],
    });
    for (const host of [
      "App.Example.COM",
      "app.example.com:443",
      "app.example.com.",
      "APP.example.com.:8443",
    ]) {
      expect((await decide(containment, "/x", { headers: { host } })).response?.status).toBe(503);
    }
    expect(
      (await decide(containment, "/x", { headers: { host: "app.example.com.evil.net" } })).response,
    ).toBeUndefined();
    const noHeader = await containment.decide(new Request("https://App.Example.com:8443/x"));
    expect(noHeader.response?.status).toBe(503);
  });
});

describe("locale prefixes no option names", () => {
  it("puts a kill switch and a headers rule on the same route under any locale-shaped prefix", async () => {
    const containment = firewall({
      rules: [
        { id: "page", kind: "kill-switch", match: { path: "/dashboard/export" } },
        { id: "private", kind: "headers", match: { path: "/account" }, set: { "cache-control": "no-store" } },
      ],
    });
    for (const path of ["/fr/dashboard/export", "/PT-br/dashboard/%65xport", "/%66r/dashboard/export.rsc"])
      expect((await decide(containment, path)).response?.status, path).toBe(503);
    expect((await decide(containment, "/fr/dashboard")).response).toBeUndefined();
    expect((await decide(containment, "/de-AT/account")).headers["cache-control"]).toBe("no-store");
    // api is no locale: a page rule does not reach API routes of the same name.
    expect((await decide(containment, "/api/dashboard/export")).response).toBeUndefined();
  });

  it("keeps tenant binding exact: a guessed prefix binds nothing, a configured locale does", async () => {
    const rules = {
      version: 1 as const,
      rules: [
        {
          id: "bind",
          kind: "tenant-binding" as const,
          match: { path: "/app/:tenant/**" },
          tenant: { from: "path" as const, param: "tenant" },
          token: { claim: "org", secretEnv: "TB_SECRET", algorithms: ["HS256" as const] },
        },
        {
          id: "freeze-acme",
          kind: "kill-switch" as const,
          match: { path: "/app/:tenant/x", tenants: ["acme"] },
        },
      ],
    };
    const env = { TB_SECRET: "s".repeat(40) };
    const guessed = createContainment({ rules, env, onReport: silent });
    const bare = await guessed.decide(new Request("https://app.example.com/app/acme/y"));
    expect(bare.decision.rule).toBe("bind");
    // The kill switch (blocking) reads the guessed reading; the binding does not.
    const killed = await guessed.decide(new Request("https://app.example.com/en/app/acme/x"));
    expect(killed.decision.rule).toBe("freeze-acme");
    const unbound = await guessed.decide(new Request("https://app.example.com/en/app/acme/y"));
    expect(unbound.response).toBeUndefined();
    const configured = createContainment({ rules, env, normalize: { locales: ["en"] }, onReport: silent });
    const bound = await configured.decide(new Request("https://app.example.com/en/app/acme/y"));
    expect(bound.decision.rule).toBe("bind");
  });
});
