/**
 * Kill switches and path normalization, run once in Node and once against
 * the edge bundle in workerd. Every "passes" case checks that the request reached the upstream;
 * every "blocks" case checks that it did not.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import {
  DEFAULT_CLIENT_IP,
  HARNESSES,
  type Harness,
  type HarnessOptions,
  startHarness,
} from "../support/harness.js";

const HOUR = 3_600_000;

const exportFreeze = {
  id: "export-freeze",
  kind: "kill-switch",
  match: { path: "/api/patients/*/export" },
  message: "Exports are paused.",
  reason: "INTERNAL-ONLY exfiltration suspected via export endpoint",
  incident: "INC-2041",
  retryAfter: 120,
};

const RULES = {
  version: 1,
  tenants: { acme: { origins: ["https://acme.example.com"] } },
  breakGlass: { cidrs: ["198.51.100.0/24", "2001:db8:ffff::/48"] },
  rules: [
    exportFreeze,
    { id: "upload-freeze", kind: "kill-switch", match: { path: "/api/uploads", methods: ["POST"] } },
    {
      id: "report-read-freeze",
      kind: "kill-switch",
      match: { path: "/api/reports/*", methods: ["GET"] },
      status: 451,
    },
    { id: "admin-freeze", kind: "kill-switch", match: { path: "/admin/**", hosts: ["admin.localhost"] } },
    { id: "acme-freeze", kind: "kill-switch", match: { path: "/api/:tenant/billing/**", tenants: ["acme"] } },
    {
      id: "past-freeze",
      kind: "kill-switch",
      match: { path: "/api/old/**" },
      expiresAt: new Date(Date.now() - HOUR).toISOString(),
    },
    {
      id: "future-freeze",
      kind: "kill-switch",
      match: { path: "/api/new/**" },
      expiresAt: new Date(Date.now() + HOUR).toISOString(),
    },
    { id: "watch-search", kind: "kill-switch", mode: "monitor", match: { path: "/api/search" } },
    // Enforced on the same route: a monitor switch must not switch the other rules off with it.
    {
      id: "search-policy",
      kind: "headers",
      match: { path: "/api/search" },
      set: { "x-search-policy": "watched" },
    },
    {
      id: "phi-no-store",
      kind: "headers",
      match: { path: "/api/patients/**" },
      set: { "cache-control": "private, no-store" },
    },
  ],
};

interface Body {
  upstream?: boolean;
  method?: string;
  path?: string;
  error?: string;
  rule?: string;
  incident?: string;
  requestId?: string;
}

async function json(response: Response): Promise<Body> {
  return (await response.json()) as Body;
}

