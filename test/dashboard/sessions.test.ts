/**
 * The local dashboard's access, over a real server and a real Redis, with the clock injected: the
 * printed token opens one session and is then spent, sessions end when idle, when old and on
 * logout, and only so many live at once. Raw HTTP, so the test sends exactly what a browser (or
 * someone replaying a URL from a shell history) would.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StartedLocalDashboard, startLocalDashboard } from "../../src/dashboard/local/server.js";
import { SESSION_DEFAULTS } from "../../src/dashboard/local/session.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { type RawAnswer, rawRequest } from "../support/raw-http.js";

const LIMITS = { idleMs: 60_000, absoluteMs: 10 * 60_000, max: 3 };
let redis: RedisFixture;
let dash: StartedLocalDashboard;
const clock = { now: Date.UTC(2026, 11, 1, 12) };
const printed: string[] = [];

beforeAll(async () => {
  redis = await startRedisFixture();
  dash = await startLocalDashboard({
    redis: restRedis(redis.connection),
    port: 0,
    sessions: LIMITS,
    now: () => clock.now,
    onAccessUrl: (url) => void printed.push(url),
  });
  printed.push(dash.url);
});
afterAll(async () => {
  await dash?.close();
  await redis?.close();
});

function send(
  path: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  return rawRequest(dash.port, {
    method: init.method ?? "GET",
    path,
    headers: { host: `127.0.0.1:${dash.port}`, ...init.headers },
  });
}

const tokenOf = (url: string) => new URL(url).searchParams.get("token") ?? "";
const newest = () => tokenOf(printed[printed.length - 1] ?? "");
const cookieOf = (answer: RawAnswer) => String(answer.headers["set-cookie"] ?? "").split(";")[0] ?? "";
const page = (cookie: string) => send("/api/v1/snapshot", { headers: { cookie } });

/** A new session: a sessionless visit has the server print a fresh URL when the last was spent. */
async function open(): Promise<{ cookie: string; csrf: string }> {
  await send("/");
  const answer = await send(`/?token=${newest()}`);
  expect(answer.status).toBe(303);
  const cookie = cookieOf(answer);
  const html = await send("/", { headers: { cookie } });
  const csrf = /name="containment-csrf" content="([^"]+)"/.exec(html.body)?.[1] ?? "";
  return { cookie, csrf };
}

describe("local dashboard sessions", () => {
  it("opens one session per printed token: a second use of the URL opens nothing", async () => {
    const url = dash.url;
    const first = await send(`/?token=${tokenOf(url)}`);
    expect(first.status).toBe(303);
    const cookie = cookieOf(first);
    expect((await page(cookie)).status).toBe(200);
    // The same URL again (shell history, a screenshot, another browser): no second session.
    const again = await send(`/?token=${tokenOf(url)}`);
    expect(again.status).toBe(401);
    expect(again.headers["set-cookie"]).toBeUndefined();
    expect(dash.sessionCount()).toBe(1);
    // …and the terminal (only) got a fresh URL, which works once.
    const fresh = printed[printed.length - 1] ?? "";
    expect(fresh).not.toBe(url);
    expect(tokenOf(fresh)).toMatch(/^[\w-]{43}$/);
    expect((await send(`/?token=${tokenOf(fresh)}`)).status).toBe(303);
    expect((await send(`/?token=${tokenOf(fresh)}`)).status).toBe(401);
    // Visits without a session mint nothing while a token is unspent.
    const before = printed.length;
    await send("/");
    await send("/");
    expect(printed.length).toBe(before);
    // The old URL opened again in a browser that has a session: the token just leaves the address bar.
    const reopened = await send(`/?token=${tokenOf(url)}`, { headers: { cookie } });
    expect(reopened.status).toBe(303);
    expect(reopened.headers["set-cookie"]).toBeUndefined();
  });

  it("ends a session after the idle time, and after the absolute lifetime however busy", async () => {
    const idle = await open();
    clock.now += LIMITS.idleMs - 1;
    expect((await page(idle.cookie)).status).toBe(200);
    clock.now += LIMITS.idleMs;
    expect((await page(idle.cookie)).status).toBe(401);

    const busy = await open();
    const start = clock.now;
    // A request every half idle time: never idle, until the absolute lifetime is reached.
    while (clock.now - start + LIMITS.idleMs / 2 < LIMITS.absoluteMs) {
      clock.now += LIMITS.idleMs / 2;
      expect((await page(busy.cookie)).status).toBe(200);
    }
    clock.now = start + LIMITS.absoluteMs;
    expect((await page(busy.cookie)).status).toBe(401);
    const cookieHeader = String((await send(`/?token=${newest()}`)).headers["set-cookie"]);
    expect(cookieHeader).toContain(`Max-Age=${LIMITS.absoluteMs / 1000}`);
  });

  it("keeps at most the configured number of sessions, ending the oldest", async () => {
    clock.now += LIMITS.absoluteMs; // every earlier session is over
    const opened = [];
    for (let i = 0; i < LIMITS.max + 2; i++) opened.push(await open());
    expect(dash.sessionCount()).toBe(LIMITS.max);
    const statuses = await Promise.all(opened.map((s) => page(s.cookie).then((a) => a.status)));
    expect(statuses).toEqual([401, 401, 200, 200, 200]);
  });

  it("logs out by POST from its own page with the CSRF token, and by nothing else", async () => {
    const { cookie, csrf } = await open();
    const origin = `http://127.0.0.1:${dash.port}`;
    const good = { cookie, origin, "x-containment-csrf": csrf };
    expect((await send("/api/v1/logout", { headers: good })).status).toBe(405);
    expect((await send("/api/v1/logout", { method: "POST", headers: { cookie, origin } })).status).toBe(403);
    const crossSite = { ...good, origin: "http://127.0.0.1:3000", "sec-fetch-site": "same-site" };
    expect((await send("/api/v1/logout", { method: "POST", headers: crossSite })).status).toBe(403);
    expect((await page(cookie)).status).toBe(200);
    const out = await send("/api/v1/logout", { method: "POST", headers: good });
    expect(out.status).toBe(204);
    expect(String(out.headers["set-cookie"])).toMatch(/Max-Age=0/);
    expect((await page(cookie)).status).toBe(401);
  });

  it("documents its defaults", () => {
    expect(SESSION_DEFAULTS).toEqual({ idleMs: 30 * 60_000, absoluteMs: 12 * 60 * 60_000, max: 8 });
  });
});
