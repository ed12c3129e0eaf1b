/**
 * The Edge Config rules source against the local stand-in (real HTTP, real @vercel/edge-config
 * client): background refresh and maxStaleMs, outages reported as state changes,
 * what the cold-start messages say, the size limit and the cold-start
 * deadline with one report per isolate. Time comes from an injected clock.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import type { Json } from "../../src/model/json.js";
import type { Services } from "../../src/model/services.js";
import { parseDocument } from "../../src/rules/validate.js";
import { type EdgeConfigSourceOptions, edgeConfigRules } from "../../src/sources/edge-config.js";
import { createEdgeConfigReader } from "../../src/sources/edge-config-client.js";

const rulesWith = (...rules: Json[]): Json => ({ version: 1, rules });
const exportSwitch = { id: "exports", kind: "kill-switch", match: { path: "/api/patients/*/export" } };
const fallback = parseDocument(
  rulesWith({ id: "fallback-freeze", kind: "kill-switch", match: { path: "/api/**" } }),
);

let server: EdgeConfigServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Report {
  event: string;
  detail: Record<string, unknown>;
}

function source(
  connection: string,
  extra: { [K in keyof EdgeConfigSourceOptions]?: EdgeConfigSourceOptions[K] | undefined } = {},
) {
  const clock = { now: 1_000_000 };
  const reports: Report[] = [];
  const services: Services = {
    now: () => clock.now,
    fetch,
    env: {},
    report: (event, detail) => reports.push({ event, detail: { ...detail } }),
  };
  // `refreshMs: undefined` asks for the default.
  const options: Record<string, unknown> = { refreshMs: 500, timeoutMs: 5_000, ...extra };
  if (options.refreshMs === undefined) delete options.refreshMs;
  const rules = edgeConfigRules({
    client: createEdgeConfigReader(connection),
    fallback,
    services,
    ...(options as Partial<EdgeConfigSourceOptions>),
  });
  const pending: Promise<unknown>[] = [];
  const waitUntil = (promise: Promise<unknown>) => void pending.push(promise);
  /** The ids of the rules a request is decided on, and whether it handed work to waitUntil. */
  const decide = async () => {
    const before = pending.length;
    const ruleset = await rules.current(waitUntil);
    return {
      ids: ruleset.rules.map((rule) => rule.id),
      source: ruleset.source,
      behind: pending.length > before,
    };
  };
  const settle = async () => {
    while (pending.length > 0) await Promise.all(pending.splice(0));
  };
  const events = (name: string) => reports.filter((r) => r.event === name);
  return { rules, clock, reports, decide, settle, events };
}

describe("refreshing in the background, within maxStaleMs", () => {
  it("decides a busy isolate's request on the rules in force and refreshes behind it", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith() } });
    const s = source(server.connectionString);
    expect((await s.decide()).ids).toEqual([]);
    server.setItem("containment", rulesWith(exportSwitch));
    s.clock.now += 600; // past refreshMs, within maxStaleMs (1000)
    const due = await s.decide();
    expect(due.ids).toEqual([]);
    expect(due.behind).toBe(true);
    // The refresh (and the compile) ran in waitUntil; the next request has the new rules.
    await s.settle();
    expect((await s.decide()).ids).toEqual(["exports"]);
  });

  it("makes the first request of an isolate idle longer than maxStaleMs wait for the refresh", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith() } });
    const s = source(server.connectionString);
    await s.decide();
    server.setItem("containment", rulesWith(exportSwitch));
    s.clock.now += 1_001;
    expect((await s.decide()).ids).toEqual(["exports"]);
  });

  it("starts at most one background refresh at a time and none before refreshMs", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith() } });
    const s = source(server.connectionString);
    await s.decide();
    server.resetCounts();
    s.clock.now += 100;
    expect((await s.decide()).behind).toBe(false);
    s.clock.now += 500;
    const results = await Promise.all([s.decide(), s.decide(), s.decide()]);
    expect(results.filter((r) => r.behind)).toHaveLength(1);
    await s.settle();
    expect(server.counts.reads).toBe(1); // one digest check, no item read: nothing changed
  });

  it("at the defaults, reads the digest every 3 s and enforces any change Edge Config serves within 5 s", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith() } });
    const s = source(server.connectionString, { refreshMs: undefined });
    await s.decide();
    server.setItem("containment", rulesWith(exportSwitch));
    s.clock.now += 2_999;
    expect((await s.decide()).behind).toBe(false); // within refreshMs: no read at all
    s.clock.now += 1_999; // 4,998 ms: decided on the rules in force, refreshed behind
    expect(await s.decide()).toMatchObject({ ids: [], behind: true });
    const idle = source(server.connectionString, { refreshMs: undefined });
    await idle.decide();
    server.setItem("containment", rulesWith());
    idle.clock.now += 5_001; // past maxStaleMs (5 s, not 2 × refreshMs): this request waits
    expect((await idle.decide()).ids).toEqual([]);
    await s.settle();
    await idle.settle();
  });

  it("refuses maxStaleMs shorter than refreshMs when the source is built", () => {
    expect(() => source("http://127.0.0.1:9/ecfg_x?token=t", { refreshMs: 500, maxStaleMs: 100 })).toThrow(
      /maxStaleMs must be a number ≥ 500/,
    );
  });
});

