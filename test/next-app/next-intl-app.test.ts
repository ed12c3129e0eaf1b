/**
 * The drop-in as teams have their apps: examples/next-intl-app, Next.js 16 with next-intl
 * (`localePrefix: "as-needed"`: English unprefixed, /de and /fr prefixed) and Auth.js v5
 * (`auth(handler)`, a Credentials provider), composed in proxy.ts exactly as docs/getting-started.md
 * shows (`npm run docs:check` holds the two equal: scripts/docs/snippets.ts). Built with `next build`
 * from the `npm pack` tarball (which type-checks proxy.ts and the docs' other compositions beside it
 * against the libraries' published types), run with `next start`; rules from the Edge Config
 * stand-in, the mirror in a real redis-server behind the Upstash REST bridge, kill switches flipped
 * and lifted by the real `containment` CLI. No locale is configured anywhere in the firewall's
 * options: a kill switch on `/account/export` must block that page under every locale prefix on its
 * own (docs/rules.md, "Locale prefixes"). A spelling leaks exactly when the page's canary answers.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import { responderEnv, runCli } from "../support/cli.js";
import {
  follow,
  INTL_APP,
  installPackedPackage,
  type NextServer,
  nextBuild,
  nextStart,
  nextSuitesRun,
  type RawResponse,
  REPO,
  rawRequest,
} from "../support/next-app.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

const CANARY = "CANARY-account-export";
const SWITCH = "account-export";
const BUILD_TIMEOUT = 15 * 60_000;

// Other helpers' clones run `npm test` without the example installed; CI always installs it, so
// there a missing install fails instead of skipping.
const enabled = nextSuitesRun(INTL_APP);

let redis: RedisServer;
let bridge: UpstashBridge;
let ec: EdgeConfigServer;
let next: NextServer;
let buildId = "";
let buildOutput = "";
const timings: Record<string, number> = {};

/** Polls until `done` holds: a condition waited on, with a deadline, never a sleep that hopes. */
async function until(done: () => Promise<boolean>, what: string, ms = 15_000): Promise<number> {
  const started = Date.now();
  while (!(await done())) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((res) => setTimeout(res, 25));
  }
  return Date.now() - started;
}

const get = (path: string, headers: Record<string, string> = {}, method = "GET", body?: string) =>
  follow(next.port, method, path, { "x-real-ip": "203.0.113.30", ...headers }, body);

/**
 * The responder's CLI in the app's directory, where it reads the build's route manifest. Its Redis
 * prefix is not the app's, so it sees no recorded traffic: /account/export must be known from
 * `app/[locale]/account/export` alone, as for a page nobody has visited yet.
 */
const cli = (args: string[]) =>
  runCli(args, {
    env: responderEnv(
      ec,
      { url: bridge.url, token: bridge.token },
      { CONTAINMENT_REDIS_PREFIX: "responder-without-traffic:" },
    ),
    cwd: INTL_APP,
  });

/**
 * Every spelling of the page at /account/export a client could send: the default locale unprefixed
 * and prefixed, each other locale, the prefix in other cases and percent-encoded, and the RSC,
 * prefetch and data forms under it. [path, request headers].
 */
function killedSpellings(): Array<[string, Record<string, string>]> {
  const paths = [
    "/account/export",
    "/en/account/export",
    "/de/account/export",
    "/fr/account/export",
    "/DE/account/export",
    "/Fr/account/export",
    "/EN/account/export",
    "/%64e/account/export",
    "/%66%72/account/export",
    "/de/account/export/",
    "/de//account/export",
    "/de/account/./export",
    "/de/ACCOUNT/export",
    "/de/account/export?_rsc=1a2b3",
    "/fr/account/export.rsc",
    "/fr/account/export.prefetch.rsc",
    `/_next/data/${buildId}/de/account/export.json`,
    `/_next/data/${buildId}/account/export.json`,
  ];
  const rsc = { rsc: "1" };
  const prefetch = { rsc: "1", "next-router-prefetch": "1" };
  return [
    ...paths.map((path): [string, Record<string, string>] => [path, {}]),
    ["/account/export", rsc],
    ["/de/account/export", rsc],
    ["/fr/account/export", prefetch],
    ["/de/account/export?_rsc=x", rsc],
  ];
}

