/**
 * What runs without rules from Edge Config: a project that has not connected
 * Edge Config gets a fallback that blocks nothing and says so once per isolate, never the demo
 * incident of rules/default.json; a cold start with Edge Config down keeps routes marked sensitive
 * closed (or open, as the user chose).
 */
import { afterEach, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { createContainment } from "../../src/engine/firewall.js";
import type { ContainmentOptions } from "../../src/engine/options.js";
import { SENSITIVE_RULE_ID } from "../../src/sources/fallback.js";

let server: EdgeConfigServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function firewall(options: ContainmentOptions) {
  const reports: Array<{ event: string; detail?: Readonly<Record<string, unknown>> }> = [];
  const containment = createContainment({
    env: {},
    refreshMs: 0,
    edgeConfigTimeoutMs: 300,
    onReport: (event, detail) => reports.push({ event, ...(detail ? { detail } : {}) }),
    ...options,
  });
  // The platform's waitUntil: a refresh behind a request is awaited by `settle`, never slept on.
  const pending: Array<Promise<unknown>> = [];
  const context = { waitUntil: (promise: Promise<unknown>) => void pending.push(promise) };
  const settle = () => Promise.allSettled(pending.splice(0));
  const decide = async (path: string, method = "GET") =>
    containment.decide(new Request(`https://app.example.com${path}`, { method }), context);
  const status = async (path: string, method = "GET") => (await decide(path, method)).response?.status ?? 200;
  return { containment, decide, status, reports, settle };
}

describe("a project without EDGE_CONFIG", () => {
  it("does not answer the demo kill switch of rules/default.json on the user's export route", async () => {
    const { status, decide } = firewall({});
    expect(await status("/api/patients/1/export")).toBe(200);
    // The demo's tenancy pattern made "patients" a tenant id; the production fallback has no tenancy.
    expect((await decide("/api/patients/1/export")).decision.tenant).toBeUndefined();
    expect((await decide("/api/patients/1")).headers).toEqual({});
  });

  it("says once per isolate, not per request, that no rules are connected and nothing is blocked", async () => {
    const { status, reports, containment } = firewall({});
    for (let i = 0; i < 5; i++) await status(`/api/x/${i}`);
    const missing = reports.filter((r) => r.event === "rules-source-missing");
    expect(missing).toHaveLength(1);
    expect(String(missing[0]?.detail?.message)).toMatch(/no rules are connected.*blocks nothing/);
    expect(containment.status().source).toBe("fallback");
  });

  it("enforces the fallback rules the user chose instead", async () => {
    const { status } = firewall({
      fallbackRules: {
        version: 1,
        rules: [{ id: "own", kind: "kill-switch", match: { path: "/admin/**" } }],
      },
    });
    expect(await status("/admin/users")).toBe(503);
    expect(await status("/api/patients/1/export")).toBe(200);
  });

  it("does not close sensitive routes: nothing is unavailable, the project has no rules source", async () => {
    const { status } = firewall({ sensitive: { paths: "/api/patients/**" } });
    expect(await status("/api/patients/1/export")).toBe(200);
  });
});

describe("a cold start while Edge Config is unreachable", () => {
  async function downStore() {
    server = await startEdgeConfigServer({
      items: {
        containment: { version: 1, rules: [{ id: "x", kind: "kill-switch", match: { path: "/x" } }] },
      },
    });
    server.setDown(true);
    return server.connectionString;
  }

  it("answers 503 on routes marked sensitive (fail closed, the default) and lets others through", async () => {
    const { decide, status, reports } = firewall({
      edgeConfig: await downStore(),
      sensitive: { paths: ["/api/patients/**"] },
    });
    const blocked = await decide("/api/patients/1/export");
    expect(blocked.response?.status).toBe(503);
    expect(blocked.decision.rule).toBe(SENSITIVE_RULE_ID);
    expect(await status("/api/reports")).toBe(200);
    const error = reports.find((r) => r.event === "rules-source-error");
    expect(String(error?.detail?.message)).toMatch(/cold start.*fallback rules/);
  });

  it("opens sensitive routes when the user chose fail open", async () => {
    const { status } = firewall({
      edgeConfig: await downStore(),
      sensitive: { paths: ["/api/patients/**"], whenRulesUnavailable: "open" },
    });
    expect(await status("/api/patients/1/export")).toBe(200);
  });

  it("closes sensitive routes only for the methods named", async () => {
    const { status } = firewall({
      edgeConfig: await downStore(),
      sensitive: { paths: "/api/patients/**", methods: ["POST"] },
    });
    expect(await status("/api/patients/1", "POST")).toBe(503);
    expect(await status("/api/patients/1", "GET")).toBe(200);
  });

  it("lifts the sensitive block on the first request after Edge Config answers", async () => {
    const { status, settle } = firewall({
      edgeConfig: await downStore(),
      sensitive: { paths: "/api/patients/**" },
    });
    expect(await status("/api/patients/1")).toBe(503);
    server?.setDown(false);
    // While unhealthy the refresh runs behind the request; once it settled, Edge Config's rules are in force.
    await status("/api/patients/1");
    await settle();
    expect(await status("/api/patients/1")).toBe(200);
    expect(await status("/x")).toBe(503);
  });
});

describe("an Edge Config store without a containment item", () => {
  it("says so once and still enforces kill-switch items", async () => {
    server = await startEdgeConfigServer({
      items: { containment_kill_exports: { id: "exports", match: { path: "/api/patients/*/export" } } },
    });
    const { status, reports } = firewall({ edgeConfig: server.connectionString });
    expect(await status("/api/patients/1/export")).toBe(503);
    expect(await status("/api/patients/1")).toBe(200);
    expect(reports.filter((r) => r.event === "rules-document-missing")).toHaveLength(1);
  });
});

describe("the sensitive option", () => {
  it("refuses a bad pattern at setup, naming sensitive.paths", () => {
    expect(() => firewall({ sensitive: { paths: ["api/no-slash"] } })).toThrow(/sensitive\.paths/);
  });

  it("refuses an unknown fail mode at setup", () => {
    expect(() => firewall({ sensitive: { paths: "/x", whenRulesUnavailable: "maybe" as "open" } })).toThrow(
      /whenRulesUnavailable/,
    );
  });
});
