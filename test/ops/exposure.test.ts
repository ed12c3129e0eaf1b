/**
 * The one evaluation of a pattern against recorded route shapes (src/ops/exposure.ts): exact where
 * the shapes tell, `may` (an upper bound's part) where they cannot, never a silent 0.
 */
import { describe, expect, it } from "vitest";
import { compileScope, type ExposureScope } from "../../src/ops/exposure.js";
import type { ShapeRow } from "../../src/stores/mirror/shape-rows.js";

function row(shape: string, extra: Partial<ShapeRow> = {}): ShapeRow {
  return {
    minute: 1,
    host: "*",
    shape,
    method: "GET",
    tenant: "acme",
    outcome: "allow",
    n: 1,
    format: 2,
    ...extra,
  };
}

const reach = (scope: ExposureScope, r: ShapeRow) => compileScope(scope).reach(r);

describe("a pattern against route shapes", () => {
  it("matches a shape under a narrower pattern than the rule that matched it then", () => {
    const kill = { path: "/api/:tenant/patients/*/export" };
    expect(reach(kill, row("/api/acme/patients/:id/export")).reach).toBe("match");
    expect(reach(kill, row("/api/acme/patients/:id/notes")).reach).toBe("none");
    expect(reach(kill, row("/api/acme/patients/:id")).reach).toBe("none");
    expect(reach({ path: "/api/**" }, row("/api/acme/patients/:id/export")).reach).toBe("match");
  });

  it("reads the tenant from the pattern's own :tenant segment, as the firewall does", () => {
    const scope = { path: "/api/:tenant/patients/*/export", tenants: ["globex"] };
    const undeclared = row("/api/globex/patients/:id/export", { tenant: "~undeclared" });
    expect(reach(scope, undeclared)).toEqual({ reach: "match", tenant: "globex" });
    expect(reach(scope, row("/api/acme/patients/:id/export")).reach).toBe("none");
    // No :tenant in the pattern and none recorded: the shapes cannot tell.
    expect(
      reach({ path: "/api/*/x", tenants: ["acme"] }, row("/api/acme/x", { tenant: "~undeclared" })),
    ).toEqual({
      reach: "may",
      tenant: "~undeclared",
      why: "tenant",
    });
  });

  it("gives bounds, never a number, where an undeclared tenant's segment was recorded as ~undeclared", () => {
    const shape = row("/api/~undeclared/patients/:id/export", { tenant: "~undeclared" });
    // A pattern that does not care about the tenant still counts it exactly.
    expect(reach({ path: "/api/:tenant/patients/*/export" }, shape).reach).toBe("match");
    // Scoped to a tenant, or naming a literal where the segment was: may, because of the tenant.
    expect(reach({ path: "/api/:tenant/patients/*/export", tenants: ["initech"] }, shape)).toEqual({
      reach: "may",
      tenant: "~undeclared",
      why: "tenant",
    });
    expect(reach({ path: "/api/initech/patients/*/export" }, shape)).toEqual({
      reach: "may",
      tenant: "~undeclared",
      why: "tenant",
    });
  });

  it("says may for a literal that looks like an identifier against :id, never for a word", () => {
    expect(
      reach({ path: "/api/acme/patients/12345/export" }, row("/api/acme/patients/:id/export")),
    ).toMatchObject({
      reach: "may",
      why: "identifier",
    });
    expect(reach({ path: "/api/acme/patients/all/export" }, row("/api/acme/patients/:id/export")).reach).toBe(
      "none",
    );
  });

  it("scopes methods (HEAD counts as GET) and hosts (unrecorded hosts are may)", () => {
    expect(reach({ path: "/x", methods: ["GET"] }, row("/x", { method: "HEAD" })).reach).toBe("match");
    expect(reach({ path: "/x", methods: ["GET"] }, row("/x", { method: "POST" })).reach).toBe("none");
    expect(reach({ path: "/x", hosts: ["a.example.com"] }, row("/x", { host: "a.example.com" })).reach).toBe(
      "match",
    );
    expect(reach({ path: "/x", hosts: ["*.example.com"] }, row("/x", { host: "b.example.com" })).reach).toBe(
      "match",
    );
    expect(reach({ path: "/x", hosts: ["a.example.com"] }, row("/x", { host: "c.other.com" })).reach).toBe(
      "none",
    );
    expect(reach({ path: "/x", hosts: ["a.example.com"] }, row("/x"))).toMatchObject({
      reach: "may",
      why: "host",
    });
  });

  it("counts folded fields as may, unless their method or tenant rules them out", () => {
    expect(reach({ path: "/x" }, row("~other"))).toMatchObject({ reach: "may", why: "folded" });
    expect(reach({ path: "/x", tenants: ["globex"] }, row("~overflow-reserved")).reach).toBe("none");
    expect(reach({ path: "/x", methods: ["POST"] }, row("~other")).reach).toBe("none");
  });

  it("reads format-1 rows (rule patterns): inside is match, overlapping is may", () => {
    const v1 = (shape: string) => row(shape, { format: 1 });
    expect(
      reach({ path: "/api/:tenant/patients/*/export" }, v1("/api/:tenant/patients/:id/export")).reach,
    ).toBe("match");
    expect(reach({ path: "/api/:tenant/patients/*/export" }, v1("/api/:tenant/patients/**"))).toMatchObject({
      reach: "may",
      why: "format-1",
    });
    expect(reach({ path: "/api/:tenant/billing" }, v1("/api/:tenant/patients/**")).reach).toBe("none");
  });
});
