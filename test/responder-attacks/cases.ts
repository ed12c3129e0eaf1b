/**
 * The responder-side attack suite (docs/security.md, "Threat model"): what an attacker holding the
 * edge's Redis token, a preview deployment, a web page in the responder's browser or a hostile
 * request path can try against the CLI, the evidence, the reports, the audit chain and the local
 * listeners. Each case names the defence that stops it; `suite.test.ts` runs them all,
 * `ablation.test.ts` switches each defence off (vi.mock of its module) and shows its cases then fail.
 * A case throws when the attack succeeds. Local-listener cases grant the attacker every other layer
 * (the one-time token, the session cookie, the CSRF token) so that the named layer alone must hold.
 */

import { expect } from "vitest";
import { renderReport } from "../../src/cli/commands/report.js";
import { escapeTerminal } from "../../src/core/escape.js";
import { pseudonymize } from "../../src/core/hash.js";
import { type StartedLocalDashboard, startLocalDashboard } from "../../src/dashboard/local/server.js";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import { type AuditDraft, appendAudit, readAudit, verifyAudit } from "../../src/ops/audit/index.js";
import { loadOpsConfig } from "../../src/ops/config.js";
import { waitForEnforcement } from "../../src/ops/confirm.js";
import { createOpsContext } from "../../src/ops/context.js";
import { openIncident } from "../../src/ops/incidents.js";
import { tcpRedis } from "../../src/ops/redis-tcp.js";
import { buildReport } from "../../src/ops/report/build.js";
import { evidenceFiles, verifyEvidence } from "../../src/ops/report/evidence.js";
import { gatherReport } from "../../src/ops/report/gather.js";
import { renderMarkdown } from "../../src/ops/report/markdown.js";
import {
  type IsolateReport,
  reportEnvironment,
  serializeReport,
} from "../../src/stores/mirror/isolate-report.js";
import { dumpRedis, until } from "../integration/redis-fixture.js";
import { sampleInputs } from "../ops/report/sample-inputs.js";
import { type AclRedis, startAclRedis } from "../support/acl-redis.js";
import { startHarness } from "../support/harness.js";
import { rawRequest } from "../support/raw-http.js";
import { renderedReport } from "../support/rendered-report.js";

export type Family =
  | "forged and replayed reports"
  | "evidence rewritten through live keys"
  | "injection into report formats"
  | "local listeners"
  | "credentials in messages"
  | "padded and re-anchored audit chains"
  | "identifiers in the record";

/** The module a case's defence lives in, as ablation.test.ts switches it off. */
export type Defence =
  | "report-mac"
  | "report-environment"
  | "copy-versions"
  | "escape"
  | "dashboard-request-guard"
  | "local-guard"
  | "redact"
  | "audit-verify"
  | "recorded-tenant"
  | "pseudonym-key";

export interface Env {
  redis: AclRedis;
  prefix: string;
  ec: EdgeConfigServer;
  bridge: UpstashBridge;
  dashboard: StartedLocalDashboard;
  /** Newest one-time access URL the dashboard printed. */
  accessUrl(): string;
  close(): Promise<void>;
}

export interface Case {
  id: string;
  family: Family;
  defence: Defence;
  run(env: Env): Promise<void>;
}

const SECRET = "production-report-secret";
/** The edge's Redis token (the Upstash stand-in's), as a deployment and whoever stole it hold it. */
export const EDGE_TOKEN = "edge-upstash-token-held-by-every-deployment";
const MINUTE = 60_000;

export async function startEnv(): Promise<Env> {
  const redis = await startAclRedis();
  const ec = await startEdgeConfigServer({ items: {} });
  const bridge = await startUpstashBridge({ redisUrl: redis.server.url, token: EDGE_TOKEN });
  let latest = "";
  const dashboard = await startLocalDashboard({
    redis: redis.responder,
    port: 0,
    log: () => {},
    onAccessUrl: (url) => {
      latest = url;
    },
  });
  latest = dashboard.url;
  return {
    redis,
    prefix: "containment:",
    ec,
    bridge,
    dashboard,
    accessUrl: () => latest,
    async close() {
      await dashboard.close();
      await bridge.close();
      await ec.close();
      redis.edge.disconnect();
      redis.admin.disconnect();
      await redis.responder.close();
      await redis.server.stop();
    },
  };
}

// ── forged and replayed isolate reports ────────────────────────────────────────────────────────

