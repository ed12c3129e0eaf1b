/**
 * a misconfiguration must not read like an outage. A wrong token (401) or a wrong id
 * (404) keeps its cause in `status().lastError` and in the report, and both say which rules are in
 * force: the fallback on a cold start, Edge Config's last good rules later.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { createContainment } from "../../src/engine/firewall.js";

const freeze = { id: "fallback-freeze", kind: "kill-switch", match: { path: "/api/**" } };

let server: EdgeConfigServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function firewall(connection: string) {
  const reports: Array<{ event: string; detail: Readonly<Record<string, unknown>> }> = [];
  const containment = createContainment({
    edgeConfig: connection,
    refreshMs: 0,
    edgeConfigTimeoutMs: 2_000,
    fallbackRules: { version: 1, rules: [freeze] },
    onReport: (event, detail) => reports.push({ event, detail: detail ?? {} }),
  });
  const decide = (path: string) => containment.decide(new Request(`https://app.example.com${path}`));
  return { containment, decide, reports };
}

describe("an Edge Config failure keeps its cause", () => {
  it("says a wrong token was refused (401) and that the fallback rules are in force", async () => {
    server = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
    const wrongToken = server.connectionString.replace(/token=[^&]+/, "token=not-the-read-token");
    const { containment, decide, reports } = firewall(wrongToken);

    const { decision } = await decide("/api/patients/1");
    expect(decision.rule).toBe("fallback-freeze");

    const status = containment.status();
    expect(status.source).toBe("fallback");
    expect(status.lastError).toMatchObject({ code: "ERR_RULES_SOURCE", reason: "unauthorized", status: 401 });
    expect(status.lastError?.message).toMatch(/refused the token \(401\)/);
    expect(status.lastError?.message).not.toMatch(/unreachable/);
    expect(status.lastError?.message).toMatch(/fallback/);

    const report = reports.find((r) => r.event === "rules-source-error");
    expect(report?.detail).toMatchObject({ reason: "unauthorized", status: 401, inForce: "fallback" });
  });

  it("says the Edge Config was not found (404) when the connection names a wrong id", async () => {
    server = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
    const wrongId = server.connectionString.replace(/\/([^/?]+)\?/, "/ecfg_not_this_one?");
    const { containment, decide } = firewall(wrongId);
    await decide("/api/patients/1");
    expect(containment.status().lastError).toMatchObject({ reason: "not-found", status: 404 });
    expect(containment.status().source).toBe("fallback");
  });

  it("calls a 503 an outage (status 503), and keeps Edge Config's last good rules in force", async () => {
    server = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
    const { containment, decide } = firewall(server.connectionString);
    expect((await decide("/api/patients/1")).decision.outcome).toBe("allow");
    server.setDown(true);
    await decide("/api/patients/1");
    const status = containment.status();
    expect(status.source).toBe("edge-config");
    expect(status.lastError?.code).toBe("ERR_RULES_SOURCE");
    expect(status.lastError).toMatchObject({ reason: "status", status: 503 });
    expect(status.lastError?.message).toMatch(/answered 503/);
  });
});
