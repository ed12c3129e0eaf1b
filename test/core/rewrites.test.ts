/**
 * Rewrite awareness: middleware runs before rewrites, so a rule on a rewrite's
 * destination must also block the sources that land there, with Next.js's matching semantics.
 */
import { describe, expect, it } from "vitest";
import { compileRewrites, compileSource, type RewritesOption } from "../../src/core/rewrites.js";
import { createContainment } from "../../src/engine/firewall.js";

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

const REWRITES: RewritesOption = {
  beforeFiles: [{ source: "/legacy/export/:id", destination: "/api/patients/:id/export" }],
  afterFiles: [
    { source: "/v1/patients/:id/export", destination: "/api/patients/:id/export?via=v1" },
    {
      source: "/download/:id",
      has: [{ type: "query", key: "format", value: "csv" }],
      destination: "/api/patients/:id/export",
    },
    {
      source: "/files/:id",
      missing: [{ type: "cookie", key: "internal" }],
      destination: "/api/patients/:id/export",
    },
    {
      source: "/h/:id",
      has: [{ type: "header", key: "X-Export", value: "(?<kind>export|csv)" }],
      destination: "/api/patients/:id/:kind",
    },
    { source: "/elsewhere/:path*", destination: "https://other.example.com/:path*" },
  ],
  fallback: [
    { source: "/old/:path*", destination: "/api/:path*" },
    { source: "/hop/:id", destination: "/legacy/export/:id" },
  ],
};

function firewall(rewrites: RewritesOption = REWRITES, basePath?: string) {
  const containment = createContainment({
    rules: RULES,
    env: {},
    rewrites,
    ...(basePath ? { normalize: { basePath } } : {}),
  });
  return async (path: string, headers: Record<string, string> = {}) => {
    const { response, decision } = await containment.decide(
      new Request(`https://app.example.com${path}`, { headers }),
    );
    return { status: response?.status ?? 200, rule: decision.rule };
  };
}

describe("a rule on a rewrite's destination", () => {
  it("blocks the sources of beforeFiles, afterFiles and fallback rewrites", async () => {
    const check = firewall();
    expect(await check("/legacy/export/1")).toEqual({ status: 503, rule: "export-freeze" });
    expect((await check("/v1/patients/7/export")).status).toBe(503);
    expect((await check("/old/patients/3/export")).status).toBe(503);
  });

  it("blocks every spelling of a source the normalizer reads as the same path", async () => {
    const check = firewall();
    for (const spelling of [
      "/LEGACY/Export/1",
      "/legacy//export/1",
      "/legacy/%65xport/1",
      "/legacy/./export/1/",
    ])
      expect((await check(spelling)).status, spelling).toBe(503);
  });

  it("follows a chain of rewrites", async () => {
    expect((await firewall()("/hop/9")).status).toBe(503);
  });

  it("lets through sources whose destination is not blocked", async () => {
    const check = firewall();
    expect((await check("/legacy/export")).status).toBe(200);
    expect((await check("/old/reports/3")).status).toBe(200);
    expect((await check("/v1/patients/7")).status).toBe(200);
  });

  it("applies has and missing conditions as Next.js does", async () => {
    const check = firewall();
    expect((await check("/download/1?format=csv")).status).toBe(503);
    expect((await check("/download/1?format=pdf")).status).toBe(200);
    expect((await check("/download/1")).status).toBe(200);
    expect((await check("/files/1")).status).toBe(503);
    expect((await check("/files/1", { cookie: "a=b; internal=1" })).status).toBe(200);
    expect((await check("/h/1", { "x-export": "export" })).status).toBe(503);
    expect((await check("/h/1", { "x-export": "nope" })).status).toBe(200);
  });

  it("ignores rewrites to another origin", async () => {
    expect((await firewall()("/elsewhere/patients/1/export")).status).toBe(200);
  });

  it("works under a basePath, including rewrites that opt out of it with basePath: false", async () => {
    const check = firewall(
      [
        { source: "/legacy/export/:id", destination: "/api/patients/:id/export" },
        { source: "/raw/:id", destination: "/portal/api/patients/:id/export", basePath: false },
      ],
      "/portal",
    );
    expect((await check("/portal/legacy/export/1")).status).toBe(503);
    expect((await check("/raw/1")).status).toBe(503);
  });
});

describe("compiling rewrite sources", () => {
  it("follows path-to-regexp 6 semantics for parameters and modifiers", () => {
    const match = (source: string, path: string) => compileSource(source, "$").regex.exec(path)?.slice(1);
    expect(match("/a/:id", "/a/1")).toEqual(["1"]);
    expect(match("/a/:id", "/a/1/2")).toBeUndefined();
    expect(match("/a/:rest*", "/a")).toEqual([undefined]);
    expect(match("/a/:rest*", "/a/b/c")).toEqual(["b/c"]);
    expect(match("/a/:rest+", "/a")).toBeUndefined();
    expect(match("/a/:opt?", "/a")).toEqual([undefined]);
    expect(match("/a/:id(\\d+)", "/a/12")).toEqual(["12"]);
    expect(match("/a/:id(\\d+)", "/a/x")).toBeUndefined();
    expect(match("/a/(.*)", "/a/x/y")).toEqual(["x/y"]);
    expect(match("/A/:id", "/a/1")).toEqual(["1"]);
    expect(match("/file.:ext", "/file.json")).toEqual(["json"]);
  });

  it("refuses what it cannot read, naming the rewrite", () => {
    expect(() => compileRewrites([{ source: "/a{/:b}?", destination: "/x" }])).toThrow(
      /rewrites\[0\]\.source/,
    );
    expect(() => compileRewrites({ afterFiles: [{ source: "no-slash", destination: "/x" }] })).toThrow(
      /rewrites\.afterFiles\[0\]\.source: must start with "\/"/,
    );
    expect(() =>
      compileRewrites([{ source: "/a", destination: "/b", has: [{ type: "query", key: "k", value: "(" }] }]),
    ).toThrow(/rewrites\[0\]\.has\[0\]\.value/);
    expect(() =>
      createContainment({ rules: RULES, env: {}, rewrites: [{ source: "/a(", destination: "/b" }] }),
    ).toThrow(/ERR_CONFIG|unbalanced/);
  });
});
