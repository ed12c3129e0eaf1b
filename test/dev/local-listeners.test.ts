/**
 * The listeners `containment dev` and the tests start (the Upstash bridge in front of a real Redis,
 * the Edge Config read API and the Vercel API stand-in) accept no request a web page or another
 * local user can cause: over real HTTP, each refusal alone (everything else right), and the
 * command or write it carried never runs.
 */
import { networkInterfaces } from "node:os";
import { Redis as IoRedis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { startUpstashBridge, type UpstashBridge } from "../../src/dev/upstash-bridge.js";
import { type RawAnswer, type RawInit, rawRequest } from "../support/raw-http.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

/** node:http, not fetch: the test sets Host and Origin as a rebinding page or a local process would. */
const raw = (port: number, init: RawInit): Promise<RawAnswer> =>
  rawRequest(port, { method: "POST", ...init });

/** A rebinding page's own name, with and without the port, a name resolving to loopback, another port, none. */
const FOREIGN_HOSTS = (port: number) => [
  `evil.example:${port}`,
  "evil.example",
  `127.0.0.1.nip.io:${port}`,
  "127.0.0.1:1",
  "",
];
/** 403 from the guard; without any Host, Node's HTTP/1.1 parser answers 400 before it. */
const refusedHost = (host: string) => (host === "" ? 400 : 403);
const FORM_TYPES = [
  "text/plain",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "",
];

function noCors(answer: RawAnswer): void {
  for (const name of Object.keys(answer.headers)) expect(name).not.toMatch(/^access-control-/);
}

let server: RedisServer;
let io: IoRedis;
let bridge: UpstashBridge;
let ec: EdgeConfigServer;

beforeAll(async () => {
  server = await startRedisServer();
  io = new IoRedis(server.url);
  bridge = await startUpstashBridge({ redisUrl: server.url });
  ec = await startEdgeConfigServer({ items: { flag: true } });
});

afterAll(async () => {
  io.disconnect();
  await bridge?.close();
  await ec?.close();
  await server?.stop();
});

describe("the Upstash bridge (a real Redis behind it)", () => {
  const good = () => ({
    host: `127.0.0.1:${bridge.port}`,
    authorization: `Bearer ${bridge.token}`,
    "content-type": "application/json",
  });
  const set = (value: string) => JSON.stringify(["SET", "written", value]);

  it("runs a command sent with its token, loopback Host and a JSON body", async () => {
    for (const host of [`127.0.0.1:${bridge.port}`, `localhost:${bridge.port}`, `[::1]:${bridge.port}`]) {
      const answer = await raw(bridge.port, { headers: { ...good(), host }, body: set("ok") });
      expect(answer.status).toBe(200);
      noCors(answer);
    }
    expect(await io.getdel("written")).toBe("ok");
  });

  it("has a random token per run (no well-known default) and takes it only from the header", async () => {
    const other = await startUpstashBridge({ redisUrl: server.url });
    try {
      expect(bridge.token).not.toBe(other.token);
      expect(bridge.token.length).toBeGreaterThanOrEqual(32);
    } finally {
      await other.close();
    }
    const { authorization: _none, ...noToken } = good();
    for (const headers of [
      noToken,
      { ...good(), authorization: "Bearer local-upstash-token" },
      { ...good(), authorization: `Bearer ${bridge.token}x` },
      { ...good(), authorization: bridge.token },
    ]) {
      const answer = await raw(bridge.port, { headers, body: set("token") });
      expect(answer.status).toBe(401);
      noCors(answer);
    }
    const inUrl = await raw(bridge.port, {
      path: `/?_token=${bridge.token}`,
      headers: noToken,
      body: set("url"),
    });
    expect(inUrl.status).toBe(401);
    expect(await io.exists("written")).toBe(0);
  });

  it("refuses a foreign Host (DNS rebinding), a page's Origin, and a preflight, with no CORS headers", async () => {
    for (const host of FOREIGN_HOSTS(bridge.port)) {
      const answer = await raw(bridge.port, { headers: { ...good(), host }, body: set("host") });
      expect(answer.status, host).toBe(refusedHost(host));
      noCors(answer);
    }
    const page = await raw(bridge.port, {
      headers: { ...good(), origin: "http://evil.example" },
      body: set("o"),
    });
    expect(page.status).toBe(403);
    const preflight = await raw(bridge.port, {
      method: "OPTIONS",
      headers: {
        host: good().host,
        origin: "http://evil.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
      },
    });
    // A page's preflight carries its Origin: refused, and nothing in it allows the request.
    expect(preflight.status).toBe(403);
    noCors(preflight);
    const options = await raw(bridge.port, { method: "OPTIONS", headers: { host: good().host } });
    expect(options.status).toBe(405);
    noCors(options);
    expect(await io.exists("written")).toBe(0);
  });

  it("refuses the bodies a page can send cross-site without a preflight (text/plain, forms, none)", async () => {
    for (const type of FORM_TYPES) {
      const headers: Record<string, string> = { ...good(), "content-type": type };
      if (type === "") delete headers["content-type"];
      const answer = await raw(bridge.port, { headers, body: set("form") });
      expect(answer.status, type).toBe(415);
      noCors(answer);
    }
    expect(await io.exists("written")).toBe(0);
  });

  it("listens on loopback only", async () => {
    expect(new URL(bridge.url).hostname).toBe("127.0.0.1");
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address !== undefined && address.family === "IPv4" && !address.internal);
    if (outside === undefined) return; // no other interface on this machine
    await expect(
      raw(bridge.port, { address: outside.address, headers: good(), body: set("lan") }),
    ).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});

describe("the Edge Config read API and Vercel API stand-in (the dev store's kill switches)", () => {
  const read = (headers: Record<string, string>) =>
    raw(ec.port, { method: "GET", path: `/${ec.id}/items?version=1`, headers });
  const patch = (headers: Record<string, string>) =>
    raw(ec.port, {
      method: "PATCH",
      path: `/v1/edge-config/${ec.id}/items`,
      headers,
      body: JSON.stringify({
        items: [{ operation: "upsert", key: "containment_kill_x", value: { match: {} } }],
      }),
    });
  const host = () => `127.0.0.1:${ec.port}`;
  const reader = () => ({ host: host(), authorization: `Bearer ${ec.readToken}` });
  const writer = () => ({
    host: host(),
    authorization: `Bearer ${ec.apiToken}`,
    "content-type": "application/json",
  });

  it("has random tokens per run, required on every request", async () => {
    const other = await startEdgeConfigServer();
    try {
      expect(new Set([ec.readToken, ec.apiToken, other.readToken, other.apiToken]).size).toBe(4);
      expect(ec.apiToken.length).toBeGreaterThanOrEqual(32);
    } finally {
      await other.close();
    }
    expect((await read(reader())).status).toBe(200);
    expect((await read({ host: host() })).status).toBe(401);
    expect((await read({ ...reader(), authorization: "Bearer local-read-token" })).status).toBe(401);
    expect((await patch({ ...writer(), authorization: "Bearer local-api-token" })).status).toBe(403);
    const { authorization: _none, ...noToken } = writer();
    expect((await patch(noToken)).status).toBe(403);
    expect(ec.items()).toEqual({ flag: true });
  });

  it("refuses a foreign Host, a page's Origin, form bodies and preflights, with no CORS headers", async () => {
    for (const foreign of FOREIGN_HOSTS(ec.port)) {
      for (const answer of [
        await read({ ...reader(), host: foreign }),
        await patch({ ...writer(), host: foreign }),
      ]) {
        expect(answer.status, foreign).toBe(refusedHost(foreign));
        noCors(answer);
      }
    }
    expect((await patch({ ...writer(), origin: "http://evil.example" })).status).toBe(403);
    expect((await read({ ...reader(), origin: "null" })).status).toBe(403);
    for (const type of FORM_TYPES) {
      const headers: Record<string, string> = { ...writer(), "content-type": type };
      if (type === "") delete headers["content-type"];
      const answer = await patch(headers);
      expect(answer.status, type).toBe(415);
      noCors(answer);
    }
    const preflight = await raw(ec.port, {
      method: "OPTIONS",
      path: `/v1/edge-config/${ec.id}/items`,
      headers: { host: host(), origin: "http://evil.example", "access-control-request-method": "PATCH" },
    });
    expect(preflight.status).toBe(403);
    noCors(preflight);
    expect(ec.items()).toEqual({ flag: true });
    const written = await patch(writer());
    expect(written.status).toBe(200);
    noCors(written);
    expect(Object.keys(ec.items())).toContain("containment_kill_x");
  });
});
