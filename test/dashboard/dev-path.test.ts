import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, startDevServer } from "../../src/dev/server.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

let redis: RedisServer;
let dev: DevServer;

beforeAll(async () => {
  redis = await startRedisServer();
  dev = await startDevServer({ port: 0, redis: redis.url, endpointsDir: false, log: () => {} });
}, 120_000);
afterAll(async () => {
  await dev?.close();
  await redis?.stop();
});

describe("the dashboard as a path of containment dev", () => {
  it("serves the local dashboard under /_containment/ of the firewall's address, token first", async () => {
    const url = dev.urls.dashboard ?? "";
    expect(url).toMatch(new RegExp(`^${dev.urls.firewall}/_containment/\\?token=[\\w-]{43}$`));
    const first = await fetch(url, { redirect: "manual" });
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/_containment/");
    const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const page = await fetch(`${dev.urls.firewall}/_containment/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('name="containment-actions" content="on"');
    const snapshot = await fetch(`${dev.urls.firewall}/_containment/api/v1/snapshot`, {
      headers: { cookie },
    });
    expect(await snapshot.json()).toMatchObject({ v: 1 });
    // Everything else still goes through the firewall to the upstream.
    const passed = await fetch(`${dev.urls.firewall}/`);
    expect(passed.status).toBeLessThan(500);
  });

  it("refuses the dashboard path without a session, and under a foreign Host", async () => {
    expect((await fetch(`${dev.urls.firewall}/_containment/api/v1/snapshot`)).status).toBe(401);
    const { request } = await import("node:http");
    const port = new URL(dev.urls.firewall).port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, path: "/_containment/", headers: { host: `evil.example:${port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});
