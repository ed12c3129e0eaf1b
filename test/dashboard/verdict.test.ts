/**
 * The dashboard's verdict (src/dashboard/verdict.ts), state by state, against the incident's DECLARED
 * scope: a switch that misses a tenant or a method reads NOT contained, one that holds reads
 * contained only when every region that served traffic in scope confirmed, anything unproven reads
 * unknown and says why.
 */
import { describe, expect, it } from "vitest";
import { compileScope, matchRoute } from "../../src/dashboard/scope-match.js";
import {
  containmentVerdict,
  type IsolateState,
  type RegionSighting,
  type ScopeRow,
  type VerdictInput,
} from "../../src/dashboard/verdict.js";
import { trafficOfShapes, verdictInputFrom } from "../../src/dashboard/verdict-input.js";
import { parsePattern } from "../../src/rules/pattern.js";
import type { ShapeRow } from "../../src/stores/mirror/shape-rows.js";

const M = Math.floor(Date.parse("2026-12-07T05:41:00Z") / 60_000);
/** 20 s into minute M: M - 1 is the last complete minute. */
const NOW = M * 60_000 + 20_000;
const L = M - 1;
const SWITCH_ROUTE = "/api/:tenant/patients/**";

const row = (over: Partial<ScopeRow>): ScopeRow => ({
  minute: L,
  route: SWITCH_ROUTE,
  method: "GET",
  tenant: "acme",
  outcome: "block",
  n: 5,
  ...over,
});
const seen = (over: Partial<RegionSighting>): RegionSighting => ({
  minute: L,
  route: SWITCH_ROUTE,
  method: "GET",
  tenant: "acme",
  outcome: "block",
  region: "iad1",
  ...over,
});
const isolate = (over: Partial<IsolateState>): IsolateState => ({
  region: "iad1",
  isolate: "a",
  lastSeen: NOW - 5_000,
  verified: true,
  enforcing: ["freeze-patients@2"],
  gap: 0,
  ...over,
});

/** Both tenants' patient exports refused in both regions, both regions confirmed. */
function holding(over: Partial<VerdictInput> = {}): VerdictInput {
  return {
    now: NOW,
    incident: "INC-2041",
    scope: { routes: [SWITCH_ROUTE], tenants: ["acme", "globex"], methods: [] },
    rows: [row({}), row({ tenant: "globex", n: 3 })],
    sightings: [seen({}), seen({ tenant: "globex", region: "fra1" })],
    isolates: [isolate({}), isolate({ region: "fra1", isolate: "b" })],
    switches: [{ id: "freeze-patients", version: 2 }],
    overflow: {},
    freshMs: 120_000,
    lookbackMinutes: 15,
    ...over,
  };
}

