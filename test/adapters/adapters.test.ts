import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createNextMiddleware, withContainment } from "../../src/adapters/next.js";
import { type BuildContext, checkBuild } from "../../src/adapters/next-build-check.js";
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

  it("blocks nothing without Edge Config and never serves the demo rules", async () => {
    const reports: string[] = [];
    const middleware = createMiddleware({ env: {}, onReport: (event) => reports.push(event) });
    expect((await middleware(new Request("https://app.example.com/api/patients/1/export"))).status).toBe(200);
    expect((await middleware(new Request("https://app.example.com/"))).headers.get("x-middleware-next")).toBe(
      "1",
    );
    expect(reports).toEqual(["rules-source-missing"]);
  });
});

/**
 * Matchers exactly as Next 16.4 compiles them into the build's manifests (from Next's own
 * `getMiddlewareMatchers`): the exclusion matcher Next's docs show, and the catch-all this project
 * recommends. The built example app checks the same against a real `next build` (test/next-app).
 */
const DOCS_EXCLUSION = {
  regexp:
    "^(?:\\/(_next\\/data\\/[^/]{1,}))?(?:\\/((?!api|_next\\/static|_next\\/image|favicon.ico).*))(\\.json|\\.rsc|\\.segments\\/.+\\.segment\\.rsc)?[\\/#\\?]?$",
  originalSource: "/((?!api|_next/static|_next/image|favicon.ico).*)",
};
const CATCH_ALL = {
  regexp:
    "^(?:\\/(_next\\/data\\/[^/]{1,}))?(?:\\/((?:[^\\/#\\?]+?)(?:\\/(?:[^\\/#\\?]+?))*))?(\\.json|\\.rsc|\\.segments\\/.+\\.segment\\.rsc)?[\\/#\\?]?$",
  originalSource: "/:path*",
};

/** A project directory after `next build`: the rules file and the manifest Next wrote. */
function builtProject(matchers: unknown[], manifest: "edge" | "node" = "edge"): string {
  const dir = mkdtempSync(join(tmpdir(), "containment-matcher-"));
  mkdirSync(join(dir, ".next/server"), { recursive: true });
  writeFileSync(join(dir, "containment.rules.json"), JSON.stringify(rules));
  const content =
    manifest === "edge"
      ? { version: 3, middleware: { "/": { matchers } } }
      : { version: 1, functions: { "/_middleware": { runtime: "nodejs", matchers } } };
  const file = manifest === "edge" ? "middleware-manifest.json" : "functions-config-manifest.json";
  writeFileSync(join(dir, ".next/server", file), JSON.stringify(content));
  return dir;
}

describe("the middleware matcher check after next build", () => {
  it("names every rule whose path the exported matcher skips, for middleware.ts and proxy.ts", () => {
    for (const kind of ["edge", "node"] as const) {
      const projectDir = builtProject([DOCS_EXCLUSION], kind);
      const lines: string[] = [];
      checkBuild({ projectDir, distDir: ".next" }, "", {
        onSkippedPaths: "warn",
        log: (line) => lines.push(line),
      });
      expect(lines.join("\n")).toContain("skips /api/patients/x/export, so kill switch exports");
      expect(lines.join("\n")).toContain("rule no-store (/api/patients/**)");
      expect(lines.at(-1)).toContain("/api/containment-probe: a kill switch pushed for such a path");
      expect(lines).toHaveLength(3);
    }
  });

  it("is silent for the catch-all matcher, with and without basePath", () => {
    const quiet: string[] = [];
    checkBuild({ projectDir: builtProject([CATCH_ALL]), distDir: ".next" }, "", {
      log: (l) => quiet.push(l),
    });
    expect(quiet).toEqual([]);
    const based = { ...CATCH_ALL, regexp: CATCH_ALL.regexp.replace("^", "^\\/portal") };
    checkBuild({ projectDir: builtProject([based]), distDir: ".next" }, "/portal", {
      log: (l) => quiet.push(l),
    });
    expect(quiet).toEqual([]);
  });

  it("fails the build by default on a hole, with the one-line fix; warning only is an explicit choice", () => {
    const projectDir = builtProject([DOCS_EXCLUSION]);
    const printed: string[] = [];
    expect(() => checkBuild({ projectDir, distDir: ".next" }, "", { log: (l) => printed.push(l) })).toThrow(
      /^edge-containment: 2 path\(s\) skip the firewall, so the build stops \(withContainment's matcherCheck.onSkippedPaths "warn" ships them anyway\): the middleware's config.matcher skips \/api\/patients\/x\/export, so kill switch exports \(\/api\/patients\/\*\/export\) never applies; export `config = \{ matcher: "\/:path\*" \}` \(or no matcher at all\)$/,
    );
    expect(printed).toHaveLength(3);
    expect(
      checkBuild({ projectDir, distDir: ".next" }, "", { onSkippedPaths: "warn", log: () => {} }),
    ).toHaveLength(3);
  });

  it("does not stop the build for a headers rule or a has/missing condition alone: they only warn", () => {
    const headersOnly = { version: 1, rules: [rules.rules[1]] };
    // A matcher that admits the generic probes but not /api/patients/**.
    const skipsPatients = { regexp: "^(?!\\/api\\/patients).*$", originalSource: "/((?!api/patients).*)" };
    const projectDir = builtProject([skipsPatients]);
    writeFileSync(join(projectDir, "containment.rules.json"), JSON.stringify(headersOnly));
    const printed: string[] = [];
    expect(checkBuild({ projectDir, distDir: ".next" }, "", { log: (l) => printed.push(l) })).toEqual(
      printed,
    );
    expect(printed).toEqual([expect.stringContaining("so rule no-store (/api/patients/**) never applies")]);
  });

  it("flags a has/missing condition: requests that do not meet it skip the firewall", () => {
    const lines: string[] = [];
    const conditional = { ...CATCH_ALL, missing: [{ type: "header", key: "next-router-prefetch" }] };
    checkBuild({ projectDir: builtProject([conditional]), distDir: ".next" }, "", {
      log: (l) => lines.push(l),
    });
    expect(lines).toEqual([expect.stringContaining("has a has/missing condition (/:path*)")]);
  });

  it("withContainment runs the check from next build's runAfterProductionCompile, after the app's own hook", async () => {
    const projectDir = builtProject([DOCS_EXCLUSION]);
    const order: string[] = [];
    const wrapped = withContainment(
      { compiler: { runAfterProductionCompile: async () => void order.push("app's hook") } },
      { matcherCheck: { onSkippedPaths: "warn", log: (line) => order.push(line.slice(0, 40)) } },
    );
    const config = await wrapped("phase-production-build", { defaultConfig: {} });
    // Next calls the hook with the build's directories (its type here is the app's own, argument-free).
    const hook = config.compiler?.runAfterProductionCompile as (context: BuildContext) => Promise<void>;
    await hook({ projectDir, distDir: join(projectDir, ".next") });
    expect(order[0]).toBe("app's hook");
    expect(order.slice(1)).toHaveLength(3);
    expect(order[1]).toContain("edge-containment: the middleware's");
  });
});
