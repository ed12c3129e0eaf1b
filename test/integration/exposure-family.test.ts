/**
 * Exposure is counted by route, not by the rule that happened to match (docs/recorded-format.md):
 * the firewall (real engine, real redis-server, the real mirror) decides scripted client traffic,
 * then the kill preview, the report's "reached before containment" and "affected tenants", and
 * `rules test` replay read what the mirror recorded. Each must agree with what the clients were
 * served, counted here from the responses, whatever other rule matched those requests: a switch
 * narrower than a headers rule, a rate limit or a tenant binding, broader, equal, overlapping
 * tenants, method- and host-scoped, no other rule, an undeclared tenant. Where the shapes cannot
 * tell (a cap reached, hosts not recorded) each gives bounds that hold the served number, never a
 * single wrong one; and a flood of unknown routes cannot push a protected route's evidence out.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { previewMatch } from "../../src/ops/actions/preview.js";
import type { OpsContext } from "../../src/ops/context.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { replay, requestsFromShapes } from "../../src/ops/replay.js";
import { buildReport } from "../../src/ops/report/build.js";
import type { AuditView, MinuteFields, ReportInputs } from "../../src/ops/report/model.js";
import { mirrorReader } from "../../src/stores/mirror/reader.js";
import { type Harness, startHarness } from "../support/harness.js";
import { mintHs } from "../support/jwt.js";
import { awayFromWindowEdge, type RedisFixture, startRedisFixture, until } from "./redis-fixture.js";

const SECRET = "exposure-family-secret-0123456789";
const TENANTS = { acme: 3, globex: 2, initech: 1 } as const;
type Tenant = keyof typeof TENANTS;

interface Sent {
  method: string;
  host: string;
  path: string;
  tenant: Tenant;
  status: number;
}

interface Scope {
  path: string;
  methods?: string[];
  tenants?: string[];
  hosts?: string[];
}

interface Case {
  name: string;
  /** The document's other rules (the switch is evaluated against traffic they matched). */
  rules: unknown[];
  /** The document's declared tenants (default: every tenant the traffic names). */
  tenants?: Record<string, { origins: string[] }>;
  kill: Scope;
  /** The test's own reading of the switch's scope, independent of the code under test. */
  covers(request: Sent): boolean;
  /** The shapes can tell exactly (else bounds must hold the served number). */
  exact: boolean;
  mirror?: Record<string, unknown>;
  /** Unknown routes sent before the traffic (an attacker's flood). */
  flood?: number;
}

const PHI_HEADERS = (path = "/api/:tenant/patients/**", extra: Record<string, unknown> = {}) => ({
  id: "phi-no-store",
  kind: "headers",
  match: { path, ...extra },
  set: { "cache-control": "private, no-store" },
});
const NARROW = "/api/:tenant/patients/*/export";
/** Tenants are recorded by name only when the document declares them (docs/recorded-format.md#privacy). */
const DECLARED = { acme: { origins: [] }, globex: { origins: [] }, initech: { origins: [] } };
const isExport = (r: Sent) => /^\/api\/[^/]+\/patients\/[^/]+\/export$/.test(r.path);
const isPatients = (r: Sent) => /^\/api\/[^/]+\/patients\//.test(r.path);

const CASES: Case[] = [
  {
    name: "narrower than a headers rule",
    rules: [PHI_HEADERS()],
    kill: { path: NARROW },
    covers: isExport,
    exact: true,
  },
  {
    name: "narrower than a rate limit",
    rules: [
      {
        id: "patients-limit",
        kind: "rate-limit",
        match: { path: "/api/:tenant/patients/**" },
        limit: 3,
        window: "1h",
        algorithm: "fixed-window",
        by: ["tenant"],
      },
    ],
    kill: { path: NARROW },
    covers: isExport,
    exact: true,
  },
  {
    name: "narrower than a tenant binding",
    rules: [
      {
        id: "bind",
        kind: "tenant-binding",
        match: { path: "/api/:tenant/patients/**" },
        tenant: { from: "path", param: "tenant" },
        token: { claim: "org_id", secretEnv: "EXPOSURE_SECRET", algorithms: ["HS256"] },
      },
    ],
    kill: { path: NARROW },
    covers: isExport,
    exact: true,
  },
  {
    name: "broader than the other rule",
    rules: [PHI_HEADERS(NARROW)],
    kill: { path: "/api/:tenant/patients/**" },
    covers: isPatients,
    exact: true,
  },
  {
    name: "equal to the other rule",
    rules: [PHI_HEADERS(NARROW)],
    kill: { path: NARROW },
    covers: isExport,
    exact: true,
  },
  {
    name: "with tenants overlapping the other rule's",
    rules: [PHI_HEADERS("/api/:tenant/patients/**", { tenants: ["acme", "globex"] })],
    kill: { path: NARROW, tenants: ["globex", "initech"] },
    covers: (r) => isExport(r) && (r.tenant === "globex" || r.tenant === "initech"),
    exact: true,
  },
  {
    name: "method-scoped",
    rules: [PHI_HEADERS()],
    kill: { path: NARROW, methods: ["POST"] },
    covers: (r) => isExport(r) && r.method === "POST",
    exact: true,
  },
  {
    name: "host-scoped, where a rule scopes by host",
    rules: [PHI_HEADERS("/api/:tenant/patients/**", { hosts: ["acme.localhost"] })],
    kill: { path: NARROW, hosts: ["other.localhost"] },
    covers: (r) => isExport(r) && r.host === "other.localhost",
    exact: true,
  },
  {
    name: "host-scoped, where no rule scopes by host (hosts not recorded: bounds)",
    rules: [PHI_HEADERS()],
    kill: { path: NARROW, hosts: ["other.localhost"] },
    covers: (r) => isExport(r) && r.host === "other.localhost",
    exact: false,
  },
  {
    name: "with no other rule at all",
    rules: [],
    kill: { path: NARROW },
    covers: isExport,
    exact: true,
  },
  {
    // initech's requests are recorded as ~undeclared (its path segment too): bounds, never a guess.
    name: "for a tenant the document does not declare (recorded as ~undeclared: bounds)",
    rules: [PHI_HEADERS()],
    tenants: { acme: { origins: [] }, globex: { origins: [] } },
    kill: { path: NARROW, tenants: ["initech"] },
    covers: (r) => isExport(r) && r.tenant === "initech",
    exact: false,
  },
  {
    name: "when the general cap was reached (bounds, not one number)",
    rules: [PHI_HEADERS()],
    kill: { path: NARROW },
    covers: isExport,
    exact: false,
    mirror: { generalShapes: 2 },
  },
];

