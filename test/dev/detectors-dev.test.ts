/**
 * Every detector end to end through `containment dev`: two dev servers (two workerd isolates, each
 * with its own Edge Config stand-in and Upstash bridge) share one real redis-server, as two regions
 * share one Redis. Each detector trips and its benign twin does not; counting is global across the
 * two isolates; monitor mode records without blocking; every attempt to aim a detector at a victim
 * fails to contain the victim (unverified keys, addressed tenants, cross-site and prefetch
 * honeytoken hits, an exhausted budget, a bad rules push); the CLI with `--local` lists, audits and
 * releases; alerts reach a local receiver once per detection across both isolates, as a PagerDuty
 * Events v2 event (every field checked), a Slack message and a generic JSON body whose HMAC the
 * receiver verifies, and each resolves on release.
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis as IoRedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../src/dev/server.js";
import { decoyHash } from "../../src/rules/detector/decoy.js";
import { awayFromWindowEdge, until } from "../integration/redis-fixture.js";
import { type AlertReceiver, startAlertReceiver } from "../support/alert-receiver.js";
import { runCli } from "../support/cli.js";
import { type EchoUpstream, startEchoUpstream } from "../support/echo-upstream.js";
import { mintHs } from "../support/jwt.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

const SECRET = "detect-example-secret-of-at-least-32-bytes!";
const DECOY_KEY = "decoy-key-for-dev-tests-0123456789";
const HOOK_SECRET = "alert-webhook-secret-0123456789";
/** Where detections alert, in the edge's environment and (for the resolve) the responder's. */
const alertEnv = (url: string) => ({
  CONTAINMENT_PAGERDUTY_ROUTING_KEY: "routing-key-dev",
  CONTAINMENT_PAGERDUTY_URL: `${url}/pagerduty`,
  CONTAINMENT_SLACK_WEBHOOK_URL: `${url}/slack`,
  CONTAINMENT_ALERT_WEBHOOK_URL: `${url}/hook`,
  CONTAINMENT_ALERT_WEBHOOK_SECRET: HOOK_SECRET,
});
const BINDING = {
  id: "api-tenant",
  kind: "tenant-binding",
  match: { path: "/api/:tenant/**" },
  tenant: { from: "path", param: "tenant" },
  token: {
    from: "authorization",
    claim: "org",
    secretEnv: "DETECT_EXAMPLE_JWT_SECRET",
    algorithms: ["HS256"],
    issuer: "https://id.example.com/",
    audience: "api",
  },
};
const enumeration = (fields: Record<string, unknown> = {}) => ({
  id: "patient-enumeration",
  kind: "detector",
  detect: "enumeration",
  match: { path: "/api/:tenant/patients/:id", methods: ["GET"] },
  param: "id",
  by: ["user", "tenant"],
  window: "10m",
  threshold: 5,
  action: { quarantine: { path: "/api/:tenant/patients/**", for: "15m" } },
  ...fields,
});

async function rulesDocument(extra: Record<string, unknown>[] = []): Promise<Record<string, unknown>> {
  return {
    version: 1,
    tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
    tenants: {
      acme: { origins: ["https://acme.example.com"] },
      globex: { origins: ["https://globex.example.com"] },
    },
    rules: [
      BINDING,
      enumeration(),
      {
        id: "notes-enumeration",
        kind: "detector",
        detect: "enumeration",
        mode: "monitor",
        match: { path: "/api/:tenant/notes/:id", methods: ["GET"] },
        param: "id",
        by: ["user", "tenant"],
        window: "10m",
        threshold: 5,
        action: { quarantine: { path: "/api/:tenant/notes/**", for: "15m" } },
      },
      {
        id: "labs-enumeration",
        kind: "detector",
        detect: "enumeration",
        match: { path: "/api/:tenant/labs/:id", methods: ["GET"] },
        param: "id",
        by: ["user", "tenant"],
        window: "10m",
        threshold: 2,
        budget: { max: 1, per: "1h" },
        action: { quarantine: { path: "/api/:tenant/labs/**", for: "15m" } },
      },
      {
        id: "decoy-record",
        kind: "detector",
        detect: "honeytoken",
        match: { path: "/api/:tenant/records/:id" },
        param: "id",
        by: ["user", "tenant"],
        decoys: [await decoyHash(DECOY_KEY, "99999")],
      },
      {
        id: "tenant-probing",
        kind: "detector",
        detect: "probing",
        match: { path: "/api/:tenant/appointments/**" },
        by: ["ip"],
        window: "10m",
        threshold: 3,
      },
      {
        id: "export-surge",
        kind: "detector",
        detect: "surge",
        match: { path: "/api/:tenant/exports" },
        by: ["user", "tenant"],
        window: "2s",
        baseline: "20s",
        multiplier: 5,
        threshold: 20,
      },
      ...extra,
    ],
  };
}