describe("the containment verdict", () => {
  it("reads contained when traffic in scope arrived, none was admitted and every serving region confirmed", () => {
    const verdict = containmentVerdict(holding());
    expect(verdict.state).toBe("contained");
    expect(verdict.headline).toBe(
      "Contained: 8 requests in scope refused and none admitted in 05:40 UTC (last complete minute) or since; 2 regions confirmed",
    );
    expect(verdict.regions.map((r) => [r.region, r.confirmed])).toEqual([
      ["fra1", true],
      ["iad1", true],
    ]);
    expect(verdict.reasons).toEqual([]);
  });

  it("reads NOT contained when the switch misses a tenant of the scope, naming route, method and tenant", () => {
    // The switch covers acme only: globex's requests pass, recorded under their redacted path.
    const admitted = row({
      route: "/api/globex/patients/:id/export",
      tenant: "globex",
      outcome: "allow",
      n: 4,
    });
    const verdict = containmentVerdict(
      holding({
        rows: [row({}), admitted],
        sightings: [seen({}), seen({ ...admitted, region: "fra1" })],
      }),
    );
    expect(verdict.state).toBe("not-contained");
    expect(verdict.headline).toBe(
      "NOT contained: 4 requests in scope admitted in 05:40 UTC (last complete minute) or since: GET /api/globex/patients/:id/export (tenant globex)",
    );
    expect(verdict.admitted).toEqual([
      {
        route: "/api/globex/patients/:id/export",
        method: "GET",
        tenant: "globex",
        n: 4,
        minutes: [L],
        regions: ["fra1"],
      },
    ]);
    expect(verdict.regions.find((r) => r.region === "fra1")?.admitted).toBe(1);
  });

  it("reads NOT contained when the switch misses a method of the scope", () => {
    const verdict = containmentVerdict(
      holding({
        rows: [
          row({}),
          row({ route: "/api/acme/patients/:id", method: "POST", outcome: "allow", n: 2, minute: M }),
        ],
      }),
    );
    expect(verdict.state).toBe("not-contained");
    expect(verdict.headline).toMatch(
      /: 2 requests in scope admitted .*: POST \/api\/acme\/patients\/:id \(tenant acme\)$/,
    );
  });

  it("counts monitor-only decisions as admitted: a monitor switch blocks nothing", () => {
    const verdict = containmentVerdict(holding({ rows: [row({ outcome: "monitor", n: 1 })] }));
    expect(verdict.state).toBe("not-contained");
  });

  it("ignores admitted traffic outside the declared scope (another tenant, method, route) and before the judged minutes", () => {
    const verdict = containmentVerdict(
      holding({
        scope: { routes: [SWITCH_ROUTE], tenants: ["acme", "globex"], methods: ["GET"] },
        rows: [
          row({}),
          row({ route: "/api/initech/patients/:id", tenant: "initech", outcome: "allow" }),
          row({ route: "/api/acme/patients/:id", method: "DELETE", outcome: "allow" }),
          row({ route: "/api/acme/invoices/:id", outcome: "allow" }),
          row({ route: "/api/acme/patients/:id", outcome: "allow", minute: L - 3 }),
        ],
      }),
    );
    expect(verdict.state).toBe("contained");
  });

  it("reads unknown when no traffic in scope arrived", () => {
    const verdict = containmentVerdict(holding({ rows: [row({ minute: L - 2 })] }));
    expect(verdict.state).toBe("unknown");
    expect(verdict.headline).toMatch(/^Unknown: no requests in scope arrived in 05:40 UTC/);
  });

  it("reads unknown when a region that served traffic in scope has gone silent, and names it", () => {
    const verdict = containmentVerdict(
      holding({
        sightings: [seen({}), seen({ region: "fra1", minute: L - 6 })],
        isolates: [
          isolate({}),
          isolate({ region: "fra1", isolate: "b", lastSeen: NOW - 400_000, verified: false }),
        ],
      }),
    );
    expect(verdict.state).toBe("unknown");
    expect(verdict.reasons).toEqual([
      "region fra1 not confirmed: silent: no enforcement report since 05:34:40 UTC",
    ]);
    expect(verdict.regions.find((r) => r.region === "iad1")?.confirmed).toBe(true);
  });

  it("counts only regions that served traffic in scope: a silent region with other traffic does not matter", () => {
    const verdict = containmentVerdict(
      holding({ sightings: [seen({}), seen({ region: "syd1", route: "/health", tenant: "-" })] }),
    );
    expect(verdict.state).toBe("contained");
    expect(verdict.regions.map((r) => r.region)).toEqual(["iad1"]);
  });

  it("reads unknown when a serving region's reports do not verify, or an isolate does not enforce the switch yet", () => {
    const unverified = containmentVerdict(
      holding({ isolates: [isolate({}), isolate({ region: "fra1", verified: false })] }),
    );
    expect(unverified.state).toBe("unknown");
    expect(unverified.reasons[0]).toMatch(
      /^region fra1 not confirmed: 1 isolate of 1 sent reports that did not verify/,
    );
    const lagging = containmentVerdict(
      holding({ isolates: [isolate({}), isolate({ region: "fra1", enforcing: ["freeze-patients@1"] })] }),
    );
    expect(lagging.reasons).toEqual([
      "region fra1 not confirmed: 1 isolate of 1 not enforcing freeze-patients@2 yet",
    ]);
  });

  it("reads unknown when the mirror lost decisions (isolate gaps) or could not itemize them (overflow)", () => {
    const gap = containmentVerdict(holding({ isolates: [isolate({ gap: 7 }), isolate({ region: "fra1" })] }));
    expect(gap.state).toBe("unknown");
    expect(gap.reasons).toEqual(["isolate iad1:a: 7 decisions never reached the mirror"]);
    const overflow = containmentVerdict(holding({ overflow: { [M]: 12 } }));
    expect(overflow.reasons).toEqual([
      "12 decisions counted beyond the mirror's per-minute cap, route unknown",
    ]);
  });

  it("reads unknown, not contained, when admitted requests were recorded more broadly than the scope", () => {
    // Today's mirror keys traffic by the deciding rule: a broad headers rule's pattern may hide them.
    const verdict = containmentVerdict(
      holding({ rows: [row({}), row({ route: "/api/**", outcome: "allow" })] }),
    );
    expect(verdict.state).toBe("unknown");
    expect(verdict.reasons[0]).toMatch(/^5 admitted requests recorded as \/api\/\*\* may be in scope/);
  });

  it("reads unknown, and says how to fix it, when the incident declares no scope", () => {
    const verdict = containmentVerdict(holding({ scope: undefined }));
    expect(verdict.state).toBe("unknown");
    expect(verdict.headline).toBe("Unknown: incident INC-2041 declares no exposure scope");
    expect(verdict.reasons[0]).toMatch(/--scope-route/);
  });

  it("falls back to every reporting region when no event says where the traffic in scope was served", () => {
    const verdict = containmentVerdict(holding({ sightings: [] }));
    expect(verdict.state).toBe("contained");
    expect(verdict.regions.map((r) => r.region)).toEqual(["fra1", "iad1"]);
    expect(verdict.notes[0]).toMatch(/every reporting region counts/);
  });
});

