/**
 * Regression tests for the six bypass families (docs/security.md), at the firewall's API (Node). Each
 * failed before its fix; the attack corpus (test/corpus) proves the same through `containment dev`.
 */
import { describe, expect, it } from "vitest";
import { INTERNAL_HEADER_PREFIXES, INTERNAL_HEADERS, normalizeRequest } from "../../src/core/request.js";
import { createContainment } from "../../src/engine/firewall.js";
import { mintHs } from "../support/jwt.js";

const SECRET = "k".repeat(40);
const silent = () => {};

const RULES = {
  version: 1,
  tenants: { acme: { origins: ["https://acme.example.com"] } },
  rules: [
    { id: "delete-freeze", kind: "kill-switch", match: { path: "/api/records/*", methods: ["DELETE"] } },
    { id: "read-freeze", kind: "kill-switch", match: { path: "/reports/*", methods: ["GET"] } },
    { id: "export-freeze", kind: "kill-switch", match: { path: "/dashboard/export" } },
    {
      id: "bind",
      kind: "tenant-binding",
      match: { path: "/t/:tenant/**" },
      tenant: { from: "path", param: "tenant" },
      token: { claim: "org_id", secretEnv: "BIND_SECRET", algorithms: ["HS256"] },
    },
  ],
};

function firewall() {
  return createContainment({ rules: RULES, env: { BIND_SECRET: SECRET }, onReport: silent });
}

async function status(url: string, init: RequestInit = {}): Promise<number> {
  const { response } = await firewall().decide(new Request(`https://app.example.com${url}`, init));
  return response?.status ?? 200;
}

function methodsOf(url: string, init: RequestInit = {}): readonly string[] {
  const result = normalizeRequest(new Request(`https://app.example.com${url}`, init));
  if (!result.ok) throw new Error(result.fault);
  return result.request.methods;
}

describe("family 1: method overrides that name several methods", () => {
  it("counts every value of a repeated or comma-listed override header", async () => {
    const joined = new Headers();
    joined.append("x-http-method-override", "DELETE");
    joined.append("x-http-method-override", "GET");
    expect(methodsOf("/x", { method: "POST", headers: joined })).toEqual(["POST", "DELETE", "GET"]);
    expect(await status("/api/records/1", { method: "POST", headers: joined })).toBe(503);
    const listed = { "x-http-method-override": "PATCH,  delete" };
    expect(await status("/api/records/1", { method: "POST", headers: listed })).toBe(503);
    expect(
      await status("/api/records/1", { method: "POST", headers: { "x-http-method-override": "PUT" } }),
    ).toBe(200);
  });

  it("treats an override to HEAD as GET, as a real HEAD is", async () => {
    const headers = { "x-http-method-override": "HEAD" };
    expect(await status("/reports/q3", { method: "POST", headers })).toBe(503);
    expect(await status("/reports/q3", { method: "POST" })).toBe(200);
  });

  it("reads a _method query parameter, encoded or not", async () => {
    expect(await status("/api/records/1?_method=DELETE", { method: "POST" })).toBe(503);
    expect(await status("/api/records/1?_%6Dethod=de%6Cete", { method: "POST" })).toBe(503);
    expect(await status("/api/records/1?method=DELETE", { method: "POST" })).toBe(200);
  });
});

describe("family 2: Next.js segment prefetch forms", () => {
  it.each([
    "/dashboard/export.segments/__PAGE__.segment.rsc",
    "/dashboard/export.segments/_tree.segment.rsc",
    "/dashboard/EXPORT.SEGMENTS/_tree.segment.rsc",
    "/dashboard/export.segments/%24d%24slug/__PAGE__.segment.rsc",
  ])("blocks %s like the route it renders", async (path) => {
    expect(await status(path, { headers: { rsc: "1", "next-router-segment-prefetch": "/_tree" } })).toBe(503);
  });

  it("passes the segment prefetch of a neighbouring route", async () => {
    expect(await status("/dashboard/exports.segments/_tree.segment.rsc", { headers: { rsc: "1" } })).toBe(
      200,
    );
  });
});

