import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ASSETS } from "../../src/dashboard/assets.gen.js";
import type { ActionOutcome, ResponderActions } from "../../src/dashboard/local/actions.js";
import { type StartedLocalDashboard, startLocalDashboard } from "../../src/dashboard/local/server.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { type RawAnswer, rawRequest } from "../support/raw-http.js";

let redis: RedisFixture;
let dash: StartedLocalDashboard;
const calls: Array<[string, unknown]> = [];

const done = (summary: string): Promise<ActionOutcome> => Promise.resolve({ summary });
const record =
  (name: string, summary: string) =>
  (input: unknown): Promise<ActionOutcome> => {
    calls.push([name, input]);
    return done(summary);
  };
const logged: string[] = [];
/** A failing action whose error carries a password: an ops error (`code`), or a bug (a stack). */
const leaking = (input: unknown): Promise<ActionOutcome> => {
  const reason = (input as { reason?: string }).reason;
  if (reason === "ops-error")
    throw Object.assign(
      new Error("edge-containment: cannot reach Redis at redis://ops:leaked-pw-1@10.0.0.5:6379 (timeout)"),
      { code: "ERR_UNAVAILABLE" },
    );
  if (reason === "bug") throw new TypeError("fetch https://x:leaked-pw-2@api.example/?token=leaked-tok-3");
  return record("extend", "extended")(input);
};
const actions: ResponderActions = {
  kill: record("kill", "created"),
  lift: record("lift", "lifted"),
  extend: leaking,
  releaseQuarantine: record("release", "released"),
};

/** The newest access URL: the printed one, then each the server mints once the last was spent. */
let latest = "";
beforeAll(async () => {
  redis = await startRedisFixture();
  dash = await startLocalDashboard({
    redis: restRedis(redis.connection),
    actions,
    port: 0,
    log: (line) => logged.push(line),
    onAccessUrl: (url) => {
      latest = url;
    },
  });
  latest = dash.url;
});
afterAll(async () => {
  await dash?.close();
  await redis?.close();
});

