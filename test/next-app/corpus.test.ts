/**
 * The public attack corpus (test/corpus/families/*.json) against the example app as Next.js really
 * serves it: `next build && next start` of examples/next-app under the corpus's basePath `/docs`,
 * with a canary handler on every route a corpus rule protects (corpus-app.ts), the example's own
 * middleware.ts in front, rules from the Edge Config stand-in and rate limits in a real Redis.
 *
 * Every case that does not need the raw-socket dev server runs twice: first with a rules document
 * that blocks nothing (so the test knows which attacks the real Next router delivers to a protected
 * handler: without that, a "blocked" could be Next's 404), then with the corpus rules. A step the
 * corpus says must not be served leaks exactly when a protected handler names itself in the answer;
 * a step that must be served fails when the firewall refuses it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import { type CorpusFixture, NORMALIZE, startFixture } from "../corpus/fixture.js";
import {
  type Case,
  CORPUS_SECRET,
  expandHeaders,
  loadCases,
  rawExchange,
  type Step,
} from "../corpus/runner.js";
import {
  installPackedPackage,
  type NextServer,
  nextBuild,
  nextStart,
  nextSuitesRun,
} from "../support/next-app.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";
import { CORPUS_FILES, corpusConfig, UNPROTECTED } from "./corpus-app.js";
import { variantWith } from "./variants.js";

const enabled = nextSuitesRun();
const BASE = NORMALIZE.basePath;
const NOTHING = { version: 1, rules: [] };

interface StepOutcome {
  case: Case;
  step: number;
  request: string;
  status: number;
  /** The handler that answered (its canary name), if any did. */
  handler?: string | undefined;
  /** False when a route handler answered without having received all the step sent (see receivedAll). */
  received: boolean;
  /** The firewall answered itself with a refusal (its request id header on a 4xx/5xx). */
  refused: boolean;
  body: string;
  mustServe: boolean;
}

