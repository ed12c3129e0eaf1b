import { describe, expect, it } from "vitest";
import type { SwitchItem } from "../../src/ops/actions/switch-item.js";
import { narrowings, patternCovers, switchDiff } from "../../src/ops/actions/switch-scope.js";

const NOW = Date.parse("2026-12-07T05:00:00Z");
const base: SwitchItem = {
  id: "api-patients-export",
  match: { path: "/api/:tenant/patients/*/export", tenants: ["acme", "globex"] },
  status: 503,
  reason: "r",
  incident: "INC-1",
  expiresAt: "2026-12-07T07:00:00Z",
  version: 1,
};
const with_ = (change: Partial<SwitchItem>, match: Partial<SwitchItem["match"]> = {}): SwitchItem => ({
  ...base,
  ...change,
  match: { ...base.match, ...match },
});

describe("a replacement switch that blocks less", () => {
  it("is the same or wider when nothing a request could hit is dropped", () => {
    expect(narrowings(base, base, NOW)).toEqual([]);
    expect(narrowings(base, with_({}, { tenants: ["acme", "globex", "initech"] }), NOW)).toEqual([]);
    const noTenants = with_({});
    delete noTenants.match.tenants;
    expect(narrowings(base, noTenants, NOW)).toEqual([]);
    expect(narrowings(base, with_({}, { path: "/api/**" }), NOW)).toEqual([]);
    expect(narrowings(base, with_({ expiresAt: "2026-12-07T09:00:00Z" }), NOW)).toEqual([]);
    expect(narrowings(base, with_({ status: 403 }), NOW)).toEqual([]);
    const forever = with_({});
    delete forever.expiresAt;
    expect(narrowings(base, forever, NOW)).toEqual([]);
  });

  it("names each way it is narrower: tenant dropped, methods or hosts added, path, monitor, expiry, incident", () => {
    expect(narrowings(base, with_({}, { tenants: ["globex"] }), NOW)).toEqual(["drops tenants acme"]);
    expect(narrowings(base, with_({}, { methods: ["GET"] }), NOW)).toEqual([
      "restricts methods to GET (was every one)",
    ]);
    const restricted = with_({}, { hosts: ["a.example"] });
    expect(narrowings(with_({}, { hosts: ["a.example", "b.example"] }), restricted, NOW)).toEqual([
      "drops hosts b.example",
    ]);
    const noTenants = with_({});
    delete noTenants.match.tenants;
    expect(narrowings(noTenants, base, NOW)).toEqual(["restricts tenants to acme,globex (was every one)"]);
    expect(narrowings(base, with_({}, { path: "/api/:tenant/patients/*/export/csv" }), NOW)).toEqual([
      "no longer blocks path /api/:tenant/patients/*/export",
    ]);
    expect(narrowings(base, with_({ mode: "monitor" }), NOW)).toEqual(["only monitors (was blocking)"]);
    expect(narrowings(base, with_({ expiresAt: "2026-12-07T06:00:00Z" }), NOW)).toEqual([
      "ends sooner: 2026-12-07T06:00:00Z (was 2026-12-07T07:00:00Z)",
    ]);
    const forever = with_({});
    delete forever.expiresAt;
    expect(narrowings(forever, base, NOW)).toEqual(["ends sooner: 2026-12-07T07:00:00Z (was until lifted)"]);
    expect(narrowings(base, with_({ incident: "INC-2" }), NOW)).toEqual([
      "moves from incident INC-1 to INC-2",
    ]);
  });

  it("compares tenants, methods and hosts case-insensitively, and an expired switch blocks nothing to lose", () => {
    expect(narrowings(base, with_({}, { tenants: ["ACME", "Globex"] }), NOW)).toEqual([]);
    const expired = with_({ expiresAt: "2026-12-07T04:00:00Z" });
    expect(narrowings(expired, with_({}, { tenants: ["acme"] }), NOW)).toEqual([]);
  });

  it("covers a path only segment by segment", () => {
    expect(patternCovers("/api/**", "/api/:tenant/x")).toBe(true);
    expect(patternCovers("/api/:t/*", "/api/acme/x")).toBe(true);
    expect(patternCovers("/api/acme/x", "/api/:t/x")).toBe(false);
    expect(patternCovers("/api/*", "/api/**")).toBe(false);
    expect(patternCovers("/api/x", "/api/x/y")).toBe(false);
  });

  it("shows every field old → new", () => {
    const diff = switchDiff(base, with_({ incident: "INC-2" }, { tenants: ["globex"] }));
    expect(diff.map((d) => d.field)).toEqual([
      "paths",
      "tenants",
      "methods",
      "hosts",
      "expiry",
      "incident",
      "mode",
    ]);
    expect(diff.find((d) => d.field === "tenants")).toEqual({
      field: "tenants",
      from: "acme,globex",
      to: "globex",
    });
    expect(diff.find((d) => d.field === "incident")).toEqual({
      field: "incident",
      from: "INC-1",
      to: "INC-2",
    });
  });
});