function confirmContext(env: Env, prefix: string, now: () => number) {
  const config = loadOpsConfig({
    env: {
      EDGE_CONFIG_ID: "ecfg_attack",
      CONTAINMENT_REDIS_PREFIX: prefix,
      CONTAINMENT_REPORT_SECRET: SECRET,
    },
    cwd: "/nonexistent-dir-for-test",
  });
  return createOpsContext(config, { redis: env.redis.responder, now });
}

/** Writes an isolate report with the edge's ACL user, as an edge (or an attacker with its token) can. */
async function edgeReport(env: Env, prefix: string, text: string, member: string, at: number) {
  await env.redis.admin.set(`${prefix}isolate:${member}`, text, "EX", 300);
  await env.redis.admin.zadd(`${prefix}isolates`, at, member);
}

async function confirms(env: Env, prefix: string, at: number): Promise<boolean> {
  let clock = at;
  const result = await waitForEnforcement(
    confirmContext(env, prefix, () => clock),
    {
      expectation: { kind: "present", id: "exports", version: 2 },
      writtenAt: at,
      timeoutMs: 1_000,
      pollMs: 500,
      sleep: async (ms) => {
        clock += ms;
      },
    },
  );
  return result.ok;
}

/** No isolate reports yet (the responder's ACL user reads only `containment:*`). */
async function freshIsolates(env: Env): Promise<string> {
  await env.redis.admin.del(`${env.prefix}isolate:iad1:a`, `${env.prefix}isolates`);
  return env.prefix;
}
const body = (at: number): IsolateReport => ({
  v: 1,
  region: "iad1",
  isolate: "a",
  seq: 1,
  at,
  digest: "d",
  switches: ["exports@2"],
  fast: [],
});

const reportCases: Case[] = [
  {
    id: "report-forged-with-edge-token",
    family: "forged and replayed reports",
    defence: "report-mac",
    async run(env) {
      const prefix = await freshIsolates(env);
      const at = 5_000_000;
      // The edge's token writes a report claiming enforcement, with a made-up MAC.
      const forged = JSON.parse(await serializeReport(body(at), undefined)) as Record<string, unknown>;
      await edgeReport(env, prefix, JSON.stringify({ ...forged, mac: "A".repeat(43) }), "iad1:a", at);
      expect(await confirms(env, prefix, at)).toBe(false);
    },
  },
  {
    id: "report-from-preview-sharing-the-secret",
    family: "forged and replayed reports",
    defence: "report-environment",
    async run(env) {
      const prefix = await freshIsolates(env);
      const at = 6_000_000;
      // A preview deployment given production's CONTAINMENT_REPORT_SECRET writes its own report.
      const environment = reportEnvironment({ VERCEL_ENV: "preview" });
      await edgeReport(env, prefix, await serializeReport(body(at), SECRET, environment), "iad1:a", at);
      expect(await confirms(env, prefix, at)).toBe(false);
    },
  },
];

// ── evidence rewritten through the live keys ───────────────────────────────────────────────────

const evidenceCases: Case[] = [
  {
    id: "evidence-shrunk-through-live-keys",
    family: "evidence rewritten through live keys",
    defence: "copy-versions",
    async run(env) {
      const { edge, responder, admin } = env.redis;
      const P = env.prefix;
      await admin.flushdb();
      let now = Date.parse("2026-12-01T21:00:30Z");
      const m = Math.floor(now / MINUTE);
      await edge.hincrby(`${P}counts:${m - 2}`, "exports|block", 4);
      const ctx = { client: responder, prefix: P, now: () => now };
      await openIncident(ctx, {
        id: "INC-A",
        title: "t",
        discovered: now - 10 * MINUTE,
        lookbackMs: 30 * MINUTE,
      });
      await edge.hset(`${P}counts:${m - 2}`, "exports|block", "0");
      now += MINUTE;
      const gathered = await gatherReport({ redis: responder, prefix: P, now: () => now }, "INC-A", {
        document: { version: 1, rules: [] },
      });
      const report = buildReport(gathered.inputs);
      const blocked = report.decisions.perMinute.reduce((sum, row) => sum + row.blocked, 0);
      expect(blocked).toBe(4);
      expect(report.evidence.intact).toBe(false);
      const check = await verifyEvidence(await evidenceFiles(gathered, report, renderedReport(report)));
      expect(check.ok).toBe(false);
    },
  },
];

// ── injection into every report format ─────────────────────────────────────────────────────────

