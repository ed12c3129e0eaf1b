/**
 * The drop-in for real: examples/next-app, a Next.js 16 App Router app depending on the
 * `npm pack` tarball of this repository, built with `next build` (Turbopack; `--webpack` once for its
 * warnings) and run with `next start`, as middleware.ts and as the proxy.ts variant. Rules come from
 * the local Edge Config stand-in (real `@vercel/edge-config` client inside Next), rate limits from a
 * real redis-server behind the Upstash REST bridge. A spelling leaks exactly when the export
 * handler's canary (`x-canary: patient-export`) answers.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import {
  APP,
  follow,
  installPackedPackage,
  type NextServer,
  nextBuild,
  nextStart,
  nextSuitesRun,
  REPO,
  rawRequest,
  type Variant,
  variantDir,
} from "../support/next-app.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { BENIGN_TWINS, METHODS, REWRITE_SPELLINGS, ROUTE_SPELLINGS } from "./spellings.js";

const SECRET = "example-jwt-secret-for-tests-only-0123456789";
const KILL_KEY = "containment_kill_export-freeze";
const KILL = {
  id: "export-freeze",
  match: { path: "/api/patients/*/export" },
  incident: "INC-12",
  version: 1,
};
const NOTES_KILL_KEY = "containment_kill_notes-freeze";
const NOTES_KILL = { id: "notes-freeze", match: { path: "/notes", methods: ["POST"] } };
const CANARY = "patient-export";
const DASHBOARD_TOKEN = "example-dashboard-token-for-tests-only";
const BUILD_TIMEOUT = 20 * 60_000;

// Other helpers' clones run `npm test` without the example installed; CI always installs it, so
// there a missing install fails instead of skipping.
const enabled = nextSuitesRun();

let redis: RedisServer;
let bridge: UpstashBridge;
let ec: EdgeConfigServer;
const dirs: Partial<Record<Variant, string>> = {};
const timings: Record<string, number> = {};
let webpackOutput = "";
let turbopackOutput = "";

async function patch(items: Array<{ operation: "upsert" | "delete"; key: string; value?: unknown }>) {
  const response = await fetch(`${ec.apiUrl}/v1/edge-config/${ec.id}/items`, {
    method: "PATCH",
    headers: { authorization: `Bearer ${ec.apiToken}`, "content-type": "application/json" },
    body: JSON.stringify({ items }),
  });
  expect(response.status).toBe(200);
}

/** Polls until `done` holds: a condition waited on, with a deadline, never a sleep that hopes. */
async function until(done: () => Promise<boolean>, what: string, ms = 15_000): Promise<number> {
  const started = Date.now();
  while (!(await done())) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 25));
  }
  return Date.now() - started;
}

function token(org: string): Promise<string> {
  return new SignJWT({ org_id: org })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(new TextEncoder().encode(SECRET));
}