let redis: RedisServer;
let io: IoRedis;
let receiver: AlertReceiver;
let upstream: EchoUpstream;
let east: DevServer;
let west: DevServer;
let cwd: string;
let rulesFile: string;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-dev-detect-"));
  rulesFile = join(cwd, "rules.json");
  writeFileSync(rulesFile, JSON.stringify(await rulesDocument()));
  redis = await startRedisServer();
  io = new IoRedis(redis.url);
  receiver = await startAlertReceiver();
  // An origin that answers 200 on every path: a status other than 200 is the firewall's.
  upstream = await startEchoUpstream();
  const env = {
    DETECT_EXAMPLE_JWT_SECRET: SECRET,
    // Not named in --pass-env: a honeytoken's decoy key and the alert variables pass by themselves.
    CONTAINMENT_DECOY_KEY: DECOY_KEY,
    ...alertEnv(receiver.url),
    // Both isolates must name a subject with the same pseudonym, as every region of a deployment does.
    CONTAINMENT_SALT: "dev-detect-salt",
  };
  const start = (endpointsDir: string | false) =>
    startDevServer({
      port: 0,
      redis: redis.url,
      rules: rulesFile,
      upstream: upstream.url,
      endpointsDir,
      env,
      passEnv: ["CONTAINMENT_SALT"],
      log: () => {},
    });
  [east, west] = await Promise.all([start(cwd), start(false)]);
}, 180_000);

afterAll(async () => {
  await east?.close();
  await west?.close();
  io?.disconnect();
  await redis?.stop();
  await receiver?.close();
  await upstream?.close();
});

function token(sub: string, org = "acme", secret = SECRET): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return mintHs(secret, { iss: "https://id.example.com/", aud: "api", sub, org, iat: now, exp: now + 900 });
}

