import { describe, expect, it } from "vitest";
import { createContainment } from "../../../src/index.js";
import type { Decision } from "../../../src/model/decision.js";
import { MirrorAccumulator, URGENCY } from "../../../src/stores/mirror/accumulator.js";
import { shapeScopeOf } from "../../../src/stores/mirror/shape-scope.js";

// Route shapes (docs/recorded-format.md): capacity a minute per isolate, split so that shapes of
// unknown routes cannot take the capacity of shapes a refusing rule matches. A minute is flushed
// many times, so the caps hold across flushes; whatever is beyond them is still counted, folded.
const MINUTE = 29_000_000;
const AT = MINUTE * 60_000 + 1_000;

function decision(path: string, extra: Partial<Decision> = {}): Decision {
  return {
    requestId: "r",
    at: AT,
    method: "GET",
    path,
    host: "app.example.com",
    region: "iad1",
    rulesetDigest: "d1",
    latencyMs: 0,
    notes: [],
    outcome: "allow",
    reason: "passed",
    ...extra,
  } as Decision;
}

async function scopeOf(rules: unknown[], tenants?: Record<string, { origins: string[] }>) {
  const containment = createContainment({
    rules: { version: 1, ...(tenants ? { tenants } : {}), rules },
    mirror: false,
    env: {},
  });
  return shapeScopeOf(await containment.ruleset());
}

function shapesOf(accumulator: MirrorAccumulator, minute = MINUTE): Record<string, number> {
  return Object.fromEntries(accumulator.take(100).shapes.get(minute) ?? []);
}

const KILL = {
  id: "export",
  kind: "kill-switch",
  match: { path: "/api/:tenant/patients/*/export" },
  status: 503,
};
const PHI = {
  id: "phi",
  kind: "headers",
  match: { path: "/api/:tenant/patients/**" },
  set: { "cache-control": "no-store" },
};

