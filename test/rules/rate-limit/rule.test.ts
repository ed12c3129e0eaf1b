import { describe, expect, it } from "vitest";
import { isContainmentError } from "../../../src/core/errors.js";
import { type ContainmentOptions, createContainment } from "../../../src/index.js";
import { memoryStore } from "../../../src/memory.js";

const silent = () => {};

function firewall(rules: unknown[], options: Partial<ContainmentOptions> = {}) {
  return createContainment({
    rules: { version: 1, rules },
    redis: memoryStore(),
    onReport: silent,
    env: {},
    ...options,
  });
}

function request(path: string, init: RequestInit & { ip?: string } = {}): Request {
  const headers = new Headers(init.headers);
  headers.set("x-real-ip", init.ip ?? "203.0.113.7");
  return new Request(`https://app.example.com${path}`, { ...init, headers });
}

const limit = (fields: Record<string, unknown> = {}) => ({
  id: "export-limit",
  kind: "rate-limit",
  match: { path: "/api/:tenant/export/**" },
  limit: 2,
  window: "1m",
  algorithm: "fixed-window",
  by: ["tenant", "ip"],
  ...fields,
});

describe("the rate-limit rule (memory store)", () => {
  it("adds RateLimit headers while under the limit and answers 429 with Retry-After over it", async () => {
    const containment = firewall([limit()]);
    const first = await containment.decide(request("/api/acme/export/x"));
    expect(first.response).toBeUndefined();
    expect(first.headers).toMatchObject({ "ratelimit-limit": "2", "ratelimit-remaining": "1" });
    await containment.decide(request("/api/acme/export/x"));
    const third = await containment.decide(request("/api/acme/export/x"));
    expect(third.response?.status).toBe(429);
    expect(third.response?.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(third.decision).toMatchObject({
      outcome: "rate-limited",
      rule: "export-limit",
      kind: "rate-limit",
      reason: "limit-exceeded",
      status: 429,
      route: "/api/:tenant/export/**",
    });
  });

  it("in monitor mode counts and records what it would do, but never blocks or quarantines", async () => {
    const containment = firewall([
      limit({ mode: "monitor", limit: 1, quarantine: { after: 1, for: "1h", scope: "all" } }),
    ]);
    await containment.decide(request("/api/acme/export/x"));
    for (let i = 0; i < 3; i++) {
      const { response, decision } = await containment.decide(request("/api/acme/export/x"));
      expect(response).toBeUndefined();
      expect(decision).toMatchObject({
        outcome: "monitor",
        wouldBe: "rate-limited",
        rule: "export-limit",
        reason: "limit-exceeded",
      });
    }
  });

  it("fails closed with 503 and store-unavailable when no store is configured, or open when told to", async () => {
    const reports: string[] = [];
    const closed = createContainment({
      rules: { version: 1, rules: [limit()] },
      env: {},
      onReport: (event) => reports.push(event),
    });
    const blocked = await closed.decide(request("/api/acme/export/x"));
    expect(blocked.response?.status).toBe(503);
    expect(blocked.decision).toMatchObject({
      outcome: "error",
      failMode: "closed",
      reason: "store-unavailable",
    });
    expect(reports).toContain("store-missing");

    const open = createContainment({
      rules: { version: 1, rules: [limit({ failMode: "open" })] },
      env: {},
      onReport: silent,
    });
    const passed = await open.decide(request("/api/acme/export/x"));
    expect(passed.response).toBeUndefined();
    expect(passed.decision).toMatchObject({
      outcome: "error",
      failMode: "open",
      reason: "store-unavailable",
    });
  });

  it("never counts a CORS preflight", async () => {
    const containment = firewall([limit({ limit: 1 })]);
    const preflight = {
      method: "OPTIONS",
      headers: { origin: "https://acme.example.com", "access-control-request-method": "GET" },
    };
    for (let i = 0; i < 5; i++)
      expect((await containment.decide(request("/api/acme/export/x", preflight))).response).toBeUndefined();
    expect((await containment.decide(request("/api/acme/export/x"))).response).toBeUndefined();
  });

  it("quarantines after N trips and then blocks with reason quarantined", async () => {
    const containment = firewall([limit({ limit: 1, quarantine: { after: 2, for: "10m" } })]);
    const reasons: string[] = [];
    for (let i = 0; i < 5; i++)
      reasons.push((await containment.decide(request("/api/acme/export/x"))).decision.reason);
    expect(reasons).toEqual(["passed", "limit-exceeded", "quarantine-started", "quarantined", "quarantined"]);
    const blocked = await containment.decide(request("/api/acme/export/x"));
    expect(blocked.decision).toMatchObject({ outcome: "block", reason: "quarantined", status: 429 });
    expect(Number(blocked.response?.headers.get("retry-after"))).toBeGreaterThan(590);
    // A different network is a different identity.
    expect(
      (await containment.decide(request("/api/acme/export/x", { ip: "198.51.100.1" }))).response,
    ).toBeUndefined();
  });

  it("rejects a quarantine on a rule keyed by the route alone, naming the field", () => {
    try {
      firewall([limit({ by: ["route"], quarantine: { after: 1, for: "1m" } })]);
      expect.unreachable();
    } catch (error) {
      expect(isContainmentError(error) && error.code).toBe("ERR_RULES_INVALID");
      expect(isContainmentError(error) && error.issues[0]?.path).toBe("$.rules[0].quarantine");
    }
  });

  it("reports the store as per isolate in status, with the in-memory decision log", async () => {
    const containment = firewall([limit()]);
    await containment.decide(request("/api/acme/export/x"));
    expect(containment.status()).toMatchObject({
      store: { kind: "memory", scope: "per-isolate" },
      mirror: { kind: "memory", recorded: 1 },
    });
  });
});
