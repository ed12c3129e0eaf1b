import { describe, expect, it } from "vitest";
import { normalizePath, takesFastPath } from "../../src/core/path.js";

function readings(raw: string, options = {}): string[] {
  const result = normalizePath(raw, options);
  if (!result.ok) throw new Error(result.fault);
  return result.candidates.map((candidate) => `/${candidate.lower.join("/")}`);
}

/** The readings that are not a guessed locale prefix (tenant binding reads only these). */
function exactReadings(raw: string, options = {}): string[] {
  const result = normalizePath(raw, options);
  if (!result.ok) throw new Error(result.fault);
  return result.candidates.filter((c) => !c.localeGuess).map((candidate) => `/${candidate.lower.join("/")}`);
}

function guessedReadings(raw: string, options = {}): string[] {
  const result = normalizePath(raw, options);
  if (!result.ok) throw new Error(result.fault);
  return result.candidates.filter((c) => c.localeGuess).map((candidate) => `/${candidate.lower.join("/")}`);
}

describe("locale prefixes no option names", () => {
  it("reads a locale-shaped first segment also without it, as a guess, last", () => {
    expect(readings("/fr/dashboard/export")).toEqual(["/fr/dashboard/export", "/dashboard/export"]);
    expect(guessedReadings("/fr/dashboard/export")).toEqual(["/dashboard/export"]);
    for (const prefix of ["pt-BR", "zh-Hant-TW", "es_419", "FIL", "De", "%64e", "d%45"])
      expect(guessedReadings(`/${prefix}/dashboard/export`), prefix).toContain("/dashboard/export");
  });

  it("unwraps RSC, segment prefetch and _next/data spellings under a guessed prefix", () => {
    expect(guessedReadings("/fr/dashboard/export.rsc")).toContain("/dashboard/export");
    expect(guessedReadings("/fr/dashboard/export.prefetch.rsc")).toContain("/dashboard/export");
    expect(guessedReadings("/fr/dashboard/export.segments/__PAGE__.segment.rsc")).toContain(
      "/dashboard/export",
    );
    expect(guessedReadings("/_next/data/b1/fr/dashboard/export.json")).toContain("/dashboard/export");
    expect(guessedReadings("/docs/fr/dashboard/export", { basePath: "/docs" })).toEqual([
      "/dashboard/export",
    ]);
  });

  it("guesses nothing for configured locales (exact), for api, or for longer first segments", () => {
    expect(guessedReadings("/de/x", { locales: ["de"] })).toEqual([]);
    expect(exactReadings("/de/x", { locales: ["de"] })).toEqual(["/de/x", "/x"]);
    expect(guessedReadings("/api/x")).toEqual([]);
    expect(guessedReadings("/dashboard/x")).toEqual([]);
    expect(guessedReadings("/en-us-x-private/x")).toEqual([]);
    expect(takesFastPath("/api/x")).toBe(true);
    expect(takesFastPath("/fr/x")).toBe(false);
  });
});

