/**
 * The Next.js adapter: basePath and locale come from `request.nextUrl`
 * with no option to forget, `withContainment(nextConfig)` hands the rewrite table to the adapter,
 * and `compose` keeps the firewall's headers and checks the destination of your own rewrite.
 * Requests are real `NextRequest`s from the example app's Next install (`npm test` installs it).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { compose, createNextMiddleware, createNextProxy, withContainment } from "../../src/adapters/next.js";
import { NEXT_BUILD_ENV } from "../../src/adapters/next-config.js";
import type { Decision } from "../../src/model/decision.js";
import { APP, nextSuitesRun } from "../support/next-app.js";
import { startNodeProxyHarness } from "../support/node-proxy.js";

const enabled = nextSuitesRun();

const RULES = {
  version: 1,
  rules: [
    { id: "export-freeze", kind: "kill-switch", match: { path: "/api/patients/*/export" } },
    {
      id: "phi-no-store",
      kind: "headers",
      match: { path: "/api/patients/**" },
      set: { "cache-control": "private, no-store" },
    },
  ],
};

type NextServerModule = {
  NextRequest: new (input: string, init?: RequestInit & { nextConfig?: Record<string, unknown> }) => Request;
  NextResponse: typeof Response & {
    next(): Response;
    rewrite(url: string | URL): Response;
    redirect(url: string | URL): Response;
  };
};
const next = (): NextServerModule =>
  createRequire(join(APP, "package.json"))("next/server") as NextServerModule;

afterEach(() => {
  delete process.env[NEXT_BUILD_ENV];
});