describe("route shapes a minute", () => {
  it("record the shape whatever rule matched, host * unless a rule scopes by host", async () => {
    const accumulator = new MirrorAccumulator({
      bufferSize: 10,
      tableSize: 100,
      reservedShapes: 5,
      generalShapes: 5,
    });
    accumulator.setScope(await scopeOf([PHI]));
    accumulator.count(
      decision("/api/acme/patients/:id/export", { tenant: "acme", route: "/api/:tenant/patients/**" }),
    );
    accumulator.count(
      decision("/api/acme/patients/:id/export", { tenant: "acme", route: "/api/:tenant/patients/**" }),
    );
    expect(shapesOf(accumulator)).toEqual({ "*|/api/acme/patients/:id/export|GET|acme|allow": 2 });

    accumulator.setScope(await scopeOf([{ ...KILL, match: { ...KILL.match, hosts: ["app.example.com"] } }]));
    accumulator.count(decision("/api/acme/patients/:id/export", { tenant: "acme" }));
    expect(shapesOf(accumulator)).toEqual({
      "app.example.com|/api/acme/patients/:id/export|GET|acme|allow": 1,
    });
  });

  it("record a tenant the document does not declare as ~undeclared, in its column and its path segment", async () => {
    const accumulator = new MirrorAccumulator({
      bufferSize: 10,
      tableSize: 100,
      reservedShapes: 5,
      generalShapes: 5,
    });
    const scope = await scopeOf([PHI], { acme: { origins: [] } });
    accumulator.setScope(scope);
    accumulator.count(scope.recorded(decision("/api/acme/x", { tenant: "acme" })));
    accumulator.count(scope.recorded(decision("/api/evil/x", { tenant: "evil" })));
    accumulator.count(scope.recorded(decision("/health")));
    expect(shapesOf(accumulator)).toEqual({
      "*|/api/acme/x|GET|acme|allow": 1,
      "*|/api/~undeclared/x|GET|~undeclared|allow": 1,
      "*|/health|GET|~undeclared|allow": 1,
    });
  });

  it("record no tenant a client chose when the document declares none, only one tenant binding verified", async () => {
    const scope = await scopeOf([PHI]);
    const chosen = scope.recorded(
      decision("/api/Evil-Value/x", { tenant: "Evil-Value", host: "evil-value.app.example.com" }),
    );
    expect(chosen).toMatchObject({
      tenant: "~undeclared",
      path: "/api/~undeclared/x",
      host: "~undeclared.app.example.com",
    });
    const verified = decision("/api/acme/x", { tenant: "acme", tenantVerified: true });
    expect(scope.recorded(verified)).toBe(verified);
  });

  it("fold unknown shapes beyond general capacity into ~other, and never take reserved capacity", async () => {
    const accumulator = new MirrorAccumulator({
      bufferSize: 10,
      tableSize: 100,
      reservedShapes: 2,
      generalShapes: 2,
    });
    accumulator.setScope(await scopeOf([KILL, PHI]));
    for (let i = 0; i < 50; i++)
      accumulator.count(decision(`/junk-${String.fromCharCode(97 + (i % 26))}${i}`));
    accumulator.count(decision("/api/acme/patients/:id/export", { tenant: "acme" }));
    const shapes = shapesOf(accumulator);
    expect(shapes["*|/api/acme/patients/:id/export|GET|acme|allow"]).toBe(1);
    expect(shapes["*|~other|GET|~undeclared|allow"]).toBe(48);
    expect(Object.values(shapes).reduce((a, b) => a + b, 0)).toBe(51);
  });

  it("count reserved shapes beyond reserved capacity in ~overflow-reserved and as shape drops, across flushes", async () => {
    const accumulator = new MirrorAccumulator({
      bufferSize: 10,
      tableSize: 100,
      reservedShapes: 1,
      generalShapes: 1,
    });
    accumulator.setScope(await scopeOf([KILL]));
    accumulator.count(decision("/api/acme/patients/:id/export", { tenant: "acme" }));
    expect(shapesOf(accumulator)).toEqual({ "*|/api/acme/patients/:id/export|GET|acme|allow": 1 });
    accumulator.count(decision("/api/globex/patients/:id/export", { tenant: "globex" }));
    accumulator.count(decision("/api/acme/patients/:id/export", { tenant: "acme" }));
    const taken = accumulator.take(100);
    expect(Object.fromEntries(taken.shapes.get(MINUTE) ?? [])).toEqual({
      "*|/api/acme/patients/:id/export|GET|acme|allow": 1,
      "*|~overflow-reserved|GET|globex|allow": 1,
    });
    expect(taken.shapeDrops).toBe(1);
    // The next minute starts afresh.
    accumulator.count(decision("/api/globex/patients/:id/export", { tenant: "globex", at: AT + 60_000 }));
    expect(shapesOf(accumulator, MINUTE + 1)).toEqual({
      "*|/api/globex/patients/:id/export|GET|globex|allow": 1,
    });
  });
});

describe("how soon what is held must go out", () => {
  it("is quiet for allows on shapes no refusing rule matches, evidence on reserved shapes, at once for blocks", async () => {
    const accumulator = new MirrorAccumulator({
      bufferSize: 10,
      tableSize: 100,
      reservedShapes: 5,
      generalShapes: 5,
    });
    accumulator.setScope(await scopeOf([KILL, PHI]));
    accumulator.count(decision("/api/acme/patients/:id/notes", { tenant: "acme" }));
    expect(accumulator.urgency).toBe(URGENCY.quiet);
    // The same shape twice: the second is found among the minute's names, still reserved.
    for (let i = 0; i < 2; i++)
      accumulator.count(decision("/api/acme/patients/:id/export", { tenant: "acme" }));
    expect(accumulator.urgency).toBe(URGENCY.evidence);
    accumulator.take(100);
    expect(accumulator.urgency).toBe(URGENCY.quiet);
    accumulator.count(
      decision("/api/acme/patients/:id/export", { outcome: "block", status: 503, rule: "export" } as never),
    );
    expect(accumulator.urgency).toBe(URGENCY.atOnce);
  });
});
