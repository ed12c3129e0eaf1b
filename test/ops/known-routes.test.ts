import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  manifestRoutes,
  nearestRoutes,
  nextRouteToPattern,
  unknownPatterns,
} from "../../src/ops/known-routes.js";

const KNOWN = [
  "/api/:tenant/patients/:id/export",
  "/api/:tenant/patients/:id",
  "/api/:tenant/invoices/:id",
  "/api/health",
  "/docs/**",
];

describe("routes nobody has", () => {
  it("accepts patterns that overlap a known route, whatever the parameter names", () => {
    expect(
      unknownPatterns(["/api/:org/patients/*/export", "/api/acme/patients/**", "/docs/a/b", "/**"], KNOWN),
    ).toEqual([]);
  });

  it("catches a misspelled middle segment, last segment and parameter, and names the nearest route", () => {
    const typos = [
      "/api/:tenant/patinets/*/export",
      "/api/:tenant/patients/*/exprot",
      "/api/{tenant}/patients/*/export",
    ];
    expect(unknownPatterns(typos, KNOWN)).toEqual(typos);
    for (const typo of typos) expect(nearestRoutes(typo, KNOWN)[0]).toBe("/api/:tenant/patients/:id/export");
  });

  it("knows a page under a [locale] segment by its path without the locale, as kill switches are written", () => {
    // next-intl's app/[locale]/account/export/page.tsx: a kill on /account/export blocks /de/account/export.
    const intl = ["/:locale", "/:locale/account/export", "/api/records/:id"];
    expect(unknownPatterns(["/account/export", "/account/**", "/api/records/*"], intl)).toEqual([]);
    expect(unknownPatterns(["/acount/export", "/account/exprot"], intl)).toEqual([
      "/acount/export",
      "/account/exprot",
    ]);
    expect(nearestRoutes("/acount/export", intl)[0]).toBe("/account/export");
  });

  it("blocks nothing when nothing is known (fresh install)", () => {
    expect(unknownPatterns(["/api/anything"], [])).toEqual([]);
  });

  it("reads Next.js manifests: [param] → :param, [...x] → **, groups dropped", async () => {
    expect(nextRouteToPattern("/api/[tenant]/patients/[id]/export")).toBe("/api/:tenant/patients/:id/export");
    expect(nextRouteToPattern("/docs/[...slug]")).toBe("/docs/**");
    expect(nextRouteToPattern("/(shop)/cart/[[...rest]]")).toBe("/cart/**");
    const dir = mkdtempSync(join(tmpdir(), "known-routes-"));
    mkdirSync(join(dir, ".next"));
    writeFileSync(
      join(dir, ".next", "routes-manifest.json"),
      JSON.stringify({
        staticRoutes: [{ page: "/api/health" }],
        dynamicRoutes: [{ page: "/api/[tenant]/invoices/[id]" }],
      }),
    );
    writeFileSync(
      join(dir, ".next", "app-path-routes-manifest.json"),
      JSON.stringify({ "/api/[tenant]/patients/[id]/export/route": "/api/[tenant]/patients/[id]/export" }),
    );
    expect((await manifestRoutes(dir)).sort()).toEqual([
      "/api/:tenant/invoices/:id",
      "/api/:tenant/patients/:id/export",
      "/api/health",
    ]);
    expect(await manifestRoutes(join(dir, "none"))).toEqual([]);
  });
});