describe.skipIf(!enabled)("the Next.js adapter reads basePath and locale from nextUrl", () => {
  it("blocks a route under the app's basePath with no normalize option (proxy.ts on Node)", async () => {
    const proxy = await startNodeProxyHarness({ rules: RULES, basePath: "/base" });
    try {
      expect(proxy.usesNextRequest).toBe(true);
      expect((await proxy.fetch("/base/api/patients/1/export")).status).toBe(503);
      expect((await proxy.fetch("/base/api/patients/1/%65xport")).status).toBe(503);
      const passed = await proxy.fetch("/base/api/patients/1");
      expect(passed.status).toBe(200);
      expect(passed.headers.get("cache-control")).toBe("private, no-store");
      expect(proxy.upstreamHits()).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("serves the proxy harness over a real socket", async () => {
    const proxy = await startNodeProxyHarness({ rules: RULES, basePath: "/base" });
    try {
      expect((await fetch(`${proxy.url}/base/api/patients/1/export`)).status).toBe(503);
      expect((await fetch(`${proxy.url}/base/api/patients/1`)).status).toBe(200);
    } finally {
      await proxy.close();
    }
  });

  it("blocks a route behind an i18n locale prefix", async () => {
    const middleware = createNextMiddleware({ rules: RULES, env: {} });
    const { NextRequest } = next();
    const nextConfig = { i18n: { locales: ["en", "de"], defaultLocale: "en" } };
    const request = new NextRequest("https://app.example.com/de/api/patients/1/export", { nextConfig });
    expect((await middleware(request)).status).toBe(503);
    const other = new NextRequest("https://app.example.com/de/api/patients/1", { nextConfig });
    expect((await middleware(other)).headers.get("x-middleware-next")).toBe("1");
  });
});

describe("withContainment(nextConfig)", () => {
  const config = {
    basePath: "/portal",
    poweredByHeader: false,
    env: { OWN: "kept" } as Record<string, string | undefined>,
    i18n: { locales: ["en", "fr"] },
    rewrites: async () => ({
      beforeFiles: [{ source: "/legacy/export/:id", destination: "/api/patients/:id/export" }],
      afterFiles: [],
      fallback: [{ source: "/old/:path*", destination: "/api/:path*" }],
    }),
  };

  it("hands the rewrite table, basePath and locales to the adapter through env and keeps the rest", async () => {
    const wrapped = await withContainment(config)("phase-production-build", { defaultConfig: {} });
    expect(wrapped.poweredByHeader).toBe(false);
    expect(wrapped.env?.OWN).toBe("kept");
    const table = JSON.parse(wrapped.env?.[NEXT_BUILD_ENV] ?? "{}");
    expect(table).toMatchObject({ v: 1, basePath: "/portal", locales: ["en", "fr"] });
    expect(table.rewrites.beforeFiles).toHaveLength(1);
  });

  it("makes the adapter block the sources of a blocked destination", async () => {
    const wrapped = await withContainment(() => config)("phase-production-build", { defaultConfig: {} });
    process.env[NEXT_BUILD_ENV] = wrapped.env?.[NEXT_BUILD_ENV];
    const middleware = createNextProxy({ rules: RULES, env: {}, normalize: { basePath: "/portal" } });
    const status = async (path: string) =>
      (await middleware(new Request(`https://app.example.com${path}`))).status;
    expect(await status("/portal/legacy/export/1")).toBe(503);
    expect(await status("/portal/old/patients/1/export")).toBe(503);
    expect(await status("/portal/old/patients/1")).toBe(200);
  });

  it("fails the build on a rewrite source the firewall cannot read", async () => {
    const bad = { rewrites: async () => [{ source: "/a/{:b}?", destination: "/api/patients/1/export" }] };
    await expect(withContainment(bad)("phase-production-build", { defaultConfig: {} })).rejects.toThrow(
      /rewrites\[0\]\.source/,
    );
  });

  it("adds the locales an i18n library keeps out of next.config, and refuses one that is not a locale", async () => {
    const wrapped = await withContainment(config, { locales: ["en", "pt-BR"] })("phase-production-build", {
      defaultConfig: {},
    });
    expect(JSON.parse(wrapped.env?.[NEXT_BUILD_ENV] ?? "{}").locales).toEqual(["en", "fr", "pt-BR"]);
    expect(() => withContainment(config, { locales: ["en", "../x"] })).toThrow(
      'withContainment options.locales[1] must be a locale like "en" or "pt-BR"; "../x" is not one',
    );
  });

  it("refuses a table that withContainment did not write, at setup", () => {
    process.env[NEXT_BUILD_ENV] = "{not json";
    expect(() => createNextMiddleware({ rules: RULES, env: {} })).toThrow(
      /EDGE_CONTAINMENT_NEXT is not JSON/,
    );
  });
});

describe.skipIf(!enabled)("compose(firewall, yourMiddleware)", () => {
  function recorded() {
    const decisions: Decision[] = [];
    return { decisions, sink: { record: (d: Decision) => void decisions.push(d), flush: async () => {} } };
  }

  it("keeps the firewall's headers on your NextResponse.next()", async () => {
    const { NextResponse } = next();
    const chain = compose(createNextMiddleware({ rules: RULES, env: {} }), () => NextResponse.next());
    const answer = await chain(new Request("https://app.example.com/api/patients/1"));
    expect(answer.headers.get("x-middleware-next")).toBe("1");
    expect(answer.headers.get("cache-control")).toBe("private, no-store");
  });

  it("never runs your middleware for a blocked request", async () => {
    let calls = 0;
    const chain = compose(createNextMiddleware({ rules: RULES, env: {} }), () => {
      calls++;
      return undefined;
    });
    expect((await chain(new Request("https://app.example.com/api/patients/1/export"))).status).toBe(503);
    expect(calls).toBe(0);
  });

  it("blocks your rewrite to a blocked route, and mirrors the second look only when it blocks", async () => {
    const { NextResponse } = next();
    const { decisions, sink } = recorded();
    const chain = compose(
      createNextMiddleware({ rules: RULES, env: {}, sinks: [sink] }),
      (request: Request) => {
        const path = new URL(request.url).pathname;
        return NextResponse.rewrite(new URL(`/api/patients${path.slice("/go".length)}`, request.url));
      },
    );
    expect((await chain(new Request("https://app.example.com/go/1/export"))).status).toBe(503);
    expect(decisions.map((d) => d.outcome)).toEqual(["allow", "block"]);
    const passed = await chain(new Request("https://app.example.com/go/1"));
    expect(passed.headers.get("x-middleware-rewrite")).toBe("https://app.example.com/api/patients/1");
    expect(passed.headers.get("cache-control")).toBe("private, no-store");
    expect(decisions).toHaveLength(3);
  });

  it("adds the firewall's headers to your redirect, whose headers are immutable", async () => {
    const chain = compose(createNextMiddleware({ rules: RULES, env: {} }), () =>
      Response.redirect("https://app.example.com/elsewhere", 307),
    );
    const answer = await chain(new Request("https://app.example.com/api/patients/1"));
    expect(answer.status).toBe(307);
    expect(answer.headers.get("cache-control")).toBe("private, no-store");
  });

  it("answers with the firewall's pass-through when your middleware returns nothing", async () => {
    const chain = compose(createNextMiddleware({ rules: RULES, env: {} }), () => undefined);
    const answer = await chain(new Request("https://app.example.com/api/patients/1"));
    expect(answer.headers.get("x-middleware-next")).toBe("1");
    expect(answer.headers.get("cache-control")).toBe("private, no-store");
  });

  it("refuses something that is not the firewall", () => {
    expect(() => compose((() => Promise.resolve(new Response())) as never)).toThrow(/createNextMiddleware/);
  });
});

describe("the drop-in steps of docs/getting-started.md", () => {
  it("show the example app's middleware.ts, proxy.ts variant and next.config.ts as they are", () => {
    const page = readFileSync(join(APP, "../../docs/getting-started.md"), "utf8");
    const section = page.slice(
      page.indexOf("## The example app"),
      page.indexOf("## What runs without rules from Edge Config"),
    );
    for (const file of ["middleware.ts", "next.config.ts"])
      expect(section, file).toContain(readFileSync(join(APP, file), "utf8"));
    expect(section).toContain("variants/proxy.ts");
    expect(section).toContain("npm pack --pack-destination .tmp");
  });
});