/** A raw HTTP request, so the test controls Host, Origin and cookies exactly as a browser or attacker would send them. */
function send(
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  return rawRequest(dash.port, {
    method: init.method ?? "GET",
    path,
    headers: { host: `127.0.0.1:${dash.port}`, ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

const token = () => new URL(latest).searchParams.get("token") ?? "";

/** A session, from an unspent token: a visit without a session first has the server mint one if the last was spent. */
async function login(): Promise<{ cookie: string; csrf: string }> {
  await send("/");
  const first = await send(`/?token=${token()}`);
  const setCookie = String(first.headers["set-cookie"] ?? "");
  const cookie = setCookie.split(";")[0] ?? "";
  const page = await send("/", { headers: { cookie } });
  const csrf = /name="containment-csrf" content="([^"]+)"/.exec(page.body)?.[1] ?? "";
  return { cookie, csrf };
}

/** What the page sends with an action: the session cookie, its own Origin, JSON, the CSRF token. */
async function actionHeaders(): Promise<Record<string, string>> {
  const { cookie, csrf } = await login();
  return {
    cookie,
    origin: `http://127.0.0.1:${dash.port}`,
    "content-type": "application/json",
    "x-containment-csrf": csrf,
  };
}

describe("the local dashboard (containment dashboard)", () => {
  it("trades the printed token for an HttpOnly SameSite=Strict cookie and takes the token out of the URL", async () => {
    expect(dash.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${dash.port}/\\?token=[\\w-]{43}$`));
    const first = await send(`/?token=${token()}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe("/");
    expect(first.headers["referrer-policy"]).toBe("no-referrer");
    const setCookie = String(first.headers["set-cookie"]);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(token());
    const page = await send("/", { headers: { cookie: setCookie.split(";")[0] ?? "" } });
    expect(page.status).toBe(200);
    expect(page.body).not.toContain(token());
    expect(page.body).toContain('name="containment-actions" content="on"');
  });

  it("refuses a wrong token, and any request without a session", async () => {
    const wrong = await send(`/?token=${"x".repeat(43)}`);
    expect(wrong.status).toBe(401);
    expect(wrong.headers["set-cookie"]).toBeUndefined();
    for (const path of ["/", "/api/v1/snapshot", "/api/v1/stream", "/assets/x.js"]) {
      const none = await send(path);
      expect(none.status).toBe(401);
      expect(none.body).not.toContain("acme");
    }
    const forged = await send("/api/v1/snapshot", {
      headers: { cookie: `containment_dashboard_${dash.port}=made-up` },
    });
    expect(forged.status).toBe(401);
  });

  it("refuses a request whose Host is not the loopback name it printed (DNS rebinding)", async () => {
    const { cookie } = await login();
    for (const host of [
      "evil.example",
      `evil.example:${dash.port}`,
      `localhost:${dash.port}`,
      "127.0.0.1",
      "127.0.0.1:1",
      `[::1]:${dash.port}`,
    ]) {
      const answer = await send(`/?token=${token()}`, { headers: { host, cookie } });
      expect(answer.status).toBe(403);
      expect(answer.headers["set-cookie"]).toBeUndefined();
      expect(answer.body).toContain("wrong_host");
    }
  });

  it("accepts an action only by POST from its own origin with the session's CSRF token and a JSON body", async () => {
    const { cookie, csrf } = await login();
    const origin = `http://127.0.0.1:${dash.port}`;
    const good = { cookie, origin, "content-type": "application/json", "x-containment-csrf": csrf };
    const body = JSON.stringify({ id: "freeze", reason: "false positive" });
    calls.length = 0;

    const byGet = await send(`/api/v1/actions/lift?id=freeze&reason=x`, { headers: { cookie } });
    expect(byGet.status).toBe(405);
    const foreign = await send("/api/v1/actions/lift", {
      method: "POST",
      headers: { ...good, origin: "http://evil.example" },
      body,
    });
    expect(foreign.status).toBe(403);
    const noOrigin = await send("/api/v1/actions/lift", {
      method: "POST",
      headers: { cookie, "content-type": "application/json", "x-containment-csrf": csrf },
      body,
    });
    expect(noOrigin.status).toBe(403);
    const crossSite = await send("/api/v1/actions/lift", {
      method: "POST",
      headers: { ...good, "sec-fetch-site": "cross-site" },
      body,
    });
    expect(crossSite.status).toBe(403);
    const noCsrf = await send("/api/v1/actions/lift", {
      method: "POST",
      headers: { ...good, "x-containment-csrf": "" },
      body,
    });
    expect(noCsrf.status).toBe(403);
    const form = await send("/api/v1/actions/lift", {
      method: "POST",
      headers: { ...good, "content-type": "application/x-www-form-urlencoded" },
      body: "id=freeze&reason=x",
    });
    expect(form.status).toBe(415);
    const noCookie = await send("/api/v1/actions/lift", {
      method: "POST",
      headers: { ...good, cookie: "" },
      body,
    });
    expect(noCookie.status).toBe(401);
    expect(calls).toEqual([]);

    const ok = await send("/api/v1/actions/lift", { method: "POST", headers: good, body });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ ok: true, summary: "lifted" });
    expect(calls).toEqual([["lift", { id: "freeze", reason: "false positive" }]]);
  });

  it("masks credentials in a failed action's answer and in the terminal line", async () => {
    const headers = await actionHeaders();
    const send1 = (reason: string) =>
      send("/api/v1/actions/extend", {
        method: "POST",
        headers,
        body: JSON.stringify({ id: "freeze", for: "1h", reason }),
      });
    const ops = await send1("ops-error");
    expect(ops.status).toBe(502);
    expect(JSON.parse(ops.body).error.message).toContain("redis://ops:***@10.0.0.5:6379");
    const bug = await send1("bug");
    expect(bug.status).toBe(500);
    expect(logged.join("\n")).toContain("https://x:***@api.example/?token=***");
    expect(ops.body + bug.body + logged.join("\n")).not.toMatch(/leaked-/);
  });

  it("answers bad action input with a clear 400 naming the field, and runs nothing", async () => {
    const headers = await actionHeaders();
    calls.length = 0;
    const cases: Array<[string, string, RegExp]> = [
      ["kill", "{", /not valid JSON/],
      ["kill", "[]", /^\$: must be a JSON object/],
      ["kill", JSON.stringify({ path: "/x", reason: "r" }), /\$\.incident/],
      ["kill", JSON.stringify({ path: "/x", reason: "r", incident: "INC 1" }), /\$\.incident: must be 1-64/],
      [
        "kill",
        JSON.stringify({ path: "/x", reason: "r", incident: "I", for: "forever" }),
        /\$\.for: must be a duration/,
      ],
      [
        "kill",
        JSON.stringify({ path: "/x", reason: "r", incident: "I", tenants: ["a", ""] }),
        /\$\.tenants\[1\]/,
      ],
      [
        "kill",
        JSON.stringify({ path: "/x", reason: "r", incident: "I", admin: true }),
        /\$\.admin: is not a field/,
      ],
      ["extend", JSON.stringify({ id: "../x", for: "1h", reason: "r" }), /\$\.id/],
      ["quarantine-release", JSON.stringify({ dimension: "ip", id: "a b", reason: "r" }), /\$\.id/],
    ];
    for (const [action, body, message] of cases) {
      const answer = await send(`/api/v1/actions/${action}`, { method: "POST", headers, body });
      expect(answer.status, body).toBe(400);
      const parsed = JSON.parse(answer.body) as { error: { message: string } };
      expect(parsed.error.message).toMatch(message);
      expect(answer.body).not.toMatch(/at .*\.ts|node_modules/);
    }
    const huge = await send("/api/v1/actions/kill", {
      method: "POST",
      headers,
      body: JSON.stringify({ reason: "x".repeat(20_000) }),
    });
    expect(huge.status).toBe(413);
    const unknown = await send("/api/v1/actions/rules-push", { method: "POST", headers, body: "{}" });
    expect(unknown.status).toBe(404);
    expect(calls).toEqual([]);
  });

  it("loads in well under 100 KB gzipped: the page and every asset it references", async () => {
    const { cookie } = await login();
    const page = await send("/", { headers: { cookie } });
    let total = gzipSync(page.body).length;
    for (const [, name] of page.body.matchAll(/(?:src|href)="assets\/([^"]+)"/g)) {
      const body = ASSETS[name ?? ""]?.body;
      expect(body, name).toBeDefined();
      total += gzipSync(body ?? "").length;
    }
    expect(total).toBeLessThan(100 * 1024);
  });
});
