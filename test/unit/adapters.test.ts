import { describe, expect, it } from "vitest";
import { createNextMiddleware } from "../../src/adapters/next.js";
import { createMiddleware } from "../../src/adapters/vercel.js";
import { startEdgeConfigServer } from "../../src/dev/edge-config-server.js";

const rules = {
  version: 1,
  rules: [
    { id: "exports", kind: "kill-switch", match: { path: "/api/patients/*/export" } },
    {
      id: "no-store",
      kind: "headers",
      match: { path: "/api/patients/**" },
      set: { "cache-control": "private, no-store" },
    },
  ],
};

describe("platform adapters", () => {
  // `createNextProxy` is the same function as `createNextMiddleware` (Next 16 renamed the file, not
  // the contract): a case for it here would run the same code twice and could not fail on its own.
  // The Node `proxy.ts` runtime belongs with the Node proxy harness (test/support/node-proxy.ts).
  for (const [name, make] of [
    ["Vercel Routing Middleware", createMiddleware],
    ["Next.js middleware", createNextMiddleware],
  ] as const) {
    it(`${name}: blocks with the firewall's response and passes with x-middleware-next plus rule headers`, async () => {
      const waited: Promise<unknown>[] = [];
      const middleware = make({ rules, onReport: () => {} });
      const context = { waitUntil: (promise: Promise<unknown>) => void waited.push(promise) };
      const blocked = await middleware(new Request("https://app.example.com/api/patients/1/export"), context);
      expect(blocked.status).toBe(503);
      expect(blocked.headers.get("x-middleware-next")).toBeNull();
      const passed = await middleware(new Request("https://app.example.com/api/patients/1"), context);
      expect(passed.headers.get("x-middleware-next")).toBe("1");
      expect(passed.headers.get("cache-control")).toBe("private, no-store");
      await Promise.all(waited);
    });
  }

  it("reads the Edge Config connection from GLOBAL_CONFIG when EDGE_CONFIG is absent (the product's new name)", async () => {
    const server = await startEdgeConfigServer({ items: { containment: rules } });
    try {
      const middleware = createMiddleware({
        env: { GLOBAL_CONFIG: server.connectionString },
        onReport: () => {},
      });
      expect((await middleware(new Request("https://app.example.com/api/patients/1/export"))).status).toBe(
        503,
      );
      expect(server.counts.reads).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it("blocks nothing without Edge Config and never serves the demo rules (issue 12)", async () => {
    const reports: string[] = [];
    const middleware = createMiddleware({ env: {}, onReport: (event) => reports.push(event) });
    expect((await middleware(new Request("https://app.example.com/api/patients/1/export"))).status).toBe(200);
    expect((await middleware(new Request("https://app.example.com/"))).headers.get("x-middleware-next")).toBe(
      "1",
    );
    expect(reports).toEqual(["rules-source-missing"]);
  });
});