describe.skipIf(!enabled)("the example Next.js app built with next build and run with next start", () => {
  beforeAll(async () => {
    let started = Date.now();
    installPackedPackage();
    timings.packAndInstallMs = Date.now() - started;
    redis = await startRedisServer();
    bridge = await startUpstashBridge({ redisUrl: redis.url });
    const rules = JSON.parse(readFileSync(join(APP, "containment.rules.json"), "utf8"));
    ec = await startEdgeConfigServer({ items: { containment: rules, [KILL_KEY]: KILL } });
    dirs.middleware = variantDir("middleware");
    const turbopack = nextBuild(dirs.middleware);
    timings.buildMiddlewareMs = turbopack.ms;
    turbopackOutput = turbopack.output;
    started = Date.now();
    webpackOutput = nextBuild(dirs.middleware, { webpack: true, distDir: ".next-webpack" }).output;
    timings.buildWebpackMs = Date.now() - started;
    dirs.proxy = variantDir("proxy");
    timings.buildProxyMs = nextBuild(dirs.proxy).ms;
  }, BUILD_TIMEOUT);

  afterAll(async () => {
    await ec?.close();
    await bridge?.close();
    await redis?.stop();
    // Build times and flip/lift latencies go to benchmark results, not into assertions.
    mkdirSync(join(REPO, "bench/results"), { recursive: true });
    writeFileSync(join(REPO, "bench/results/next-app.json"), `${JSON.stringify(timings, null, 2)}\n`);
  });

  it("ships source maps that carry their sources, since src/ is not in the package", () => {
    const dist = join(APP, "node_modules/edge-containment/dist");
    const maps = readdirSync(dist, { recursive: true, encoding: "utf8" }).filter((f) =>
      f.endsWith(".js.map"),
    );
    expect(maps.length).toBeGreaterThan(10);
    const missing = maps.filter((file) => {
      const map = JSON.parse(readFileSync(join(dist, file), "utf8")) as {
        sources: string[];
        sourcesContent?: unknown[];
      };
      return map.sources.some((_, i) => typeof map.sourcesContent?.[i] !== "string");
    });
    expect(missing).toEqual([]);
  });

  it("prints no matcher warning for the example's catch-all matcher, with Turbopack and webpack", () => {
    // The skipping matcher's warnings are test/next-app/matcher.test.ts's; this is their negative.
    for (const output of [turbopackOutput, webpackOutput]) {
      expect(output).toContain("Compiled");
      expect(output.split("\n").filter((line) => line.includes("edge-containment:"))).toEqual([]);
    }
  });

  it("builds with next build --webpack without a warning from this package", () => {
    const warnings = webpackOutput
      .split("\n")
      .filter((line) => /edge-containment|CompressionStream|DecompressionStream|Edge Runtime/i.test(line));
    expect(warnings).toEqual([]);
    expect(webpackOutput).toContain("Compiled");
  });

  for (const variant of ["middleware", "proxy"] as const) {
    const title = `as ${variant === "middleware" ? "middleware.ts (edge runtime)" : "proxy.ts (Node runtime)"}`;
    // Dozens of raw requests to a real server on a loaded 2-core machine: room, not a speed claim.
    describe(title, { timeout: 120_000 }, () => {
      let next: NextServer;
      const ip = variant === "middleware" ? "203.0.113.10" : "203.0.113.20";
      const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
        follow(next.port, method, path, { "x-real-ip": ip, ...headers });

      beforeAll(async () => {
        next = await nextStart(dirs[variant] as string, {
          EDGE_CONFIG: ec.connectionString,
          UPSTASH_REDIS_REST_URL: bridge.url,
          UPSTASH_REDIS_REST_TOKEN: bridge.token,
          CONTAINMENT_SALT: "example-salt-for-tests-only",
          EXAMPLE_JWT_SECRET: SECRET,
          EXAMPLE_DASHBOARD_TOKEN: DASHBOARD_TOKEN,
        });
      }, 90_000);
      afterAll(() => next?.close());

      it("never lets a spelling of the blocked route reach its handler, with any method", async () => {
        const leaks: string[] = [];
        for (const path of [...ROUTE_SPELLINGS, ...REWRITE_SPELLINGS])
          for (const method of METHODS) {
            const answer = await get(path, {}, method);
            if (answer.headers["x-canary"] === CANARY) leaks.push(`${method} ${path} → ${answer.status}`);
          }
        expect(leaks).toEqual([]);
      });

      it("blocks the plain route, the rewritten sources and the app's own rewrite with the firewall's answer", async () => {
        for (const path of ["/portal/api/patients/1/export", ...REWRITE_SPELLINGS]) {
          const answer = await get(path);
          expect(answer.status, path).toBe(503);
          expect(JSON.parse(answer.body), path).toMatchObject({ rule: "export-freeze", incident: "INC-12" });
        }
      });

      it("lets the benign twins through to the app", async () => {
        for (const path of BENIGN_TWINS) {
          const answer = await get(path);
          expect(answer.status, path).not.toBe(503);
          expect(answer.body, path).not.toContain('"rule"');
        }
        expect((await get("/portal/api/patients/1")).headers["x-canary"]).toBe("patient");
      });

      it("adds the headers rule to route-handler responses, also through compose", async () => {
        const answer = await get("/portal/api/patients/1");
        expect(answer.status).toBe(200);
        expect(answer.headers["cache-control"]).toBe("private, no-store");
      });

      it("takes a lift and a flip through Edge Config by the first request after refreshMs", async () => {
        const exportAnswers = async () =>
          (await get("/portal/api/patients/2/export")).headers["x-canary"] === CANARY;
        await patch([{ operation: "delete", key: KILL_KEY }]);
        timings[`${variant}LiftMs`] = await until(exportAnswers, "the lift to reach the app");
        expect((await get("/portal/legacy/export/2")).headers["x-canary"]).toBe(CANARY);
        await patch([{ operation: "upsert", key: KILL_KEY, value: { ...KILL, version: 2 } }]);
        timings[`${variant}FlipMs`] = await until(
          async () => !(await exportAnswers()),
          "the flip to reach the app",
        );
        const blocked = await get("/portal/legacy/export/2");
        expect(blocked.status).toBe(503);
        expect(blocked.headers["x-canary"]).toBeUndefined();
      });

      it("contains a server action with a kill switch on POST to its page", async () => {
        await patch([{ operation: "upsert", key: NOTES_KILL_KEY, value: NOTES_KILL }]);
        const post = () =>
          get("/portal/notes", { "next-action": "0".repeat(42), "content-type": "text/plain" }, "POST");
        await until(async () => (await post()).status === 503, "the notes switch");
        expect((await get("/portal/notes")).status).toBe(200);
        await patch([{ operation: "delete", key: NOTES_KILL_KEY }]);
        await until(async () => (await post()).status !== 503, "the notes switch to lift");
      });

      it("admits exactly the rate limit's requests, then answers 429", async () => {
        // A fixed window of 1m on the real clock: a run that straddles a minute boundary is two
        // windows, so it is repeated with a fresh client address (never more than twice).
        for (let attempt = 0; ; attempt++) {
          const client = `198.51.100.${(variant === "middleware" ? 10 : 20) + attempt}`;
          const startedMinute = Math.floor(Date.now() / 60_000);
          const answers = [];
          for (let i = 0; i < 6; i++) answers.push(await get("/portal/api/reports", { "x-real-ip": client }));
          if (Math.floor(Date.now() / 60_000) !== startedMinute && attempt < 2) continue;
          expect(answers.filter((a) => a.headers["x-canary"] === "reports")).toHaveLength(3);
          expect(answers.slice(3).map((a) => a.status)).toEqual([429, 429, 429]);
          return;
        }
      });

      it("refuses a token of another tenant and admits the tenant's own", async () => {
        const other = await get("/portal/api/orgs/acme/records", {
          authorization: `Bearer ${await token("globex")}`,
        });
        expect(other.status).toBe(403);
        expect(other.headers["x-canary"]).toBeUndefined();
        const own = await get("/portal/api/orgs/acme/records", {
          authorization: `Bearer ${await token("acme")}`,
        });
        expect(own.status).toBe(200);
        expect(own.headers["x-canary"]).toBe("tenant-records");
      });

      it("serves the mounted dashboard (app/containment/[[...path]]/route.ts) only to the authorized, from the mirror, with no action endpoint", async () => {
        const base = "/portal/containment";
        const none = await get(`${base}/api/v1/snapshot`);
        expect(none.status).toBe(401);
        expect(none.headers["www-authenticate"]).toContain("Bearer");
        const wrong = await get(`${base}/api/v1/snapshot`, { authorization: "Bearer not-the-token" });
        expect(wrong.status).toBe(403);
        const page = await get(`${base}/`, { authorization: "Bearer not-the-token" });
        expect(page.status).toBe(403);
        for (const refused of [none, wrong, page])
          expect(refused.body).not.toMatch(/export-freeze|INC-12|series|switches|203\.0\.113|<html/i);

        const auth = { authorization: `Bearer ${DASHBOARD_TOKEN}` };
        const path = `/portal/api/patients/${variant}-dash/export`;
        for (let i = 0; i < 3; i++) expect((await get(path)).status).toBe(503);
        // The mirror is written in waitUntil, batched: wait until the snapshot shows this route's blocks.
        type Snap = {
          v: number;
          minutes: number[];
          series: Array<{ rule: string; outcome: string; total: number }>;
          events: Array<{ path?: string }>;
        };
        // Redis is read right after each snapshot; other requests' blocks may still be landing
        // (flushes are batched), so wait until a snapshot and the Redis read after it agree.
        const client = new Redis(redis.url);
        let taken: Snap | undefined;
        let inRedis = 0;
        try {
          await until(
            async () => {
              const answer = await get(`${base}/api/v1/snapshot`, auth);
              if (answer.status !== 200) return false;
              const snapshot = JSON.parse(answer.body) as Snap;
              if (!snapshot.events.some((event) => event.path?.includes(`${variant}-dash`))) return false;
              // Exactly what Redis holds: the per-minute counts of export-freeze over the snapshot's minutes.
              const fields = await Promise.all(
                snapshot.minutes.map((m) => client.hget(`containment:counts:${m}`, "export-freeze|block")),
              );
              inRedis = fields.reduce((sum, n) => sum + Number(n ?? 0), 0);
              const shown = snapshot.series.find((s) => s.rule === "export-freeze" && s.outcome === "block");
              taken = snapshot;
              return shown?.total === inRedis;
            },
            "the mounted dashboard to show exactly the blocks Redis holds",
            30_000,
          );
        } finally {
          client.disconnect();
        }
        expect(taken?.v).toBe(1);
        expect(inRedis).toBeGreaterThanOrEqual(3);
        const html = await get(`${base}/`, auth);
        expect(html.status).toBe(200);
        expect(html.headers["content-type"]).toContain("text/html");
        // No action endpoint: writing methods are refused by the route (only GET is exported).
        for (const method of ["POST", "PUT", "PATCH", "DELETE"])
          for (const action of ["api/v1/actions/kill", "api/v1/kill", ""])
            expect(
              (await get(`${base}/${action}`, { ...auth, "content-type": "application/json" }, method))
                .status,
              `${method} ${action}`,
            ).toBe(405);
        expect((await get(`${base}/api/v1/actions/kill`, auth)).status).toBe(404);
      });

      it("answers a malformed request with a defined response, never the handler", async () => {
        const answer = await rawRequest(next.port, "GET", "/portal/api/patients/1/export%00", {
          "x-real-ip": ip,
        });
        expect([400, 404, 503]).toContain(answer.status);
        expect(answer.headers["x-canary"]).toBeUndefined();
      });
    });
  }
});
