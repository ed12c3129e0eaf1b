/**
 * The dashboard of `containment dev`, on an origin of its own: the app behind the firewall (whose
 * scripts share the firewall's origin) can neither load the dashboard's page, and so read its CSRF
 * token, nor receive its session cookie (browsers send cookies to every port of a host; the front
 * server takes the dashboard's out). Real dev server, workerd, Redis, and an upstream that records
 * what reached it.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeServer } from "../../src/dev/http-util.js";
import { type DevServer, startDevServer } from "../../src/dev/server.js";
import { rawRequest } from "../support/raw-http.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let redis: RedisServer;
let dev: DevServer;
const logged: string[] = [];

/** A fresh one-time URL: a visit without a session has the dev server log one once the last was spent. */
async function freshDashboardUrl(): Promise<string> {
  await fetch(new URL("/", dev.urls.dashboard ?? ""));
  const lines = logged.filter((line) => line.includes("for a new session open"));
  return /open (\S+)$/.exec(lines[lines.length - 1] ?? "")?.[1] ?? "";
}
let upstream: {
  url: string;
  seen: Array<{ path: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
};

/** The app: answers every request with a page of its own and records its path and headers. */
async function startRecordingUpstream(): Promise<typeof upstream> {
  const seen: Array<{ path: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? "/", headers: req.headers });
    req.resume();
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<p>the app</p>");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => closeServer(server) };
}

beforeAll(async () => {
  redis = await startRedisServer();
  upstream = await startRecordingUpstream();
  dev = await startDevServer({
    port: 0,
    redis: redis.url,
    upstream: upstream.url,
    endpointsDir: false,
    log: (line) => void logged.push(line),
  });
}, 120_000);
afterAll(async () => {
  await dev?.close();
  await upstream?.close();
  await redis?.stop();
});

describe("the dashboard of containment dev", () => {
  it("is served on its own origin, token first, and not under the firewall's (the app's) origin", async () => {
    const url = new URL(dev.urls.dashboard ?? "");
    const firewall = new URL(dev.urls.firewall);
    expect(url.hostname).toBe("127.0.0.1");
    expect(url.origin).not.toBe(firewall.origin);
    expect(url.href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);
    const first = await fetch(url, { redirect: "manual" });
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/");
    const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const page = await fetch(new URL("/", url), { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('name="containment-actions" content="on"');
    expect(html).toMatch(/name="containment-csrf" content="[\w-]{43}"/);
    const snapshot = await fetch(new URL("/api/v1/snapshot", url), { headers: { cookie } });
    expect(await snapshot.json()).toMatchObject({ v: 1 });

    // The firewall's origin, the app's, serves no dashboard: the old path goes to the app.
    for (const path of ["/_containment/", "/_containment/api/v1/snapshot"]) {
      const answer = await fetch(`${dev.urls.firewall}${path}`, { headers: { cookie } });
      const body = await answer.text();
      expect(body).not.toContain("containment-csrf");
      expect(body).toBe("<p>the app</p>");
    }
  });

  it("keeps its session cookie from the app behind the firewall, and other cookies as they were", async () => {
    const first = await fetch(await freshDashboardUrl(), { redirect: "manual" });
    const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect(cookie).toMatch(/^containment_dashboard_\d+=/);
    upstream.seen.length = 0;
    await fetch(`${dev.urls.firewall}/app/page`, { headers: { cookie: `theme=dark; ${cookie}; lang=de` } });
    await fetch(`${dev.urls.firewall}/app/other`, { headers: { cookie } });
    expect(upstream.seen.map((s) => [s.path, s.headers.cookie])).toEqual([
      ["/app/page", "theme=dark; lang=de"],
      ["/app/other", undefined],
    ]);
  });

  it("refuses the dashboard without a session, and under a foreign Host", async () => {
    const origin = new URL(dev.urls.dashboard ?? "").origin;
    expect((await fetch(`${origin}/api/v1/snapshot`)).status).toBe(401);
    const port = Number(new URL(origin).port);
    const { status } = await rawRequest(port, { path: "/", headers: { host: `evil.example:${port}` } });
    expect(status).toBe(403);
  });
});