let redis: RedisFixture;
let harness: Harness | undefined;

beforeAll(async () => {
  redis = await startRedisFixture();
});
afterAll(async () => {
  await redis?.close();
});
beforeEach(async () => {
  await redis.io.flushall();
  // Every case's traffic and its reading fit in one minute's room, so none straddles the preview.
  await awayFromWindowEdge(60_000, 25_000);
});
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function sendTraffic(h: Harness, flood: number): Promise<Sent[]> {
  const sent: Sent[] = [];
  const send = async (method: string, host: string, path: string, tenant: Tenant) => {
    const token = await mintHs(SECRET, { org_id: tenant, exp: Math.floor(Date.now() / 1000) + 600 });
    // initech's client has no valid token: a tenant binding refuses it.
    const headers: Record<string, string> = tenant === "initech" ? {} : { authorization: `Bearer ${token}` };
    const response = await h.fetch(`http://${host}${path}`, { method, headers });
    await response.arrayBuffer();
    sent.push({ method, host, path, tenant, status: response.status });
  };
  for (let i = 0; i < flood; i++)
    await send("GET", "acme.localhost", `/junk-${i.toString(36)}x/page`, "acme");
  for (const [tenant, n] of Object.entries(TENANTS) as Array<[Tenant, number]>) {
    for (let i = 0; i < n; i++)
      await send("GET", "acme.localhost", `/api/${tenant}/patients/${1000 + i}/export`, tenant);
    await send("POST", "acme.localhost", `/api/${tenant}/patients/2000/export`, tenant);
    await send("GET", "acme.localhost", `/api/${tenant}/patients/3000/notes`, tenant);
  }
  await send("GET", "other.localhost", "/api/acme/patients/4000/export", "acme");
  await send("GET", "acme.localhost", "/health", "acme");
  return sent;
}

const admitted = (r: Sent) => r.status < 400;

function killItem(scope: Scope) {
  return { id: "family-kill", version: 1, match: scope, incident: "INC-F" };
}

function reportInputs(c: Case, shapes: MinuteFields[], from: number, to: number, at: number): ReportInputs {
  const item = killItem(c.kill);
  const ts = new Date(at).toISOString();
  const audit: AuditView[] = [
    { seq: 1, ts, action: "kill", phase: "intent", key: "containment_kill_family-kill", after: item },
    {
      seq: 2,
      ts,
      action: "kill",
      phase: "result",
      key: "containment_kill_family-kill",
      after: item,
      actor: "t",
    },
  ];
  return {
    incident: {
      id: "INC-F",
      title: c.name,
      discovered: from * 60_000,
      opened: from * 60_000,
      dataClasses: [],
    },
    since: from * 60_000,
    until: (to + 1) * 60_000 - 1,
    generatedAt: at,
    audit,
    verification: { ok: true, head: "2:x", count: 2 },
    counts: [],
    shapes,
    traffic: [],
    events: [],
    confirmations: [],
    quarantines: [],
    dataClassMap: {},
  };
}

