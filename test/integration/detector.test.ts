/**
 * Detectors end to end through the engine (createContainment) on a real redis-server behind the
 * Upstash bridge: each detector trips, its benign twin does not, counting is global across two
 * isolates (two engines, one Redis), monitor mode records without blocking, and every way to aim a
 * detector at a victim fails to contain the victim. Alerts go to a real local HTTP receiver.
 */
import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RulesInvalid } from "../../src/core/errors.js";
import { type Containment, createContainment } from "../../src/engine/firewall.js";
import type { DetectCount } from "../../src/model/detect-store.js";
import { decoyHash } from "../../src/rules/detector/decoy.js";
import { DETECT_KEYS } from "../../src/rules/detector/keys.js";
import { redisDetectStore } from "../../src/stores/detect/redis-detect.js";
import { createRedisClient } from "../../src/stores/redis.js";
import { type AlertReceiver, startAlertReceiver } from "../support/alert-receiver.js";
import { mintHs } from "../support/jwt.js";
import {
  awayFromWindowEdge,
  dumpRedis,
  type RedisFixture,
  startRedisFixture,
  until,
} from "./redis-fixture.js";

const SECRET = "detect-example-secret-of-at-least-32-bytes!";
const DECOY_KEY = "decoy-key-for-tests-0123456789abcdef";
const EXAMPLE = JSON.parse(readFileSync("rules/examples/detect-enumeration.json", "utf8")) as {
  rules: Record<string, unknown>[];
} & Record<string, unknown>;
const TEN_MINUTES = 600_000;

let redis: RedisFixture;
let receiver: AlertReceiver;
beforeAll(async () => {
  redis = await startRedisFixture();
  receiver = await startAlertReceiver();
});
afterAll(async () => {
  await redis?.close();
  await receiver?.close();
});
beforeEach(async () => {
  await redis.io.flushall();
  receiver.posts.length = 0;
  // Counting windows are 10 minutes: a test never straddles two.
  await awayFromWindowEdge(TEN_MINUTES, 60_000);
});

/** One engine = one isolate; its background work (flushes, alerts) is awaited by `settle`. */
interface Isolate {
  containment: Containment;
  get(path: string, token?: string, headers?: Record<string, string>): Promise<number>;
  settle(): Promise<void>;
}

const isolates: Isolate[] = [];
afterEach(async () => {
  for (const isolate of isolates.splice(0)) await isolate.settle();
});

function isolate(
  document: unknown,
  env: Record<string, string> = {},
  options: { now?: () => number; reports?: string[] } = {},
): Isolate {
  const background: Promise<unknown>[] = [];
  const containment = createContainment({
    ...(options.now ? { now: options.now } : {}),
    rules: document,
    redis: redis.connection,
    mirror: false,
    env: {
      DETECT_EXAMPLE_JWT_SECRET: SECRET,
      CONTAINMENT_SALT: "salt",
      CONTAINMENT_DECOY_KEY: DECOY_KEY,
      CONTAINMENT_PAGERDUTY_ROUTING_KEY: "routing-key-1",
      CONTAINMENT_PAGERDUTY_URL: `${receiver.url}/pagerduty`,
      ...env,
    },
    onReport: (event) => options.reports?.push(event),
  });
  const made: Isolate = {
    containment,
    async get(path, token, headers = {}) {
      const request = new Request(`http://localhost${path}`, {
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      });
      const { response } = await containment.decide(request, { waitUntil: (p) => background.push(p) });
      return response?.status ?? 200;
    },
    async settle() {
      while (background.length > 0) await Promise.allSettled(background.splice(0));
    },
  };
  isolates.push(made);
  return made;
}

function token(sub: string, org = "acme", extra: Record<string, unknown> = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return mintHs(SECRET, {
    iss: "https://id.example.com/",
    aud: "api",
    sub,
    org,
    iat: now,
    exp: now + 600,
    ...extra,
  });
}

function withDetector(fields: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  const [binding, detector] = EXAMPLE.rules;
  return { ...EXAMPLE, ...extra, rules: [binding, { ...detector, ...fields }] };
}