const HOSTILE_TITLE = "<img src=x onerror=alert(1)> ![p](https://evil.example/p.png)";
const hostileReport = () =>
  buildReport({ ...sampleInputs(), incident: { ...sampleInputs().incident, title: HOSTILE_TITLE } });

const injectionCases: Case[] = [
  {
    id: "markdown-tag-and-image-in-title",
    family: "injection into report formats",
    defence: "escape",
    async run() {
      const text = renderMarkdown(hostileReport());
      // Escaped (`\<img`, `!\[p\]`) they are text; unescaped they are a tag and an image.
      expect(text).not.toMatch(/(?<!\\)<img/);
      expect(text).not.toContain("![p](");
    },
  },
  {
    id: "html-tag-in-title",
    family: "injection into report formats",
    defence: "escape",
    async run() {
      expect(renderReport(hostileReport(), "html")).not.toContain("<img src=x");
    },
  },
  {
    id: "terminal-escape-sequences",
    family: "injection into report formats",
    defence: "escape",
    async run() {
      // What a path or reason can carry to a responder's terminal: clear screen, a retitle, a fake line.
      const shown = escapeTerminal("ok\u001b[2J\u001b]0;pwned\u0007\rDONE");
      const controls = [...shown].filter((c) => {
        const code = c.charCodeAt(0);
        return (code < 0x20 && c !== "\n" && c !== "\t") || code === 0x7f;
      });
      expect(controls).toEqual([]);
    },
  },
  {
    id: "json-report-keeps-hostile-text-as-data",
    family: "injection into report formats",
    defence: "escape",
    async run() {
      // JSON needs no escape switch of ours (JSON.stringify); the case pins that the title stays
      // one string value, and that the report's HTML rendering of the same data stays inert.
      const report = hostileReport();
      expect((JSON.parse(JSON.stringify(report)) as typeof report).incident.title).toBe(HOSTILE_TITLE);
      expect(renderReport(report, "html")).not.toContain("<img src=x");
    },
  },
];

// ── local listeners: DNS rebinding and cross-site requests ─────────────────────────────────────