describe("matching a recorded route against the declared scope", () => {
  const pattern = (text: string) => {
    const parsed = parsePattern(text);
    if (typeof parsed === "string") throw new Error(parsed);
    return parsed;
  };
  it.each([
    ["/api/:tenant/patients/**", "/api/acme/patients/:id/export", "yes"],
    ["/api/:tenant/patients/**", "/api/:tenant/patients/**", "yes"],
    ["/api/:tenant/patients/**", "/API/acme/Patients", "yes"],
    ["/api/:tenant/patients/**", "/api/acme/invoices/1", "no"],
    ["/api/:tenant/patients/*/export", "/api/:tenant/patients/**", "maybe"],
    ["/api/:tenant/patients/**", "/api/**", "maybe"],
    ["/api/acme/patients", "/api/:id/patients", "maybe"],
    ["/api/:tenant/patients", "/api/acme/patients/1", "no"],
    // An undeclared tenant's segment is recorded as ~undeclared: a literal there may be it.
    ["/api/initech/patients/**", "/api/~undeclared/patients/:id", "maybe"],
    ["/api/:tenant/patients/**", "/api/~undeclared/patients/:id", "yes"],
  ] as const)("%s against %s: %s", (scope, route, expected) => {
    expect(matchRoute(pattern(scope), route)).toBe(expected);
  });

  it("reads a row without a known tenant as maybe in a tenant-scoped scope", () => {
    const scope = compileScope({ routes: ["/api/:tenant/**"], tenants: ["Acme"], methods: ["get"] });
    expect(scope.match({ route: "/api/x", method: "GET", tenant: "acme" })).toBe("yes");
    expect(scope.match({ route: "/api/x", method: "GET", tenant: "-" })).toBe("maybe");
    expect(scope.match({ route: "/api/x", method: "POST", tenant: "acme" })).toBe("no");
  });
});