/** Reads `ids` (one request each, in order), then waits for the isolate's flushes to land. */
async function readAll(
  on: Isolate,
  bearer: string,
  ids: readonly (string | number)[],
  tenant = "acme",
): Promise<number[]> {
  const out: number[] = [];
  for (const id of ids) out.push(await on.get(`/api/${tenant}/patients/${id}`, bearer));
  await on.settle();
  return out;
}

async function detections(): Promise<Array<Record<string, string>>> {
  const entries = await redis.io.xrange("containment:detections", "-", "+");
  return entries.map(([, fields]) => {
    const out: Record<string, string> = {};
    for (let i = 0; i < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
    return out;
  });
}

async function quarantineKeys(): Promise<string[]> {
  return redis.io.keys("containment:quarantine:*");
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe("enumeration detector (rules/examples/detect-enumeration.json)", () => {
  it("trips above 50 distinct ids, quarantines that subject on /api/:tenant/patients/** and no one else", async () => {
    const edge = isolate(EXAMPLE);
    const mallory = await token("mallory");
    const alice = await token("alice");
    const statuses = await readAll(edge, mallory, range(1000, 1051));
    expect(statuses.every((s) => s === 200)).toBe(true);
    const [trip] = await detections();
    expect(trip).toMatchObject({
      detector: "patient-enumeration",
      type: "enumeration",
      action: "quarantined",
      tenant: "acme",
      value: "51",
      threshold: "50",
      route: "/api/:tenant/patients/:id",
    });
    // The quarantine is enforced at once in the isolate that saw the crossing, on the whole scope.
    expect(await edge.get("/api/acme/patients/1052", mallory)).toBe(429);
    expect(await edge.get("/api/acme/patients/search", mallory)).toBe(429);
    // Bounded scope: other routes and other subjects are untouched.
    expect(await edge.get("/api/acme/appointments/1", mallory)).toBe(200);
    expect(await edge.get("/api/acme/patients/1", alice)).toBe(200);
    // Reuses the rate-limit quarantine keys, with a bounded TTL.
    const [key] = await quarantineKeys();
    expect(key).toMatch(
      /^containment:quarantine:tenant\+user:[0-9a-f]{16}\.[0-9a-f]{16}:patient-enumeration$/,
    );
    const ttl = await redis.io.pttl(key as string);
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);
    // Nothing raw in Redis: no subject, no record id.
    const dump = await dumpRedis(redis.io);
    expect(dump).not.toContain("mallory");
    expect(dump).not.toContain("/patients/1050");
  });

  it("benign twin: 500 re-reads of 40 records by one user, and 60 users reading 30 records each, never trip", async () => {
    const edge = isolate(EXAMPLE);
    const nurse = await token("nurse");
    const ids = range(0, 500).map((i) => 5000 + (i % 40));
    for (const id of ids) await edge.get(`/api/acme/patients/${id}`, nurse);
    await edge.settle();
    for (let user = 0; user < 60; user++) {
      const bearer = await token(`user-${user}`);
      for (const id of range(0, 30)) await edge.get(`/api/acme/patients/${id}`, bearer);
    }
    await edge.settle();
    expect(await detections()).toEqual([]);
    expect(await quarantineKeys()).toEqual([]);
  });

  it("counts globally: two isolates seeing 26 distinct ids each trip once, and the other isolate enforces", async () => {
    const east = isolate(EXAMPLE);
    const west = isolate(EXAMPLE);
    const mallory = await token("mallory");
    await readAll(east, mallory, range(0, 26));
    await readAll(west, mallory, range(26, 52));
    const trips = await detections();
    expect(trips).toHaveLength(1);
    expect(trips[0]?.action).toBe("quarantined");
    // East learns of the quarantine from a flush's watch answer (each key asked at most once a
    // second), not a round trip per request: enforced within about a second.
    const started = Date.now();
    await until(
      async () => {
        const status = await east.get("/api/acme/patients/search", mallory);
        await east.settle();
        return status === 429;
      },
      3_000,
      "east to enforce the quarantine west started",
    );
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("a key near its threshold sends its counts at once, not after the flush interval", async () => {
    // The interval is long and the clock frozen: a paced count would wait a whole interval, so a
    // flush started by a count can only be the near-threshold one. Threshold 10, near from 8.
    const now = Date.now();
    const windowMs = TEN_MINUTES;
    const window = Math.floor(now / windowMs);
    const counter = DETECT_KEYS.counter("near-test", "k1", String(window));
    const store = redisDetectStore({
      client: createRedisClient(redis.connection),
      prefix: "containment:",
      now: () => now,
      fetch,
      env: {},
      region: "test",
      report: () => {},
      intervalMs: 1_500,
    });
    const entry = (value: string): DetectCount => ({
      detector: "near-test",
      type: "enumeration",
      counter,
      detectionKey: DETECT_KEYS.detection("near-test.x.000000000000"),
      detectionId: "near-test.x.000000000000",
      dimension: "tenant+user",
      keyId: "k1",
      route: "/api/:tenant/patients/:id",
      tenant: "acme",
      window,
      windowMs,
      threshold: 10,
      value,
      plan: { mode: "alert" },
    });
    const started: Promise<unknown>[] = [];
    const waitUntil = (promise: Promise<unknown>) => void started.push(promise);
    store.count(entry("v1"), waitUntil); // the first count flushes at once: nothing was sent yet
    await Promise.all(started.splice(0));
    const distinct = () => redis.io.pfcount(`containment:${counter}`);
    expect(await distinct()).toBe(1);
    // Paced: one timer for the interval, nothing sent yet.
    for (const value of ["v2", "v3", "v4", "v5", "v6"]) store.count(entry(value), waitUntil);
    const paced = started.length;
    store.count(entry("v7"), waitUntil); // 1 known + 6 held = 7: still paced
    expect(started.length).toBe(paced);
    expect(await distinct()).toBe(1);
    store.count(entry("v8"), waitUntil); // 8 of 10: near, sent now
    expect(started.length).toBe(paced + 1);
    await started.at(-1);
    expect(await distinct()).toBe(8);
    await Promise.all(started.splice(0)); // the paced timer, so nothing outlives the test
  });

  it("an isolate still counting a key another isolate tripped on enforces from its next flush, not its next watch", async () => {
    // A frozen clock: east's once-per-interval watch of the quarantine key never comes round again.
    const clock = Date.now();
    const east = isolate(EXAMPLE, {}, { now: () => clock });
    const west = isolate(EXAMPLE, {}, { now: () => clock });
    const mallory = await token("mallory");
    await readAll(east, mallory, range(0, 26));
    await readAll(west, mallory, range(26, 52));
    expect(await detections()).toHaveLength(1);
    // East's next read counts, and its flush learns the key is over the threshold and quarantined.
    expect(await east.get("/api/acme/patients/60", mallory)).toBe(200);
    await east.settle();
    expect(await east.get("/api/acme/patients/61", mallory)).toBe(429);
  });

  it("a release reaches the isolate that set the quarantine within about a second, not at its expiry", async () => {
    const edge = isolate(withDetector({ threshold: 2 }));
    const mallory = await token("mallory");
    await readAll(edge, mallory, range(0, 3));
    expect(await edge.get("/api/acme/patients/search", mallory)).toBe(429);
    // What `containment detections release` does to the quarantine this detection set.
    const [key] = await quarantineKeys();
    await redis.io.del(key as string);
    await until(
      async () => {
        const status = await edge.get("/api/acme/patients/search", mallory);
        await edge.settle();
        return status === 200;
      },
      3_000,
      "the isolate to learn of the release",
    );
  });

  it("monitor mode records the detection and blocks nothing", async () => {
    const edge = isolate(withDetector({ mode: "monitor" }));
    const mallory = await token("mallory");
    const statuses = await readAll(edge, mallory, range(0, 60));
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect((await detections()).map((d) => d.action)).toEqual(["monitor"]);
    expect(await quarantineKeys()).toEqual([]);
    expect(await edge.get("/api/acme/patients/search", mallory)).toBe(200);
  });
});

describe("aiming a detector at a victim fails", () => {
  it("refuses, with the JSON path, a quarantine keyed by request values or a whole tenant without approval", () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ by: ["ip"] }, "$.rules[1].action.quarantine"],
      [{ by: ["user", "addressed-tenant"] }, "$.rules[1].action.quarantine"],
      [{ by: ["tenant"] }, "$.rules[1].action.quarantine"],
      [{ detect: "probing", param: undefined, by: ["ip"] }, "$.rules[1].action"],
      [{ action: { quarantine: { path: "/**", for: "15m" } } }, "$.rules[1].action.quarantine.path"],
      [
        { action: { quarantine: { path: "/api/:tenant/patients/**", for: "2d" } } },
        "$.rules[1].action.quarantine.for",
      ],
    ];
    for (const [fields, path] of cases) {
      let thrown: unknown;
      try {
        createContainment({ rules: withDetector(fields), onReport: () => {} });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(fields)).toBeInstanceOf(RulesInvalid);
      expect((thrown as RulesInvalid).issues.map((i) => i.path)).toContain(path);
    }
  });

  it("forged or unverified tokens naming the victim never count, so the victim is never quarantined", async () => {
    const edge = isolate(EXAMPLE);
    const forged = await mintHs("not-the-secret-but-long-enough-0123456789", {
      iss: "https://id.example.com/",
      aud: "api",
      sub: "victim",
      org: "acme",
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    const statuses = await readAll(edge, forged, range(0, 60));
    expect(statuses.every((s) => s === 401)).toBe(true);
    expect(await detections()).toEqual([]);
    expect(await edge.get("/api/acme/patients/1", await token("victim"))).toBe(200);
  });

  it("requests addressing another tenant count against nobody in that tenant", async () => {
    const edge = isolate(EXAMPLE);
    const mallory = await token("mallory", "acme");
    const statuses = await readAll(edge, mallory, range(0, 60), "globex");
    expect(statuses.every((s) => s === 403)).toBe(true);
    expect(await detections()).toEqual([]);
    expect(await edge.get("/api/globex/patients/1", await token("victim", "globex"))).toBe(200);
  });

  it("an exhausted budget contains no more and alerts at critical severity", async () => {
    const edge = isolate(withDetector({ threshold: 2, budget: { max: 1, per: "1h" } }));
    for (const user of ["one", "two"]) await readAll(edge, await token(user), range(0, 3));
    expect((await detections()).map((d) => d.action)).toEqual(["quarantined", "budget-exhausted"]);
    expect(await quarantineKeys()).toHaveLength(1);
    expect(await edge.get("/api/acme/patients/9", await token("two"))).toBe(200);
    const severities = receiver.posts.map(
      (p) => (JSON.parse(p.body) as { payload: { severity: string } }).payload.severity,
    );
    expect(severities).toEqual(["error", "critical"]);
  });

  it("a bad rules push (trips on many keys at once) pauses automatic action as a suspected configuration error", async () => {
    const edge = isolate(withDetector({ threshold: 1, settle: { for: "10m", maxKeys: 2 } }));
    for (const user of ["a", "b", "c", "d"]) await readAll(edge, await token(user), range(0, 2));
    expect((await detections()).map((d) => d.action)).toEqual([
      "quarantined",
      "quarantined",
      "paused-suspected-misconfiguration",
      "paused-suspected-misconfiguration",
    ]);
    expect(await quarantineKeys()).toHaveLength(2);
  });

  it("a whole-tenant key only proposes containment: nothing is contained until a person approves", async () => {
    const edge = isolate(
      withDetector({
        by: ["tenant"],
        threshold: 3,
        action: {
          quarantine: { path: "/api/:tenant/patients/**", for: "15m", wholeTenant: "with-approval" },
        },
      }),
    );
    // Two users, two distinct records each: the tenant's count (4) crosses 3.
    await readAll(edge, await token("a"), range(0, 2));
    await readAll(edge, await token("b"), range(2, 4));
    expect((await detections()).map((d) => d.action)).toEqual(["awaiting-approval"]);
    expect(await quarantineKeys()).toEqual([]);
    expect(await edge.get("/api/acme/patients/1", await token("c"))).toBe(200);
    const [event] = receiver.posts.map((p) => JSON.parse(p.body) as { payload: Record<string, unknown> });
    expect(event?.payload.severity).toBe("critical");
    expect(event?.payload.custom_details).toMatchObject({
      approve: expect.stringContaining("detections approve"),
    });
  });

  it("a route marked never-contain stays open to a quarantined subject", async () => {
    const edge = isolate(
      withDetector({ threshold: 2 }, { detection: { neverContain: ["/api/:tenant/patients/emergency/**"] } }),
    );
    const mallory = await token("mallory");
    await readAll(edge, mallory, range(0, 3));
    expect(await edge.get("/api/acme/patients/search", mallory)).toBe(429);
    expect(await edge.get("/api/acme/patients/emergency/now", mallory)).toBe(200);
  });
});

describe("surge detector", () => {
  it("trips above 10x the key's own trailing rate and the floor; a busy key and a key without history do not", async () => {
    // An injected clock walks whole 1-minute windows; the baseline is the key's own history.
    let clock = Math.ceil(Date.now() / 60_000) * 60_000 + 1_000;
    const edge = isolate(
      withDetector({
        id: "export-surge",
        detect: "surge",
        match: { path: "/api/:tenant/exports", methods: ["GET"] },
        param: undefined,
        window: "1m",
        baseline: "10m",
        multiplier: 10,
        threshold: 100,
        action: "alert",
      }),
      {},
      { now: () => clock },
    );
    const long = { exp: Math.floor(Date.now() / 1000) + 7_200 };
    const steady = await token("steady", "acme", long);
    const busy = await token("busy", "acme", long);
    const fresh = await token("fresh", "acme", long);
    const burst = async (bearer: string, n: number) => {
      for (let i = 0; i < n; i++) await edge.get("/api/acme/exports", bearer);
    };
    for (let window = 0; window < 11; window++) {
      await burst(steady, 3);
      await burst(busy, 20);
      await edge.settle();
      clock += 60_000;
    }
    await burst(steady, 101);
    await burst(busy, 150);
    await burst(fresh, 150);
    await edge.settle();
    const trips = await detections();
    expect(trips.map((d) => [d.type, d.value, d.action])).toEqual([["surge", "101", "alert"]]);
    expect(trips[0]?.id).toMatch(/^export-surge\./);
  });

  it("refuses a surge without a multiplier, with its JSON path", () => {
    expect(() =>
      createContainment({
        rules: withDetector({ detect: "surge", param: undefined, action: "alert" }),
        onReport: () => {},
      }),
    ).toThrow(/multiplier/);
  });
});

describe("when Redis fails", () => {
  it("no request waits on a frozen Redis, and after 5 s without a flush the detector's fail mode decides", async () => {
    let clock = Date.now();
    const reports: string[] = [];
    const edge = isolate(withDetector({ failMode: "closed" }), {}, { now: () => clock, reports });
    const mallory = await token("mallory");
    expect(await edge.get("/api/acme/patients/0", mallory)).toBe(200);
    await edge.settle();
    await redis.server.pause();
    try {
      const started = Date.now();
      for (const id of range(1, 6)) expect(await edge.get(`/api/acme/patients/${id}`, mallory)).toBe(200);
      expect(Date.now() - started).toBeLessThan(1_000);
      await edge.settle();
      expect(reports).toContain("detector-flush-error");
      // Still within 5 s of the failure: served (one lost flush is not an outage).
      expect(await edge.get("/api/acme/patients/7", mallory)).toBe(200);
      clock += 6_000;
      // failMode closed refuses the detector's quarantine scope only; other routes are untouched.
      expect(await edge.get("/api/acme/patients/8", mallory)).toBe(503);
      expect(await edge.get("/api/acme/appointments/1", mallory)).toBe(200);
    } finally {
      redis.server.resume();
    }
  });
});

describe("honeytoken detector", () => {
  async function honeytokenDoc(): Promise<unknown> {
    return withDetector({
      id: "decoy-patient",
      detect: "honeytoken",
      threshold: undefined,
      window: undefined,
      decoys: [await decoyHash(DECOY_KEY, "99999")],
      allow: { subjects: ["scanner"] },
      action: undefined,
    });
  }

  it("a verified, same-origin or direct read of a decoy trips and alerts; the decoy is not in the rules", async () => {
    const doc = await honeytokenDoc();
    expect(JSON.stringify(doc)).not.toContain("99999");
    const edge = isolate(doc);
    expect(
      await edge.get("/api/acme/patients/99999", await token("mallory"), { "sec-fetch-site": "same-origin" }),
    ).toBe(200);
    await edge.settle();
    expect((await detections()).map((d) => [d.type, d.action])).toEqual([["honeytoken", "alert"]]);
    expect(receiver.posts).toHaveLength(1);
  });

  it("cross-site, prefetch, allowlisted and unverified hits never count", async () => {
    const edge = isolate(await honeytokenDoc());
    const victim = await token("victim");
    const hits: Array<[string | undefined, Record<string, string>]> = [
      [victim, { "sec-fetch-site": "cross-site" }],
      [victim, { "sec-fetch-site": "same-site" }],
      [victim, { "sec-purpose": "prefetch" }],
      [victim, { purpose: "prefetch" }],
      [victim, { "next-router-prefetch": "1" }],
      [await token("scanner"), {}],
      [undefined, {}],
    ];
    for (const [bearer, headers] of hits) await edge.get("/api/acme/patients/99999", bearer, headers);
    // A non-decoy id by the same user does not count either.
    await edge.get("/api/acme/patients/12345", victim);
    await edge.settle();
    expect(await detections()).toEqual([]);
  });
});

describe("probing detector", () => {
  const probing = (fields: Record<string, unknown> = {}) => ({
    ...EXAMPLE,
    rules: [
      EXAMPLE.rules[0],
      {
        id: "tenant-probing",
        kind: "detector",
        detect: "probing",
        match: { path: "/api/:tenant/**" },
        by: ["ip"],
        window: "10m",
        threshold: 5,
        ...fields,
      },
    ],
  });

  it("counts tenant-binding refusals per client network and alerts only", async () => {
    const edge = isolate(probing());
    const mallory = await token("mallory", "acme");
    for (const i of range(0, 6))
      await edge.get(`/api/globex/patients/${i}`, mallory, { "x-real-ip": "203.0.113.9" });
    await edge.settle();
    expect((await detections()).map((d) => [d.type, d.action, d.dimension])).toEqual([
      ["probing", "alert", "ip"],
    ]);
    expect(await quarantineKeys()).toEqual([]);
  });

  it("benign twin: allowed requests never count as probing", async () => {
    const edge = isolate(probing());
    const alice = await token("alice", "acme");
    for (const i of range(0, 20))
      await edge.get(`/api/acme/patients/${i}`, alice, { "x-real-ip": "203.0.113.9" });
    await edge.settle();
    expect(await detections()).toEqual([]);
  });
});

describe("alerts", () => {
  it("sends one PagerDuty Events v2 trigger per detection across isolates, with no raw identifier", async () => {
    const east = isolate(withDetector({ threshold: 3 }));
    const west = isolate(withDetector({ threshold: 3 }));
    const mallory = await token("mallory");
    // Both isolates cross together: each holds 4 distinct ids when they flush.
    await Promise.all([
      ...range(0, 4).map((id) => east.get(`/api/acme/patients/${id}`, mallory)),
      ...range(4, 8).map((id) => west.get(`/api/acme/patients/${id}`, mallory)),
    ]);
    await Promise.all([east.settle(), west.settle()]);
    expect(receiver.posts).toHaveLength(1);
    const [post] = receiver.posts;
    expect(post?.path).toBe("/pagerduty");
    const event = JSON.parse(post?.body ?? "{}");
    const [trip] = await detections();
    expect(event).toMatchObject({
      routing_key: "routing-key-1",
      event_action: "trigger",
      dedup_key: trip?.id,
      payload: {
        severity: "error",
        source: "edge-containment/local",
        custom_details: { detection: trip?.id, tenant: "acme" },
      },
    });
    expect(event.payload.summary).toContain("enumeration detector patient-enumeration tripped");
    expect(post?.body).not.toContain("mallory");
  });
});