for (const name of HARNESSES) {
  describe(`kill switches (${name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      // As on Vercel: the platform sets x-real-ip (the harness plays it), and VERCEL=1 says so.
      h = await startHarness(name, { rules: RULES, env: { VERCEL: "1" } });
    });
    afterAll(() => h?.close());

    async function expectBlocked(
      path: string,
      init?: RequestInit,
      rule = "export-freeze",
    ): Promise<Response> {
      const before = h.upstreamHits();
      const response = await h.fetch(path, init);
      expect(response.status, `${init?.method ?? "GET"} ${path}`).toBeGreaterThanOrEqual(400);
      if (init?.method !== "HEAD") expect((await json(response)).rule, path).toBe(rule);
      expect(h.upstreamHits(), `${path} must not reach the upstream`).toBe(before);
      return response;
    }

    async function expectPassed(path: string, init?: RequestInit): Promise<Response> {
      const before = h.upstreamHits();
      const response = await h.fetch(path, init);
      expect(response.status, `${init?.method ?? "GET"} ${path}`).toBe(200);
      expect(h.upstreamHits(), `${path} must reach the upstream`).toBe(before + 1);
      return response;
    }

    describe("a kill switch on /api/patients/*/export", () => {
      it.each([
        "/api/patients/1/export",
        "/api/patients/1/%65xport",
        "/api//patients/1/export",
        "/api/x/../patients/1/export",
        "/API/patients/1/export/",
        "/api/patients/1/export;x=1",
        "/_next/data/b1/api/patients/1/export.json",
        "/api/patients/1/export.",
        "/api/patients/1/EXPORT?format=csv",
        "/api/patients/1%2Fexport",
        "/api/x%2F..%2Fpatients/1/export",
        // Backslashes become slashes in URL parsing (Node's Request and workerd alike) before the firewall runs.
        "/api\\patients\\1\\export",
      ])("blocks %s with 503", async (path) => {
        const response = await expectBlocked(path);
        expect(response.status).toBe(503);
      });

      it.each(["HEAD", "OPTIONS"])("blocks %s of the route", async (method) => {
        const response = await expectBlocked("/api/patients/1/export", { method });
        expect(response.status).toBe(503);
      });

      it.each([
        "/api/patients/1/exports",
        "/api/patients/1%252Fexport",
        "/api/patients/1/export/more",
        "/api/patients/export",
      ])("lets %s through to the upstream", async (path) => {
        const response = await expectPassed(path);
        const body = await json(response);
        expect(body.upstream).toBe(true);
        // The origin receives the path as the client spelled it, not the firewall's reading of it.
        expect(body.path).toBe(path);
      });
    });

    describe("the block response", () => {
      it("is JSON with exactly error, rule, incident and requestId, and is never cached", async () => {
        const response = await expectBlocked("/api/patients/7/export");
        expect(response.headers.get("content-type")).toMatch(/^application\/json/);
        expect(response.headers.get("cache-control")).toBe("no-store");
        const body = await json(await h.fetch("/api/patients/7/export"));
        expect(Object.keys(body).sort()).toEqual(["error", "incident", "requestId", "rule"]);
        expect(body).toMatchObject({
          error: "Exports are paused.",
          rule: "export-freeze",
          incident: "INC-2041",
        });
        expect(body.requestId).toMatch(/^[\w:.-]{8,128}$/);
      });

      it("leaks nothing internal: no reason text, no client address", async () => {
        const response = await h.fetch("/api/patients/7/export");
        const text = await response.text();
        expect(text).not.toContain("INTERNAL-ONLY");
        expect(text).not.toContain("reason");
        expect(text).not.toContain(DEFAULT_CLIENT_IP);
        expect([...response.headers.keys()].some((key) => key.includes("reason"))).toBe(false);
      });

      it("carries Retry-After from the switch", async () => {
        const response = await expectBlocked("/api/patients/7/export");
        expect(response.headers.get("retry-after")).toBe("120");
      });

      it("leaves out incident when the switch has none, and uses the configured status", async () => {
        const response = await expectBlocked("/api/reports/q3", undefined, "report-read-freeze");
        expect(response.status).toBe(451);
        const body = await json(await h.fetch("/api/reports/q3"));
        expect(Object.keys(body).sort()).toEqual(["error", "requestId", "rule"]);
        expect(response.headers.get("retry-after")).toBeNull();
      });
    });

    describe("scoping", () => {
      it("blocks only the listed methods", async () => {
        await expectBlocked("/api/uploads", { method: "POST", body: "x" }, "upload-freeze");
        await expectPassed("/api/uploads");
        await expectPassed("/api/uploads", { method: "PUT", body: "x" });
      });

      it("treats HEAD as GET and a method override header as the method it names", async () => {
        await expectBlocked("/api/reports/q3", { method: "HEAD" }, "report-read-freeze");
        await expectBlocked(
          "/api/uploads",
          { method: "GET", headers: { "x-http-method-override": "POST" } },
          "upload-freeze",
        );
        await expectPassed("/api/reports/q3", { method: "POST", body: "{}" });
      });

      it("blocks only on the listed hosts", async () => {
        await expectBlocked("http://admin.localhost/admin/users", undefined, "admin-freeze");
        await expectBlocked("http://ADMIN.localhost./admin/users", undefined, "admin-freeze");
        await expectPassed("http://acme.localhost/admin/users");
      });

      it("blocks only the listed tenants, whatever the case of the tenant segment", async () => {
        await expectBlocked("/api/acme/billing/invoices", undefined, "acme-freeze");
        await expectBlocked("/api/ACME/billing/invoices", undefined, "acme-freeze");
        await expectPassed("/api/globex/billing/invoices");
      });
    });

    describe("expiry", () => {
      it("lets requests through once expiresAt has passed, without anyone deleting the switch", async () => {
        await expectPassed("/api/old/data");
      });

      it("blocks until expiresAt", async () => {
        await expectBlocked("/api/new/data", undefined, "future-freeze");
      });
    });

    describe("break-glass", () => {
      it("lets a responder address inside the allow-listed CIDR through the switch", async () => {
        await expectPassed("/api/patients/1/export", { headers: { "x-real-ip": "198.51.100.23" } });
        await expectPassed("/api/patients/1/export", { headers: { "x-real-ip": "2001:db8:ffff::1" } });
      });

      it("still blocks an address just outside the CIDR", async () => {
        await expectBlocked("/api/patients/1/export", { headers: { "x-real-ip": "198.51.101.23" } });
      });

      it("lets the IPv4-mapped IPv6 spellings of a responder address through, and the CIDR's edges", async () => {
        await expectPassed("/api/patients/1/export", { headers: { "x-real-ip": "::ffff:198.51.100.23" } });
        await expectPassed("/api/patients/1/export", { headers: { "x-real-ip": "::ffff:c633:6417" } });
        await expectPassed("/api/patients/1/export", { headers: { "x-real-ip": "198.51.100.0" } });
        await expectPassed("/api/patients/1/export", { headers: { "x-real-ip": "198.51.100.255" } });
        await expectBlocked("/api/patients/1/export", { headers: { "x-real-ip": "198.51.99.255" } });
        await expectBlocked("/api/patients/1/export", { headers: { "x-real-ip": "::ffff:198.51.101.0" } });
      });

      it("refuses break-glass when the address header holds a list a client could have started", async () => {
        await expectBlocked("/api/patients/1/export", {
          headers: { "x-real-ip": "198.51.100.23, 203.0.113.7" },
        });
        await expectBlocked("/api/patients/1/export", {
          headers: { "x-real-ip": "203.0.113.7, 198.51.100.23" },
        });
      });
    });

    describe("monitor mode", () => {
      it("lets a per-rule monitor switch's matches through to the upstream, still enforcing the route's other rules", async () => {
        const response = await expectPassed("/api/search");
        expect(response.headers.get("x-search-policy")).toBe("watched");
        const body = await json(response);
        expect(body.upstream).toBe(true);
      });
    });

    describe("headers rule", () => {
      it("sets cache-control: private, no-store on a passing PHI route, over the origin's own value", async () => {
        const response = await expectPassed("/api/patients/1");
        expect(response.headers.get("cache-control")).toBe("private, no-store");
        expect(response.headers.get("x-middleware-next")).toBeNull();
      });

      it("leaves other routes' origin headers alone", async () => {
        const response = await expectPassed("/api/other");
        expect(response.headers.get("cache-control")).toBe("public, max-age=60");
      });
    });

    describe("request guard", () => {
      it.each([
        "/api/patients/1/export%00.json",
        "/api/patients/1/%0d%0aexport",
        "/api/patients/%7f1",
        "/api/patients/1%09/export",
      ])("answers %s with 400, never a truncated match", async (path) => {
        const response = await expectBlocked(path, undefined, "request-guard");
        expect(response.status).toBe(400);
      });

      it("blocks a request carrying x-middleware-subrequest (CVE-2025-29927)", async () => {
        const response = await expectBlocked(
          "/api/patients/1",
          {
            headers: { "x-middleware-subrequest": "middleware:middleware:middleware:middleware:middleware" },
          },
          "request-guard",
        );
        expect(response.status).toBe(400);
      });
    });
  });

  describe(`monitor mode for the whole document (${name})`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(name, { rules: { ...RULES, mode: "monitor" } });
    });
    afterAll(() => h?.close());

    it("lets every switch's matches through to the upstream", async () => {
      for (const path of ["/api/patients/1/export", "/api/new/data", "/api/reports/q3"]) {
        const before = h.upstreamHits();
        const response = await h.fetch(path);
        expect(response.status, path).toBe(200);
        expect(h.upstreamHits(), path).toBe(before + 1);
      }
    });
  });

  describe(`kill switches from Edge Config items (${name})`, () => {
    let ec: EdgeConfigServer;
    let h: Harness;
    const options = (): HarnessOptions => ({ edgeConfig: ec.connectionString, options: { refreshMs: 0 } });
    beforeAll(async () => {
      ec = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
      h = await startHarness(name, options());
    });
    afterAll(async () => {
      await h?.close();
      await ec?.close();
    });

    it("blocks once a containment_kill_<id> item appears and passes once it is deleted", async () => {
      expect((await h.fetch("/api/patients/1/%65xport")).status).toBe(200);
      ec.setItem("containment_kill_inc2041", {
        match: { path: "/api/patients/*/export" },
        incident: "INC-2041",
        reason: "leak",
      });
      const blocked = await h.fetch("/api/patients/1/%65xport");
      expect(blocked.status).toBe(503);
      expect(await json(blocked)).toMatchObject({ rule: "inc2041", incident: "INC-2041" });
      ec.deleteItem("containment_kill_inc2041");
      expect((await h.fetch("/api/patients/1/%65xport")).status).toBe(200);
    });
  });
}