/** The cookies a response sets, by name (the raw reader joins several set-cookie headers with ", "). */
function cookiesOf(answer: RawResponse): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const match of (answer.headers["set-cookie"] ?? "").matchAll(/(?:^|,\s*)([\w.-]+)=([^;,]*)/g))
    cookies.set(match[1] as string, match[2] as string);
  return cookies;
}

describe.skipIf(!enabled)("next-intl (as-needed) + Auth.js example built with next build", () => {
  beforeAll(async () => {
    let started = Date.now();
    installPackedPackage(INTL_APP);
    timings.packAndInstallMs = Date.now() - started;
    redis = await startRedisServer();
    bridge = await startUpstashBridge({ redisUrl: redis.url });
    const rules = JSON.parse(readFileSync(join(INTL_APP, "containment.rules.json"), "utf8"));
    ec = await startEdgeConfigServer({ items: { containment: rules } });
    const build = nextBuild(INTL_APP);
    timings.buildMs = build.ms;
    buildOutput = build.output;
    buildId = readFileSync(join(INTL_APP, ".next/BUILD_ID"), "utf8").trim();
    started = Date.now();
    next = await nextStart(
      INTL_APP,
      {
        EDGE_CONFIG: ec.connectionString,
        UPSTASH_REDIS_REST_URL: bridge.url,
        UPSTASH_REDIS_REST_TOKEN: bridge.token,
        CONTAINMENT_SALT: "example-salt-for-tests-only",
        AUTH_SECRET: "example-auth-secret-for-tests-only-0123456789",
      },
      { anyHost: true },
    );
    timings.startMs = Date.now() - started;
  }, BUILD_TIMEOUT);

  afterAll(async () => {
    await next?.close();
    await ec?.close();
    await bridge?.close();
    await redis?.stop();
    mkdirSync(join(REPO, "bench/results"), { recursive: true });
    writeFileSync(join(REPO, "bench/results/next-intl-app.json"), `${JSON.stringify(timings, null, 2)}\n`);
  });

  // Dozens of requests to a real server on a loaded 2-core machine: room, not a speed claim.
  describe("served through proxy.ts", { timeout: 120_000 }, () => {
    it("builds with the catch-all matcher and no finding of withContainment's matcher check", () => {
      expect(buildOutput).toContain("Compiled");
      expect(buildOutput).toContain("Proxy (Middleware)");
      expect(buildOutput.split("\n").filter((line) => line.includes("edge-containment:"))).toEqual([]);
    });

    it("configures no locale in the firewall's options: proxy.ts and next.config.ts name none", () => {
      const proxy = readFileSync(join(INTL_APP, "proxy.ts"), "utf8");
      expect(proxy).toContain("createNextProxy()");
      const config = readFileSync(join(INTL_APP, "next.config.ts"), "utf8");
      expect(config).toMatch(/withContainment\(\s*createNextIntlPlugin\(\)\(\{/);
      expect(config).not.toMatch(/locales\s*:/);
    });

    it("serves each locale's pages through next-intl, with the headers rule's header under every prefix", async () => {
      for (const [path, title] of [
        ["/account/export", "Your data export"],
        ["/de/account/export", "Ihr Datenexport"],
        ["/fr/account/export", "Votre export de données"],
      ] as const) {
        const answer = await get(path);
        expect(answer.status, path).toBe(200);
        expect(answer.body, path).toContain(CANARY);
        expect(answer.body, path).toContain(title);
        expect(answer.headers["referrer-policy"], path).toBe("no-referrer");
      }
      // as-needed: the default locale's prefix redirects to the unprefixed path.
      const en = await get("/en/account");
      expect(en.hops).toEqual(["/en/account"]);
      expect(en.status).toBe(200);
      expect(en.headers["referrer-policy"]).toBe("no-referrer");
    });

    it("serves API routes as they are: not rewritten under a locale, not 404, with the headers rule's header", async () => {
      const answer = await get("/api/records/7");
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ record: "7" });
      expect(answer.headers["x-canary"]).toBe("record");
      expect(answer.headers["cache-control"]).toBe("private, no-store");
      const csrf = await get("/api/auth/csrf");
      expect(csrf.status).toBe(200);
      expect(JSON.parse(csrf.body)).toHaveProperty("csrfToken");
    });

    it("keeps Auth.js's guard on /dashboard under every locale prefix, and lets a signed-in user through to next-intl's page", async () => {
      for (const path of ["/dashboard", "/de/dashboard", "/fr/dashboard", "/DE/dashboard"]) {
        const answer = await get(path);
        expect(answer.hops[0], path).toBe(path);
        expect(answer.status, path).toBe(200);
        expect(answer.body, path).not.toContain('data-canary="dashboard"');
        expect(answer.body, path).toMatch(/Sign in/);
      }
      // Sign in with the Credentials provider: Auth.js's CSRF token, then its callback.
      const csrf = await get("/api/auth/csrf");
      const csrfCookies = cookiesOf(csrf);
      const cookie = [...csrfCookies].map(([name, value]) => `${name}=${value}`).join("; ");
      const { csrfToken } = JSON.parse(csrf.body) as { csrfToken: string };
      const form = new URLSearchParams({ name: "demo", csrfToken, callbackUrl: "/dashboard" }).toString();
      const signIn = await rawRequest(
        next.port,
        "POST",
        "/api/auth/callback/credentials",
        { cookie, "content-type": "application/x-www-form-urlencoded" },
        form,
      );
      const session = cookiesOf(signIn).get("authjs.session-token");
      expect(session, JSON.stringify(signIn.headers)).toBeTruthy();
      for (const [path, title] of [
        ["/dashboard", "Dashboard"],
        ["/de/dashboard", "Übersicht"],
        ["/fr/dashboard", "Tableau de bord"],
      ] as const) {
        const answer = await get(path, { cookie: `authjs.session-token=${session}` });
        expect(answer.status, path).toBe(200);
        expect(answer.body, path).toMatch(/signed in as (<!-- -->)?demo/);
        expect(answer.body, path).toContain(title);
      }
    });

    it("blocks every locale spelling of a killed page after `containment kill /account/export`, and only that page", async () => {
      // Before the kill: which spellings reach the page (Next answers some, like the data and
      // prefetch forms of an App Router page, with its own 404); each of those must be blocked after.
      const reaching: string[] = [];
      for (const [path, headers] of killedSpellings())
        if ((await get(path, headers)).body.includes(CANARY))
          reaching.push(`${path} ${JSON.stringify(headers)}`);
      for (const spelling of [
        "/account/export {}",
        "/de/account/export {}",
        "/fr/account/export {}",
        "/DE/account/export {}",
        "/%64e/account/export {}",
        '/de/account/export {"rsc":"1"}',
      ])
        expect(reaching).toContain(spelling);
      timings.spellingsReaching = reaching.length;

      const typo = await cli(["kill", "/acount/export", "--reason", "r", "--incident", "INC-23", "--yes"]);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toMatch(/did you mean \/account\/export/);
      const killed = await cli([
        "kill",
        "/account/export",
        "--id",
        SWITCH,
        "--incident",
        "INC-23",
        "--reason",
        "export page leaking other users' data",
        "--yes",
      ]);
      expect(killed.code, killed.stderr).toBe(0);
      timings.flipMs = await until(
        async () => (await get("/de/account/export")).status === 503,
        "the kill switch to reach the app",
      );
      const leaks: string[] = [];
      const unblocked: string[] = [];
      for (const [path, headers] of killedSpellings()) {
        const answer = await get(path, headers);
        const label = `${path} ${JSON.stringify(headers)}`;
        if (answer.body.includes(CANARY)) leaks.push(`${label} → ${answer.status}`);
        else if (
          reaching.includes(label) &&
          (answer.status !== 503 || !answer.body.includes(`"rule":"${SWITCH}"`))
        )
          unblocked.push(`${label} → ${answer.status} ${answer.body.slice(0, 80)}`);
      }
      expect(leaks).toEqual([]);
      expect(unblocked).toEqual([]);
      // The rest of the app still answers.
      for (const path of ["/account", "/de/account", "/fr", "/"])
        expect((await get(path)).status, path).toBe(200);
      expect((await get("/api/records/7")).status).toBe(200);
    });

    it("serves the page again under every prefix after `containment lift`", async () => {
      const lifted = await cli(["lift", SWITCH, "--reason", "fixed", "--yes"]);
      expect(lifted.code, lifted.stderr).toBe(0);
      timings.liftMs = await until(
        async () => (await get("/de/account/export")).body.includes(CANARY),
        "the lift to reach the app",
      );
      for (const path of ["/account/export", "/fr/account/export"]) {
        const answer = await get(path);
        expect(answer.status, path).toBe(200);
        expect(answer.body, path).toContain(CANARY);
      }
    });
  });
});