describe("the verdict's input from today's mirror", () => {
  it("takes regions from decision events, confirmations from verified reports, and silent isolates from the ledger", () => {
    const event = (fields: Record<string, string>, at: number) => ({
      streamId: `${at}-0`,
      count: 1,
      aggregate: false,
      first: at,
      last: at,
      fields,
    });
    const input = verdictInputFrom({
      now: NOW,
      incident: {
        id: "INC-2041",
        dataClasses: [],
        clocks: [],
        scope: { routes: [SWITCH_ROUTE], tenants: ["acme"] },
      },
      traffic: { rows: [row({})], overflow: { [L]: 2 } },
      events: [
        event(
          { outcome: "block", route: SWITCH_ROUTE, method: "GET", tenant: "acme", region: "iad1" },
          NOW - 30_000,
        ),
        event({ kind: "source", outcome: "rules-invalid", region: "fra1" }, NOW - 20_000),
      ],
      isolates: [
        {
          member: "iad1:a",
          region: "iad1",
          isolate: "a",
          at: NOW - 4_000,
          trust: "verified",
          report: {
            v: 1,
            region: "iad1",
            isolate: "a",
            seq: 9,
            at: NOW - 4_000,
            digest: "d",
            switches: ["freeze-patients@2"],
            fast: ["hot@1"],
          },
        },
      ],
      ledger: [
        {
          member: "iad1:a",
          region: "iad1",
          isolate: "a",
          seq: 9,
          accounted: 9,
          gap: 0,
          lastContact: NOW - 4_000,
        },
        {
          member: "fra1:b",
          region: "fra1",
          isolate: "b",
          seq: 5,
          accounted: 2,
          gap: 3,
          lastContact: NOW - 300_000,
        },
      ],
      switches: [
        {
          id: "freeze-patients",
          version: 2,
          path: SWITCH_ROUTE,
          status: 503,
          monitor: false,
          state: "active",
          incident: "INC-2041",
        },
        {
          id: "watch",
          version: 1,
          path: SWITCH_ROUTE,
          status: 503,
          monitor: true,
          state: "active",
          incident: "INC-2041",
        },
        {
          id: "other",
          version: 1,
          path: "/x",
          status: 503,
          monitor: false,
          state: "active",
          incident: "INC-9",
        },
      ],
      freshMs: 120_000,
      lookbackMinutes: 15,
    });
    expect(input.scope).toEqual({ routes: [SWITCH_ROUTE], tenants: ["acme"], methods: [] });
    expect(input.sightings).toEqual([
      { minute: L, route: SWITCH_ROUTE, method: "GET", tenant: "acme", outcome: "block", region: "iad1" },
    ]);
    expect(input.isolates).toEqual([
      {
        region: "iad1",
        isolate: "a",
        lastSeen: NOW - 4_000,
        verified: true,
        enforcing: ["freeze-patients@2", "hot@1"],
        gap: 0,
      },
      { region: "fra1", isolate: "b", lastSeen: NOW - 300_000, verified: false, enforcing: [], gap: 3 },
    ]);
    // Only the incident's enforcing switches must be confirmed: a monitor-only one blocks nothing.
    expect(input.switches).toEqual([{ id: "freeze-patients", version: 2 }]);
    expect(input.overflow).toEqual({ [L]: 2 });
  });
});

describe("the verdict's rows from route shapes", () => {
  it("keeps each shape as a row and counts folded fields as overflow, never as routes", () => {
    const shape = (fields: Partial<ShapeRow>): ShapeRow => ({
      minute: L,
      host: "*",
      shape: "/api/acme/patients/:id/export",
      method: "GET",
      tenant: "acme",
      outcome: "allow",
      n: 3,
      format: 2,
      ...fields,
    });
    const traffic = trafficOfShapes([
      shape({}),
      shape({ shape: "~other", tenant: "~undeclared", n: 4 }),
      shape({ shape: "~overflow-reserved", n: 2 }),
      shape({ minute: L - 1, shape: "/api/:tenant/patients/**", format: 1, n: 5 }),
    ]);
    expect(traffic.rows).toEqual([
      {
        minute: L,
        route: "/api/acme/patients/:id/export",
        method: "GET",
        tenant: "acme",
        outcome: "allow",
        n: 3,
      },
      {
        minute: L - 1,
        route: "/api/:tenant/patients/**",
        method: "GET",
        tenant: "acme",
        outcome: "allow",
        n: 5,
      },
    ]);
    expect(traffic.overflow).toEqual({ [L]: 6 });
  });
});