describe("exposure of a kill switch's scope, whatever other rule matched the traffic", () => {
  it.each(CASES)("agrees with what clients were served: a switch $name", { timeout: 60_000 }, async (c) => {
    harness = await startHarness("node", {
      rules: { version: 1, tenants: c.tenants ?? DECLARED, rules: c.rules },
      redis: redis.connection,
      env: { EXPOSURE_SECRET: SECRET },
      options: { mirror: { sampleAllows: 0, ...c.mirror } },
    });
    const from = Math.floor(Date.now() / 60_000);
    const sent = await sendTraffic(harness, c.flood ?? 0);
    const counted = async () => {
      let total = 0;
      for (const key of await redis.io.keys("containment:counts:*"))
        for (const n of Object.values(await redis.io.hgetall(key))) total += Number(n);
      return total;
    };
    await until(async () => (await counted()) === sent.length, 20_000, `${sent.length} decisions mirrored`);
    const to = Math.floor(Date.now() / 60_000);

    // What the clients were served: admitted requests inside the switch's scope, per tenant.
    const served = sent.filter((r) => c.covers(r) && admitted(r));
    const servedByTenant: Record<string, number> = {};
    for (const r of served) servedByTenant[r.tenant] = (servedByTenant[r.tenant] ?? 0) + 1;
    const allInScope = sent.filter(c.covers).length;
    expect(served.length, "the case must admit something in scope").toBeGreaterThan(0);

    const reader = mirrorReader({ client: restRedis(redis.connection) });
    const now = Date.now();
    const preview = await previewMatch({ reader, now: () => now } as unknown as OpsContext, c.kill);

    const shapes: MinuteFields[] = [];
    for (let m = from; m <= to; m++) {
      const fields = await redis.io.hgetall(`containment:shapes:${m}`);
      if (Object.keys(fields).length > 0)
        shapes.push({
          minute: m,
          fields: Object.fromEntries(Object.entries(fields).map(([f, n]) => [f, Number(n)])),
        });
    }
    const report = buildReport(reportInputs(c, shapes, from, to, now));
    const reached = report.reachedBeforeContainment;

    const rows = await reader.shapes({ from, to });
    const proposed = {
      version: 1,
      tenants: c.tenants ?? DECLARED,
      rules: [...c.rules, { ...killItem(c.kill), kind: "kill-switch" }],
    };
    const replayed = await replay(proposed, requestsFromShapes(rows), "aggregates");
    const nowBlocked = replayed.changes
      .filter((change) => change.before === "admitted" && change.after === "blocked")
      .reduce((sum, change) => sum + change.requests, 0);

    if (c.exact) {
      // The preview counts what the switch would have blocked: every request in scope, served or not.
      expect({ requests: preview.requests, upper: preview.upper }).toEqual({
        requests: allInScope,
        upper: allInScope,
      });
      expect({ total: reached.total, upper: reached.upper }).toEqual({
        total: served.length,
        upper: served.length,
      });
      const tenants = Object.fromEntries(
        report.affected.tenants.filter((t) => t.admitted > 0).map((t) => [t.name, t.admitted]),
      );
      expect(tenants).toEqual(servedByTenant);
      expect(report.affected.tenants.every((t) => t.uncertain === 0)).toBe(true);
      expect(nowBlocked).toBe(served.length);
      expect(replayed.uncertain).toBe(0);
    } else {
      expect(preview.requests).toBeLessThanOrEqual(allInScope);
      expect(preview.upper).toBeGreaterThanOrEqual(allInScope);
      expect(preview.upper).toBeGreaterThan(preview.requests);
      expect(preview.notes.join(" ")).toMatch(/up to \d+ more/);
      expect(reached.total).toBeLessThanOrEqual(served.length);
      expect(reached.upper).toBeGreaterThanOrEqual(served.length);
      expect(reached.bounds.length).toBeGreaterThan(0);
      expect(nowBlocked).toBeLessThanOrEqual(served.length);
      expect(nowBlocked + replayed.uncertain).toBeGreaterThanOrEqual(served.length);
    }
  });

  it("keeps a protected route's evidence exact while an attacker floods unknown routes", {
    timeout: 60_000,
  }, async () => {
    const protect = {
      id: "patients-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/patients/**" },
      limit: 100,
      window: "1h",
      by: ["tenant"],
    };
    harness = await startHarness("node", {
      rules: { version: 1, tenants: DECLARED, rules: [protect] },
      redis: redis.connection,
      options: { mirror: { sampleAllows: 0, generalShapes: 5, reservedShapes: 50 } },
    });
    const from = Math.floor(Date.now() / 60_000);
    const sent = await sendTraffic(harness, 60);
    await until(
      async () => {
        let total = 0;
        for (const key of await redis.io.keys("containment:counts:*"))
          for (const n of Object.values(await redis.io.hgetall(key))) total += Number(n);
        return total === sent.length;
      },
      20_000,
      "every decision mirrored",
    );
    const to = Math.floor(Date.now() / 60_000);
    const served = sent.filter((r) => isExport(r) && admitted(r)).length;
    const reader = mirrorReader({ client: restRedis(redis.connection) });
    const rows = await reader.shapes({ from, to });
    // The flood was folded into ~other; no protected shape went to ~overflow-reserved.
    expect(rows.filter((r) => r.shape === "~other").reduce((sum, r) => sum + r.n, 0)).toBeGreaterThan(50);
    expect(rows.some((r) => r.shape === "~overflow-reserved")).toBe(false);
    const now = Date.now();
    const preview = await previewMatch({ reader, now: () => now } as unknown as OpsContext, { path: NARROW });
    // The certain count is every export served: none of it was pushed out by the flood.
    expect(preview.requests).toBe(served);
  });
});