describe("outages reported as state changes", () => {
  it("reports down once, still-down every outageReportMs with the attempts, and recovered with the duration", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith(exportSwitch) } });
    const s = source(server.connectionString, { refreshMs: 0, outageReportMs: 60_000 });
    await s.decide();
    server.setDown(true);
    for (let i = 0; i < 30; i++) {
      s.clock.now += 500;
      expect((await s.decide()).ids).toEqual(["exports"]);
      await s.settle();
    }
    expect(s.events("rules-source-error").map((r) => r.detail.state)).toEqual(["down"]);
    s.clock.now += 60_000;
    await s.decide();
    await s.settle();
    const errors = s.events("rules-source-error");
    expect(errors.map((r) => r.detail.state)).toEqual(["down", "still-down"]);
    expect(errors[1]?.detail.attempts).toBe(31);
    expect(String(errors[1]?.detail.message)).toMatch(/still unreachable after 31 attempts/);
    server.setDown(false);
    s.clock.now += 500;
    await s.decide();
    await s.settle();
    const recovered = s.events("rules-source-recovered");
    expect(recovered).toHaveLength(1);
    expect(recovered[0]?.detail).toMatchObject({ state: "recovered", attempts: 31, downForMs: 75_000 });
  });

  it("keeps one report per outage when a busy isolate refreshes in the background", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith(exportSwitch) } });
    const s = source(server.connectionString);
    await s.decide();
    server.setDown(true);
    for (let i = 0; i < 20; i++) {
      s.clock.now += 600;
      await s.decide();
      await s.settle();
    }
    expect(s.events("rules-source-error")).toHaveLength(1);
  });
});

describe("what the reports say is in force", () => {
  it("says a cold start with Edge Config down enforces the fallback rules, not 'the last good rules'", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith(exportSwitch) } });
    server.setDown(true);
    const s = source(server.connectionString);
    expect((await s.decide()).ids).toEqual(["fallback-freeze"]);
    const [down] = s.events("rules-source-error");
    expect(down?.detail.inForce).toBe("fallback");
    expect(String(down?.detail.message)).toMatch(/cold start\), so the fallback rules \(digest \w+\)/);
    expect(String(down?.detail.message)).not.toMatch(/last good/);
  });

  it("says an invalid document on a cold start leaves the fallback rules in force", async () => {
    server = await startEdgeConfigServer({ items: { containment: { version: 2, rules: [] } } });
    const s = source(server.connectionString);
    expect((await s.decide()).source).toBe("fallback");
    const [invalid] = s.events("rules-invalid");
    expect(invalid?.detail.inForce).toBe("fallback");
    expect(String(invalid?.detail.message)).toMatch(/fallback rules/);
  });

  it("names the Edge Config rules it keeps, with their digest, when a warm isolate loses Edge Config", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith(exportSwitch) } });
    const s = source(server.connectionString, { refreshMs: 0 });
    await s.decide();
    const digest = s.rules.status().digest;
    server.setDown(true);
    await s.decide();
    const [down] = s.events("rules-source-error");
    expect(String(down?.detail.message)).toContain(`rules loaded from Edge Config at`);
    expect(String(down?.detail.message)).toContain(`(digest ${digest})`);
  });
});

describe("documents over the size limit", () => {
  const big = (bytes: number) =>
    rulesWith(
      ...Array.from({ length: Math.ceil(bytes / 60) }, (_, i) => ({
        id: `r${i}`,
        kind: "kill-switch",
        match: { path: `/api/r${i}/export` },
      })),
    );

  it("refuses a document over the default 512 KB, keeps the rules in force, and reports it once", async () => {
    server = await startEdgeConfigServer({
      items: { containment: rulesWith(exportSwitch) },
      sizeLimitBytes: 4 << 20,
    });
    const s = source(server.connectionString, { refreshMs: 0 });
    await s.decide();
    server.setItem("containment", big(600 * 1024));
    for (let i = 0; i < 3; i++) expect((await s.decide()).ids).toEqual(["exports"]);
    const invalid = s.events("rules-invalid");
    expect(invalid).toHaveLength(1);
    const issues = (invalid[0]?.detail.issues ?? []) as Array<{ message: string }>;
    expect(issues[0]?.message).toMatch(/over the 524288-byte limit/);
  });

  it("takes the limit from maxDocumentBytes", async () => {
    server = await startEdgeConfigServer({ items: { containment: big(3_000) } });
    const small = source(server.connectionString, { maxDocumentBytes: 2_048 });
    expect((await small.decide()).source).toBe("fallback");
    const roomy = source(server.connectionString, { maxDocumentBytes: 8_192 });
    expect((await roomy.decide()).source).toBe("edge-config");
  });
});

describe("cold starts", () => {
  it("reports an invalid document once when concurrent cold requests each read it", async () => {
    server = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [{ id: "x" }] } } });
    const s = source(server.connectionString);
    const results = await Promise.all([s.decide(), s.decide(), s.decide(), s.decide()]);
    expect(results.map((r) => r.source)).toEqual(["fallback", "fallback", "fallback", "fallback"]);
    expect(server.counts.reads).toBeGreaterThanOrEqual(4); // each cold request asked for itself
    expect(s.events("rules-invalid")).toHaveLength(1);
  });

  it("reports an outage once when concurrent cold requests each time out", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith() } });
    server.setDown(true);
    const s = source(server.connectionString);
    await Promise.all([s.decide(), s.decide(), s.decide(), s.decide()]);
    expect(s.events("rules-source-error")).toHaveLength(1);
  });

  it("bounds a cold start by coldStartTimeoutMs, separately from the warm deadline", async () => {
    server = await startEdgeConfigServer({ items: { containment: rulesWith(exportSwitch) } });
    server.setDelay(2_000);
    const s = source(server.connectionString, { timeoutMs: 1_500, coldStartTimeoutMs: 100 });
    expect((await s.decide()).source).toBe("fallback");
    expect(s.rules.status().lastError?.message).toMatch(/exceeded its 100 ms deadline/);
  });
});