async function get(dev: DevServer, path: string, bearer?: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${dev.urls.firewall}${path}`, {
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
  });
  await response.arrayBuffer();
  return response.status;
}

async function detections(detector?: string): Promise<Array<Record<string, string>>> {
  const entries = await io.xrange("containment:detections", "-", "+");
  return entries
    .map(([, fields]) => {
      const out: Record<string, string> = {};
      for (let i = 0; i < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
      return out;
    })
    .filter((d) => detector === undefined || d.detector === detector);
}

/** Waits until the isolates' flushes have written `n` detections of `detector` (or fails naming it). */
async function tripped(detector: string, n = 1): Promise<Array<Record<string, string>>> {
  await until(async () => (await detections(detector)).length >= n, 15_000, `${n} ${detector} detection(s)`);
  return detections(detector);
}

/** A benign twin's requests have been flushed: a later marker request (a new key) reached Redis. */
let markers = 0;
async function flushed(dev: DevServer): Promise<void> {
  const marker = await token(`marker-${markers++}`);
  const before = (await io.keys("containment:detect:export-surge:*")).length;
  await get(dev, "/api/acme/exports", marker);
  await until(
    async () => (await io.keys("containment:detect:export-surge:*")).length > before,
    15_000,
    "the marker's flush",
  );
}

// The responder's shell names the same alert target, so the release's resolve reaches it.
/** Every alert post about one detection, in arrival order. */
function alertsFor(id: string) {
  return receiver.posts.filter((p) => p.body.includes(id));
}

/** The generic body, after checking its signature as a receiver would (HMAC-SHA256 of "<t>.<body>"). */
function verified(
  post: { headers: Record<string, unknown>; body: string } | undefined,
): Record<string, unknown> {
  const header = String(post?.headers["x-containment-signature"] ?? "");
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!match || !post) throw new Error(`no valid signature header: ${header}`);
  const expected = createHmac("sha256", HOOK_SECRET).update(`${match[1]}.${post.body}`).digest("hex");
  if (expected !== match[2]) throw new Error("the signature does not verify");
  if (Math.abs(Date.now() / 1000 - Number(match[1])) > 300) throw new Error("a stale signature");
  return JSON.parse(post.body) as Record<string, unknown>;
}

const local = (args: string[]) =>
  runCli([...args, "--local"], {
    cwd,
    env: alertEnv(receiver.url),
  });

describe("detectors through containment dev, two isolates, one Redis", { timeout: 180_000 }, () => {
  it("enumeration counts globally across both isolates, contains in both, alerts once; its benign twin never trips", async () => {
    await awayFromWindowEdge(600_000, 90_000);
    const mallory = await token("mallory");
    const nurse = await token("nurse");
    // The nurse re-reads her five patients over and over, in both isolates: never above 5 distinct.
    for (let i = 0; i < 30; i++)
      expect(await get(i % 2 ? east : west, `/api/acme/patients/${100 + (i % 5)}`, nurse)).toBe(200);
    // Mallory reads 3 distinct ids in each isolate: neither alone crosses 5, together they do.
    for (let id = 0; id < 6; id++)
      expect(await get(id < 3 ? east : west, `/api/acme/patients/${id}`, mallory)).toBe(200);
    const [trip] = await tripped("patient-enumeration");
    expect(trip).toMatchObject({ action: "quarantined", value: "6", tenant: "acme" });
    for (const dev of [east, west])
      await until(
        async () => (await get(dev, "/api/acme/patients/search", mallory)) === 429,
        10_000,
        "the quarantine in both isolates",
      );
    // Bounded scope: the nurse, and mallory elsewhere, are served.
    expect(await get(east, "/api/acme/patients/100", nurse)).toBe(200);
    expect(await get(east, "/api/acme/appointments/1", mallory)).toBe(200);
    expect(await detections("patient-enumeration")).toHaveLength(1);
    const id = trip?.id as string;
    await until(() => alertsFor(id).length >= 3, 10_000, "the three alerts");
    const [pagerduty, slack, hook] = ["/pagerduty", "/slack", "/hook"].map((path) =>
      alertsFor(id).filter((p) => p.path === path),
    );
    // One of each across both isolates.
    expect([pagerduty?.length, slack?.length, hook?.length]).toEqual([1, 1, 1]);
    expect(JSON.parse(pagerduty?.[0]?.body ?? "{}")).toEqual({
      routing_key: "routing-key-dev",
      event_action: "trigger",
      dedup_key: id,
      payload: {
        summary: expect.stringContaining(
          "enumeration detector patient-enumeration tripped: 6 distinct records",
        ),
        source: "edge-containment/local",
        severity: "error",
        timestamp: new Date(Number(trip?.at)).toISOString(),
        component: "/api/:tenant/patients/:id",
        group: "edge-containment",
        class: "detector/enumeration",
        custom_details: expect.objectContaining({
          detection: id,
          tenant: "acme",
          action: "quarantined",
          release: `containment detections release ${id}`,
        }),
      },
    });
    expect(JSON.parse(slack?.[0]?.body ?? "{}").text).toContain(`containment detections release ${id}`);
    expect(verified(hook?.[0])).toMatchObject({ event: "trigger", detection: id, severity: "error" });
    expect(receiver.posts.map((p) => p.body).join("")).not.toContain("mallory");
  });

  it("monitor mode records what it would have done and blocks nothing", async () => {
    const trudy = await token("trudy");
    for (let id = 0; id < 8; id++) expect(await get(east, `/api/acme/notes/${id}`, trudy)).toBe(200);
    const [trip] = await tripped("notes-enumeration");
    expect(trip?.action).toBe("monitor");
    expect(await get(east, "/api/acme/notes/search", trudy)).toBe(200);
    expect(await io.keys("containment:quarantine:*:notes-enumeration")).toEqual([]);
  });

  it("honeytoken: a direct read of the decoy trips; cross-site, prefetch and other ids by a victim do not", async () => {
    const victim = await token("victim");
    const hits: Array<Record<string, string>> = [
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { "sec-purpose": "prefetch" },
      { "next-router-prefetch": "1" },
    ];
    // Tenant binding may refuse a cross-site read itself; either way nothing counts against the victim.
    for (const headers of hits)
      expect(await get(west, "/api/acme/records/99999", victim, headers)).not.toBe(429);
    expect(await get(west, "/api/acme/records/12345", victim)).toBe(200);
    await flushed(west);
    expect(await detections("decoy-record")).toEqual([]);
    const insider = await token("insider");
    expect(await get(west, "/api/acme/records/99999", insider, { "sec-fetch-site": "same-origin" })).toBe(
      200,
    );
    const [trip] = await tripped("decoy-record");
    expect(trip).toMatchObject({ type: "honeytoken", action: "alert", tenant: "acme" });
  });

  it("probing: tenant-binding refusals trip an alert; allowed traffic does not count", async () => {
    const alice = await token("alice");
    for (let i = 0; i < 10; i++) expect(await get(east, `/api/acme/appointments/${i}`, alice)).toBe(200);
    await flushed(east);
    expect(await detections("tenant-probing")).toEqual([]);
    // Mallory of acme asks for globex's records: refused, and counted per client network.
    const mallory = await token("mallory");
    for (let i = 0; i < 4; i++) expect(await get(east, `/api/globex/appointments/${i}`, mallory)).toBe(403);
    const [trip] = await tripped("tenant-probing");
    expect(trip).toMatchObject({ type: "probing", action: "alert", dimension: "ip" });
    expect(await io.keys("containment:quarantine:*:tenant-probing")).toEqual([]);
  });

  it("surge: far above the key's own trailing rate trips; a new key bursting the same does not", async () => {
    const steady = await token("steady");
    const fresh = await token("fresh");
    // Two whole 2-second windows of history at one request per window.
    const window = () => Math.floor(Date.now() / 2_000);
    const first = window();
    while (window() < first + 3) {
      const now = window();
      expect(await get(west, "/api/acme/exports", steady)).toBe(200);
      await until(() => window() > now, 3_000, "the next 2 s window");
    }
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        get(i % 2 ? east : west, "/api/acme/exports", i < 25 ? steady : fresh),
      ),
    );
    const trips = await tripped("export-surge");
    await flushed(east);
    expect((await detections("export-surge")).length).toBe(trips.length);
    expect(trips).toHaveLength(1);
    expect(trips[0]).toMatchObject({ type: "surge", action: "alert" });
  });

  it("a forged token naming the victim, or requests addressing another tenant, never contain the victim", async () => {
    const forged = await token("victim-2", "acme", "not-the-secret-but-long-enough-0123456789");
    for (let id = 0; id < 10; id++)
      expect(await get(east, `/api/acme/patients/${200 + id}`, forged)).toBe(401);
    const mallory = await token("mallory", "acme");
    for (let id = 0; id < 10; id++)
      expect(await get(west, `/api/globex/patients/${200 + id}`, mallory)).toBe(403);
    const victim = await token("victim-2");
    const globexVictim = await token("victim-3", "globex");
    await flushed(east);
    expect(await detections("patient-enumeration")).toHaveLength(1);
    expect(await get(east, "/api/acme/patients/1", victim)).toBe(200);
    expect(await get(west, "/api/globex/patients/1", globexVictim)).toBe(200);
  });

  it("an exhausted budget contains no more and says so at critical severity", async () => {
    const one = await token("lab-one");
    const two = await token("lab-two");
    for (let id = 0; id < 3; id++) await get(east, `/api/acme/labs/${id}`, one);
    await tripped("labs-enumeration", 1);
    for (let id = 0; id < 3; id++) await get(east, `/api/acme/labs/${id}`, two);
    const trips = await tripped("labs-enumeration", 2);
    expect(trips.map((d) => d.action)).toEqual(["quarantined", "budget-exhausted"]);
    expect(await get(east, "/api/acme/labs/9", two)).toBe(200);
    await until(
      () => receiver.posts.some((p) => p.body.includes('"critical"') && p.body.includes(trips[1]?.id ?? "?")),
      10_000,
      "the critical page",
    );
  });

  it("a bad rules push that trips on many keys at once pauses containment as a suspected misconfiguration", async () => {
    // The push: a threshold of 1 on a route every user reads two records of.
    writeFileSync(
      rulesFile,
      JSON.stringify(
        await rulesDocument([
          {
            ...enumeration({ id: "visits-enumeration", threshold: 1, settle: { for: "10m", maxKeys: 2 } }),
            match: { path: "/api/:tenant/visits/:id", methods: ["GET"] },
            action: { quarantine: { path: "/api/:tenant/visits/**", for: "15m" } },
          },
        ]),
      ),
    );
    const users = await Promise.all(["v1", "v2", "v3", "v4"].map((sub) => token(sub)));
    const probe = users[0] as string;
    await until(
      async () => {
        await get(west, "/api/acme/visits/0", probe);
        return (await io.keys("containment:detect:visits-enumeration:*")).length > 0;
      },
      20_000,
      "both isolates to load the pushed rules",
    );
    for (const user of users) for (const id of [1, 2]) await get(west, `/api/acme/visits/${id}`, user);
    const trips = await tripped("visits-enumeration", 4);
    expect(trips.map((d) => d.action).sort()).toEqual([
      "paused-suspected-misconfiguration",
      "paused-suspected-misconfiguration",
      "quarantined",
      "quarantined",
    ]);
    expect(await io.keys("containment:quarantine:*:visits-enumeration")).toHaveLength(2);
  });

  it("the CLI lists and audits the detections, and a release lets the subject through and resolves its alert", async () => {
    const listed = await local(["detections", "list", "--json"]);
    expect(listed.code, listed.stderr).toBe(0);
    const rows = (listed.json as { detections: Array<{ id: string; detector: string }> }).detections;
    const trip = rows.find((row) => row.detector === "patient-enumeration");
    expect(trip).toBeDefined();
    const released = await local([
      "detections",
      "release",
      trip?.id ?? "",
      "--reason",
      "drill",
      "--yes",
      "--json",
    ]);
    expect(released.code, released.stderr).toBe(0);
    expect(released.json).toMatchObject({ quarantine: "released" });
    const mallory = await token("mallory");
    for (const dev of [east, west])
      await until(
        async () => (await get(dev, "/api/acme/patients/search", mallory)) === 200,
        10_000,
        "mallory served again",
      );
    const id = trip?.id as string;
    await until(() => alertsFor(id).length >= 6, 10_000, "the three resolves");
    const resolves = alertsFor(id).slice(3);
    expect(resolves.map((p) => p.path).sort()).toEqual(["/hook", "/pagerduty", "/slack"]);
    const byPath = Object.fromEntries(resolves.map((p) => [p.path, p]));
    expect(JSON.parse(byPath["/pagerduty"]?.body ?? "{}")).toEqual({
      routing_key: "routing-key-dev",
      event_action: "resolve",
      dedup_key: id,
    });
    expect(JSON.parse(byPath["/slack"]?.body ?? "{}").text).toContain(`detection ${id} released`);
    expect(verified(byPath["/hook"])).toMatchObject({ event: "resolve", detection: id });
    const log = await local(["audit", "log", "--json"]);
    const actions = (log.json as { entries: Array<{ entry: { action: string } }> }).entries.map(
      (r) => r.entry.action,
    );
    expect(actions.filter((a) => a === "detection").length).toBe(rows.length);
    expect(actions).toContain("detection-release");
    expect((await local(["audit", "verify", "--json"])).json).toMatchObject({ ok: true });
  });
});