describe("family 3: a tenant from one reading of the path only", () => {
  it("refuses a path whose readings address two tenants, with a token for one of them", async () => {
    const token = await mintHs(SECRET, { org_id: "acme", exp: Math.floor(Date.now() / 1000) + 600 });
    const headers = { authorization: `Bearer ${token}` };
    const { decision } = await firewall().decide(
      new Request("https://app.example.com/t/acme/..%2fglobex/records", { headers }),
    );
    expect(decision).toMatchObject({ outcome: "block", rule: "bind", reason: "tenant-ambiguous" });
    expect(await status("/t/acme/files%2Fa/records", { headers })).toBe(200);
    expect(await status("/t/acme/records", { headers })).toBe(200);
  });
});

describe("family 4: Next.js internal headers and query keys", () => {
  it.each([
    "x-middleware-skip",
    "x-middleware-set-cookie",
    "x-middleware-request-authorization",
    "x-middleware-subrequest",
    "x-matched-path",
    "x-now-route-matches",
    "x-invoke-path",
    "x-action-forwarded",
  ])("refuses a request carrying %s with 400", async (name) => {
    expect(await status("/anything", { headers: { [name]: "1" } })).toBe(400);
  });

  it.each([
    ["x-middleware-prefetch", "1"],
    ["x-nextjs-data", "1"],
    ["rsc", "1"],
    ["next-router-state-tree", "%5B%22%22%5D"],
    ["next-action", "7f3a"],
    ["x-vercel-id", "fra1::abc"],
    ["x-vercel-ip-country", "DE"],
    ["x-forwarded-host", "app.example.com"],
    ["x-prerender-revalidate", "abc"],
  ])("passes %s, which Next's client or Vercel's proxy sends", async (name, value) => {
    expect(await status("/anything", { headers: { [name]: value } })).toBe(200);
  });

  it.each([...INTERNAL_HEADERS, ...INTERNAL_HEADER_PREFIXES.map((prefix) => `${prefix}cookie`)])(
    "refuses %s, a name Next.js reads, in any case",
    async (name) => {
      expect(await status("/anything", { headers: { [name.toUpperCase()]: "1" } })).toBe(400);
    },
  );

  // Names no Next.js version reads: refusing them would block benign traffic (an app's own headers,
  // a monitoring agent's). Matching by prefix refused every one of these.
  it.each([
    "x-middleware",
    "x-middleware-version",
    "x-middleware-timing",
    "x-middleware-subrequests",
    "x-middleware-requests",
    "x-middleware-request",
    "x-middleware-prefetch",
    "x-invoke",
    "x-invoke-method",
    "x-invoke-id",
    "x-invoke-path-hint",
    "x-matched-paths",
    "x-now-route",
  ])("passes %s, which resembles an internal name but is none", async (name) => {
    expect(await status("/anything", { headers: { [name]: "1" } })).toBe(200);
  });

  it("refuses Next's route-parameter and interception query keys, encoded or not", async () => {
    expect(await status("/t/acme/records?nxtPtenant=globex")).toBe(400);
    expect(await status("/t/acme/records?%6ExtPtenant=globex")).toBe(400);
    expect(await status("/t/acme/records?nxtItenant=globex")).toBe(400);
    expect(await status("/anything?__nextLocale=de")).toBe(400);
    expect(await status("/anything?tenant=globex&_rsc=abc")).toBe(200);
  });
});

describe("family 5: duplicate Host headers", () => {
  it("answers 400 to two Host values and to a Host that is not an authority", async () => {
    const twice = new Headers();
    twice.append("host", "app.example.com");
    twice.append("host", "evil.example.com");
    expect(await status("/anything", { headers: twice })).toBe(400);
    expect(await status("/anything", { headers: { host: "a@b" } })).toBe(400);
    expect(await status("/anything", { headers: { host: "app.example.com:443" } })).toBe(200);
    expect(await status("/anything", { headers: { host: "[2001:db8::1]:8080" } })).toBe(200);
  });
});