describe("path normalization", () => {
  it("decodes percent-encoded letters once", () => {
    expect(readings("/api/patients/1/%65xport")).toEqual(["/api/patients/1/export"]);
  });

  it("never decodes twice: %252F stays the literal text %2F inside one segment", () => {
    expect(readings("/api/patients/1%252Fexport")).toEqual(["/api/patients/1%2fexport"]);
  });

  it("reads an encoded slash both as data and as a separator", () => {
    const result = normalizePath("/api/patients/1%2Fexport");
    expect(result.ok && result.candidates.map((c) => c.segments)).toEqual([
      ["api", "patients", "1/export"],
      ["api", "patients", "1", "export"],
    ]);
  });

  it("collapses repeated slashes and backslashes", () => {
    expect(readings("/api//patients\\1\\\\export")).toEqual(["/api/patients/1/export"]);
  });

  it("resolves dot segments, also when they are encoded, and never climbs above the root", () => {
    expect(readings("/api/x/../patients/./1/export")).toEqual(["/api/patients/1/export"]);
    expect(readings("/api/x/%2e%2e/patients/1/export")).toEqual(["/api/patients/1/export"]);
    expect(exactReadings("/../../etc")).toEqual(["/etc"]);
  });

  it("strips a trailing slash, trailing dots and ;parameters", () => {
    expect(readings("/api/patients/1/export/")).toEqual(["/api/patients/1/export"]);
    expect(readings("/api/patients/1/export..")).toEqual(["/api/patients/1/export"]);
    expect(readings("/api;jsessionid=1/patients/1/export;x=1")).toEqual(["/api/patients/1/export"]);
  });

  it("matches case-insensitively but keeps the original case for captured values", () => {
    const result = normalizePath("/API/Acme/Export");
    expect(result.ok && result.candidates[0]?.lower).toEqual(["api", "acme", "export"]);
    expect(result.ok && result.candidates[0]?.segments).toEqual(["API", "Acme", "Export"]);
  });

  it("unwraps Next.js data routes, including the index page and a locale", () => {
    expect(readings("/_next/data/b1/api/patients/1/export.json")).toContain("/api/patients/1/export");
    expect(readings("/_next/data/b1/index.json")).toContain("/");
    expect(readings("/_next/data/b1/en/api/x.json", { locales: ["en"] })).toContain("/api/x");
  });

  it("unwraps React Server Component payloads", () => {
    expect(readings("/api/patients/1/export.rsc")).toContain("/api/patients/1/export");
    expect(readings("/dashboard.prefetch.rsc")).toContain("/dashboard");
  });

  it("removes a configured basePath and tries paths without a locale prefix", () => {
    expect(readings("/docs/api/x", { basePath: "/docs" })).toEqual(["/api/x"]);
    expect(readings("/de/api/x", { locales: ["en", "de"] })).toEqual(["/de/api/x", "/api/x"]);
  });

  it("rejects control characters and NUL, raw or encoded, instead of truncating", () => {
    for (const raw of ["/api/x%00/export", "/api/x%0d%0a", "/api/\u0001", "/api/x%7f", "/api/%C2%85"]) {
      const result = normalizePath(raw);
      expect(result).toEqual({ ok: false, fault: "path-control-character" });
    }
  });

  it("rejects malformed percent-encoding and over-long paths", () => {
    expect(normalizePath("/api/%zz")).toEqual({ ok: false, fault: "path-bad-encoding" });
    expect(normalizePath("/api/%E0%A4%A")).toEqual({ ok: false, fault: "path-bad-encoding" });
    expect(normalizePath(`/${"a".repeat(9000)}`)).toEqual({ ok: false, fault: "path-too-long" });
  });

  it("redacts nothing itself but gives a display path without the query", () => {
    const result = normalizePath("/api/a/b");
    expect(result.ok && result.display).toBe("/api/a/b");
  });

  it("takes the fast path only for a path it would leave exactly as sent", () => {
    for (const path of [
      "/api/v1/patients/1/export",
      "/API/Acme/Export",
      "/_next/static/chunks/a.js",
      "/x.json",
    ])
      expect(takesFastPath(path), path).toBe(true);
    const declined: Array<[string, { basePath?: string; locales?: string[] }]> = [
      ["/", {}],
      ["/api/x/", {}],
      ["/api//x", {}],
      ["/api/./x", {}],
      ["/api/../x", {}],
      ["/api/x.", {}],
      ["/api;v=1/x", {}],
      ["/api\\x", {}],
      ["/api/%65xport", {}],
      ["/api/x%2Fexport", {}],
      ["/api/export.rsc", {}],
      ["/api/export.prefetch.rsc", {}],
      ["/api/export.segments/__PAGE__.segment.rsc", {}],
      ["/_next/data/b1/api/x.json", {}],
      ["/docs/api/x", { basePath: "/docs" }],
      ["/EN/api/x", { locales: ["en"] }],
    ];
    for (const [path, options] of declined) expect(takesFastPath(path, options), path).toBe(false);
    const fast = normalizePath("/API/Acme/Export");
    expect(fast.ok && fast.display).toBe("/API/Acme/Export");
  });
});