const listenerCases: Case[] = [
  {
    id: "dashboard-dns-rebinding-with-leaked-access-url",
    family: "local listeners",
    defence: "dashboard-request-guard",
    async run(env) {
      // A page at evil.example rebound to 127.0.0.1 opens the access URL it learned.
      const url = new URL(env.accessUrl());
      const answer = await rawRequest(env.dashboard.port, {
        path: `${url.pathname}${url.search}`,
        headers: { host: `evil.example:${env.dashboard.port}` },
      });
      expect(answer.status).toBe(403);
      expect(answer.headers["set-cookie"]).toBeUndefined();
    },
  },
  {
    id: "dashboard-cross-site-post-with-cookie-and-csrf",
    family: "local listeners",
    defence: "dashboard-request-guard",
    async run(env) {
      const port = env.dashboard.port;
      const host = `127.0.0.1:${port}`;
      await rawRequest(port, { path: "/", headers: { host } });
      const url = new URL(env.accessUrl());
      const first = await rawRequest(port, { path: `/${url.search}`, headers: { host } });
      const cookie = String(first.headers["set-cookie"] ?? "").split(";")[0] ?? "";
      const page = await rawRequest(port, { path: "/", headers: { host, cookie } });
      const csrf = /name="containment-csrf" content="([^"]+)"/.exec(page.body)?.[1] ?? "";
      expect(cookie).not.toBe("");
      // Even holding the session and the CSRF token, a foreign page's POST is refused.
      const answer = await rawRequest(port, {
        method: "POST",
        path: "/api/v1/logout",
        headers: {
          host,
          cookie,
          origin: "https://evil.example",
          "sec-fetch-site": "cross-site",
          "x-containment-csrf": csrf,
          "content-type": "application/json",
        },
        body: "{}",
      });
      expect(answer.status).toBe(403);
    },
  },
  {
    id: "edge-config-stand-in-dns-rebinding",
    family: "local listeners",
    defence: "local-guard",
    async run(env) {
      const port = Number(new URL(env.ec.apiUrl).port);
      const answer = await rawRequest(port, {
        method: "PATCH",
        path: `${new URL(env.ec.apiUrl).pathname}/v1/edge-config/${env.ec.id}/items`.replace("//", "/"),
        headers: {
          host: `evil.example:${port}`,
          authorization: `Bearer ${env.ec.apiToken}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ items: [{ operation: "upsert", key: "containment_kill_x", value: 1 }] }),
      });
      expect(answer.status).toBe(403);
      expect(env.ec.items().containment_kill_x).toBeUndefined();
    },
  },
  {
    id: "upstash-bridge-cross-site-text-plain",
    family: "local listeners",
    defence: "local-guard",
    async run(env) {
      const port = Number(new URL(env.bridge.url).port);
      await env.redis.admin.del("bridge-probe");
      // A page's simple POST (no preflight): text/plain, foreign Origin, even with the token.
      await rawRequest(port, {
        method: "POST",
        path: "/",
        headers: {
          host: `127.0.0.1:${port}`,
          origin: "https://evil.example",
          authorization: `Bearer ${env.bridge.token}`,
          "content-type": "text/plain",
        },
        body: JSON.stringify(["SET", "bridge-probe", "1"]),
      });
      expect(await env.redis.admin.get("bridge-probe")).toBeNull();
    },
  },
];

// ── credentials in messages ────────────────────────────────────────────────────────────────────

const credentialCases: Case[] = [
  {
    id: "unreachable-redis-url-with-password",
    family: "credentials in messages",
    defence: "redact",
    async run() {
      const password = "hunter22-very-secret";
      let message = "";
      try {
        const client = await tcpRedis(`redis://ops:${password}@127.0.0.1:1`, { connectTimeoutMs: 500 });
        await client.ping();
        await client.close();
      } catch (error) {
        message = `${String(error)} ${JSON.stringify(error)}`;
      }
      expect(message).not.toBe("");
      expect(message).not.toContain(password);
    },
  },
  {
    id: "wrong-password-against-a-real-redis",
    family: "credentials in messages",
    defence: "redact",
    async run(env) {
      const password = "not-the-edge-password-77";
      let message = "";
      try {
        const client = await tcpRedis(
          `redis://containment-edge:${password}@127.0.0.1:${env.redis.server.port}`,
          { connectTimeoutMs: 2_000 },
        );
        await client.ping();
        await client.close();
      } catch (error) {
        message = `${String(error)} ${JSON.stringify(error)}`;
      }
      expect(message).not.toBe("");
      expect(message).not.toContain(password);
    },
  },
];

// ── padded and re-anchored audit chains ────────────────────────────────────────────────────────

const draft = (actor: string): AuditDraft => ({
  actor: { source: "vercel", id: `user_${actor}`, name: actor },
  claimedActor: null,
  action: "lift",
  phase: "result",
  incident: "INC-1",
  reason: "forged",
  key: "containment_kill_exports",
  before: null,
  after: null,
  outcome: "ok",
});

/** The responders' chain, emptied first (the responder's ACL user writes only `containment:audit*`). */
async function freshChain(env: Env) {
  await env.redis.admin.del(`${env.prefix}audit`, `${env.prefix}audit:head`);
  return { redis: env.redis.responder, prefix: env.prefix };
}

const auditCases: Case[] = [
  {
    id: "chain-padded-after-the-anchor",
    family: "padded and re-anchored audit chains",
    defence: "audit-verify",
    async run(env) {
      const ctx = await freshChain(env);
      const anchored = await appendAudit(ctx, draft("alice"));
      // Whoever can append (the responders' credential) adds hash-consistent forged entries.
      for (let i = 0; i < 3; i++) await appendAudit(ctx, draft("mallory"));
      const record = anchored.record;
      if (record === undefined) throw new Error("the first entry was not chained");
      const verified = await verifyAudit(await readAudit(ctx), {
        anchor: { seq: record.entry.seq, hash: record.hash },
      });
      expect(verified.ok).toBe(false);
    },
  },
  {
    id: "chain-with-a-malformed-anchor",
    family: "padded and re-anchored audit chains",
    defence: "audit-verify",
    async run(env) {
      const ctx = await freshChain(env);
      await appendAudit(ctx, draft("mallory"));
      const verified = await verifyAudit(await readAudit(ctx), { anchor: { malformed: "1:not-a-hash" } });
      expect(verified.ok).toBe(false);
    },
  },
];

// ── identifiers in the record: what a client chose never reaches Redis raw ──────────────────────

/** In the tenant alphabet (so it is validated as a tenant) and no identifier shape (so no `:id`). */
const HOSTILE_TENANT = "ZqHostileTenantValue";
const CLIENT_IP = "198.51.100.23";

const RECORDING_RULES = {
  version: 1,
  tenants: { acme: { origins: [] } },
  tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
  rules: [
    { id: "freeze", kind: "kill-switch", match: { path: "/api/:tenant/frozen" } },
    {
      id: "records",
      kind: "rate-limit",
      match: { path: "/api/:tenant/records" },
      limit: 1,
      window: "1h",
      by: ["tenant", "ip"],
      quarantine: { after: 1, for: "1h" },
    },
    {
      id: "walk",
      kind: "detector",
      detect: "enumeration",
      match: { path: "/api/:tenant/items/:id" },
      param: "id",
      by: ["addressed-tenant"],
      window: "10m",
      threshold: 2,
    },
    { id: "no-store", kind: "headers", match: { path: "/api/**" }, set: { "cache-control": "no-store" } },
  ],
};

/** Sends `paths` through a real firewall writing to the env's Redis, and waits until every decision is in `counts`. */
async function trafficThrough(env: Env, paths: readonly string[], salt: string): Promise<string> {
  await env.redis.admin.flushdb();
  const harness = await startHarness("node", {
    rules: RECORDING_RULES,
    redis: { url: env.bridge.url, token: EDGE_TOKEN },
    // An empty CONTAINMENT_SALT is no key at all (a variable set to nothing on the platform).
    env: { CONTAINMENT_SALT: salt },
    options: { mirror: { sampleAllows: 1, minIntervalMs: 0 } },
  });
  try {
    for (const path of paths)
      await (await harness.fetch(path, { headers: { "x-real-ip": CLIENT_IP } })).arrayBuffer();
    const counted = async () => {
      let total = 0;
      for (const key of await env.redis.admin.keys(`${env.prefix}counts:*`))
        for (const n of Object.values(await env.redis.admin.hgetall(key))) total += Number(n);
      return total;
    };
    await until(async () => (await counted()) === paths.length, 15_000, `${paths.length} decisions counted`);
  } finally {
    await harness.close();
  }
  return dumpRedis(env.redis.admin);
}

const HOSTILE_PATHS = (tenant: string) => [
  `/api/${tenant}/frozen`,
  `/api/${tenant}/records`,
  `/api/${tenant}/records`,
  `/api/${tenant}/records`,
  `/api/${tenant}/items/1`,
  `/api/${tenant}/items/2`,
  `/api/${tenant}/items/3`,
  `/api/${tenant}/other`,
];

const recordCases: Case[] = [
  {
    id: "undeclared-tenant-in-every-recorded-position",
    family: "identifiers in the record",
    defence: "recorded-tenant",
    async run(env) {
      // Every position the edge records: events, aggregates, top lists, route shapes, rate-limit
      // and quarantine keys and records, detector keys and detections.
      const everything = await trafficThrough(
        env,
        [...HOSTILE_PATHS(HOSTILE_TENANT), ...HOSTILE_PATHS("acme")],
        "attack-suite-pseudonym-key",
      );
      expect(everything.toLowerCase()).not.toContain(HOSTILE_TENANT.toLowerCase());
      expect(everything).toContain("~undeclared");
      // The declared tenant is still named: responders act on organisations.
      expect(everything).toContain("/api/acme/frozen");
    },
  },
  {
    id: "pseudonyms-guessed-with-the-edge-token",
    family: "identifiers in the record",
    defence: "pseudonym-key",
    async run(env) {
      // A deployment that never set CONTAINMENT_SALT; the attacker holds the edge's Redis token and
      // tries the tenant and the address they suspect, as a key derived from the token would allow.
      const everything = await trafficThrough(env, HOSTILE_PATHS("acme"), "");
      const key = `upstash-token:${EDGE_TOKEN}`;
      for (const guess of [
        await pseudonymize("tenant:acme", key),
        await pseudonymize(`ip:${CLIENT_IP}`, key),
      ])
        expect(everything).not.toContain(guess);
      // The limit still counted (per isolate) under some pseudonym: the guesses were not absent by chance.
      expect(everything).toMatch(/rl:records:[^"]*tenant=[0-9a-f]{16}/);
    },
  },
];

export const CASES: readonly Case[] = [
  ...reportCases,
  ...evidenceCases,
  ...injectionCases,
  ...listenerCases,
  ...credentialCases,
  ...auditCases,
  ...recordCases,
];

/** Runs every case; answers the ids of those whose attack got through (or that broke). */
export async function runCases(env: Env, cases: readonly Case[] = CASES): Promise<string[]> {
  const failed: string[] = [];
  for (const item of cases) {
    try {
      await item.run(env);
    } catch (error) {
      failed.push(`${item.id}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    }
  }
  return failed;
}