/** The corpus's targets are relative to the app; the app lives under `/docs` like the dev server's. */
function targetOf(request: string): string {
  const space = request.indexOf(" ");
  const [method, target] = [request.slice(0, space), request.slice(space + 1)];
  const based = target === BASE || /^\/docs[/?#]/.test(target);
  return `${method} ${based ? target : `${BASE}${target}`}`;
}

/** Headers the platform owns never come from the client; the platform sets the client address. */
function asPlatform(headers: Array<[string, string]>, step: Step): Array<[string, string]> {
  const own = (name: string) =>
    name === "x-real-ip" || name === "x-forwarded-for" || name.startsWith("x-vercel-");
  return [...headers.filter(([name]) => !own(name.toLowerCase())), ["x-real-ip", step.from ?? "127.0.0.1"]];
}

function handlerOf(headers: Record<string, string>, body: string): string | undefined {
  return headers["x-canary"] ?? /canary:([a-z0-9-]+)/.exec(body)?.[1];
}

const TRANSPORT = new Set(["connection", "content-length", "x-real-ip"]);

/**
 * Whether the handler received everything the step sent: each header value (a repeated header's
 * every value) and the query string. Node's HTTP server keeps only the first Authorization and Host
 * header, and Next strips its internal headers and query keys before the app: such an attack never
 * reaches the app as sent, which is Next's own defence, not a leak. Pages (no echo) count as received.
 */
function receivedAll(sent: Array<[string, string]>, target: string, body: string): boolean {
  const echo = body.startsWith("canary:") ? body.split("\n")[1] : undefined;
  if (!echo) return true;
  const saw = JSON.parse(echo) as { headers: Record<string, string>; search: string };
  const keys = (search: string) => [...new URLSearchParams(search).keys()];
  const query = target.includes("?") ? target.slice(target.indexOf("?")) : "";
  const seen = new Set(keys(saw.search));
  if (keys(query).some((key) => !seen.has(key))) return false;
  return sent.every(([name, value]) => {
    const key = name.toLowerCase();
    return TRANSPORT.has(key) || (saw.headers[key] ?? "").includes(value.trim());
  });
}

/**
 * One step as a browser would see it: Next's own same-origin redirects (`//`, trailing `/`) followed.
 * The step's source address goes into `x-real-ip` (as the platform writes it), not onto the socket.
 */
async function send(port: number, step: Step, headers: Array<[string, string]>) {
  const { from: _from, ...rest } = step;
  let current: Step = { ...rest, request: targetOf(step.request) };
  for (let hop = 0; ; hop++) {
    const answer = await rawExchange(port, current, headers);
    const location = answer.headers.location;
    if (hop === 3 || answer.status < 300 || answer.status > 399 || !location) return answer;
    const next = new URL(location, "http://app.corpus.test");
    if (!["app.corpus.test", "127.0.0.1"].includes(next.hostname)) return answer;
    current = { ...current, request: `${current.request.split(" ")[0]} ${next.pathname}${next.search}` };
  }
}

async function runOver(next: NextServer, cases: readonly Case[], fixture: CorpusFixture) {
  const outcomes: StepOutcome[] = [];
  for (const item of cases)
    for (const [index, step] of item.steps.entries())
      for (let round = 0; round < (step.repeat ?? 1); round++) {
        const headers = asPlatform(expandHeaders(step.headers, fixture.keys), step);
        const answer = await send(next.port, step, headers);
        const request = targetOf(step.request);
        outcomes.push({
          case: item,
          step: index + 1,
          request,
          status: answer.status,
          handler: handlerOf(answer.headers, answer.body),
          received: receivedAll(headers, request.slice(request.indexOf(" ") + 1), answer.body),
          refused: answer.status >= 400 && answer.headers["x-containment-request-id"] !== undefined,
          body: answer.body,
          mustServe: step.expect?.served !== false,
        });
      }
  return outcomes;
}

/** A handler a corpus rule protects answered, and it received the request as the attack sent it. */
const protectedHandler = (o: StepOutcome) =>
  o.handler !== undefined && !UNPROTECTED.has(o.handler) && o.received;
const label = (o: StepOutcome) => `${o.case.id} step ${o.step} ${o.request} → ${o.status} ${o.handler ?? ""}`;

describe.skipIf(!enabled)("the attack corpus against the example app (next build && next start)", () => {
  let fixture: CorpusFixture;
  let redis: RedisServer;
  let bridge: UpstashBridge;
  let ec: EdgeConfigServer;
  let next: NextServer;
  const cases = loadCases().filter((item) => !item.devOnly && !item.nodeOnly);
  let baseline: StepOutcome[] = [];
  let guarded: StepOutcome[] = [];

  beforeAll(async () => {
    installPackedPackage();
    fixture = await startFixture();
    redis = await startRedisServer();
    bridge = await startUpstashBridge({ redisUrl: redis.url });
    ec = await startEdgeConfigServer({ items: { containment: NOTHING } });
    const dir = variantWith("corpus", { edit: { "next.config.ts": corpusConfig }, add: CORPUS_FILES });
    nextBuild(dir);
    next = await nextStart(dir, {
      EDGE_CONFIG: ec.connectionString,
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
      CONTAINMENT_SALT: "corpus-salt-for-tests-only",
      CORPUS_SECRET,
    });
    baseline = await runOver(next, cases, fixture);
    ec.setItem("containment", fixture.rules as never);
    // The push takes effect by the first request after refreshMs: a condition waited on.
    const probe: Step = { request: "GET /api/patients/1/export" };
    const deadline = Date.now() + 30_000;
    while ((await send(next.port, probe, asPlatform([], probe))).status !== 503) {
      if (Date.now() > deadline) throw new Error("the corpus rules never took effect");
      await new Promise((res) => setTimeout(res, 50));
    }
    guarded = await runOver(next, cases, fixture);
    const reached = baseline.filter((o) => !o.mustServe && protectedHandler(o)).length;
    const refused = guarded.filter((o) => !o.mustServe && o.refused).length;
    const neutralized = baseline.filter((o) => !o.mustServe && o.handler && !o.received).map(label);
    console.log(`dropped by Node/Next before the app (not leaks):\n  ${neutralized.join("\n  ")}`);
    console.log(
      `attack corpus against next start: ${cases.length} cases, ${baseline.filter((o) => !o.mustServe).length} blocked-expected steps, ${reached} of them reach a protected handler without the firewall; with it ${refused} are refused by the firewall`,
    );
  }, 15 * 60_000);

  afterAll(async () => {
    await next?.close();
    await ec?.close();
    await bridge?.close();
    await redis?.stop();
    await fixture?.close();
  });

  it("runs the corpus's families against the real Next router, and Next delivers most attacks to a protected handler when nothing blocks them", () => {
    const families = new Set(cases.map((item) => item.family));
    expect([...families].sort()).toEqual(
      expect.arrayContaining(["JWT", "Next.js advisories", "path spellings", "method overrides"]),
    );
    const attacks = baseline.filter((o) => !o.mustServe);
    const reached = attacks.filter(protectedHandler);
    // Without the firewall the canaries answer: the guarded run below can fail, and does for any leak.
    expect(reached.length).toBeGreaterThan(attacks.length / 2);
  });

  it("lets no attack reach a protected handler with the firewall in front", () => {
    const leaks = guarded.filter((o) => !o.mustServe && protectedHandler(o)).map(label);
    expect(leaks).toEqual([]);
  });

  it("refuses every attack Next would deliver, with the status and rule the corpus expects", () => {
    const wrong: string[] = [];
    for (const [i, before] of baseline.entries()) {
      const after = guarded[i] as StepOutcome;
      if (before.mustServe || !protectedHandler(before)) continue;
      const step = after.case.steps[after.step - 1] as Step;
      const statuses = [step.expect?.status ?? []].flat();
      if (statuses.length > 0 && !statuses.includes(after.status))
        wrong.push(`${label(after)}: expected ${statuses.join("/")}`);
      else if (statuses.length === 0 && !after.refused)
        wrong.push(`${label(after)}: not refused by the firewall`);
      else if (step.expect?.rule && !after.body.includes(`"rule":"${step.expect.rule}"`))
        wrong.push(`${label(after)}: expected rule ${step.expect.rule}`);
    }
    expect(wrong).toEqual([]);
  });

  it("passes every benign twin (and every admitted step) the firewall is shown", () => {
    const refused = guarded.filter((o) => o.mustServe && o.refused).map((o) => `${label(o)} ${o.body}`);
    expect(refused).toEqual([]);
    const served = guarded.filter((o) => o.mustServe && o.handler !== undefined).length;
    expect(served).toBeGreaterThan(guarded.filter((o) => o.mustServe).length / 2);
  });
});
