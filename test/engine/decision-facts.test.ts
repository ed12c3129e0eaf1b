/**
 * A decision's path is the redacted display path, stored as a plain property: it reads, serializes,
 * spreads and compares like every other field. (A lazy getter here cost ~2 µs a decision on Node 20,
 * more than the redaction it deferred; see the commit that removed it.)
 */
import { describe, expect, it } from "vitest";
import { normalizeRequest } from "../../src/core/request.js";
import { createContainment } from "../../src/index.js";

const containment = createContainment({
  rules: {
    version: 1,
    rules: [{ id: "exports", kind: "kill-switch", match: { path: "/api/patients/*/export" } }],
  },
  onReport: () => {},
});

const decide = (path: string) =>
  containment.decide(
    new Request(`https://app.example.com${path}`, { headers: { "x-real-ip": "192.0.2.7" } }),
  );

describe("a decision's redacted path", () => {
  it("is an own enumerable property: in keys, JSON, spreads and equality, for blocks and allows", async () => {
    for (const [path, expected] of [
      ["/api/patients/12345/export", "/api/patients/:id/export"],
      ["/api/users/jane@example.com/profile", "/api/users/:id/profile"],
      ["/about", "/about"],
    ] as const) {
      const { decision } = await decide(path);
      expect(Object.keys(decision)).toContain("path");
      expect(Object.getOwnPropertyDescriptor(decision, "path")?.enumerable).toBe(true);
      expect(JSON.parse(JSON.stringify(decision)).path).toBe(expected);
      expect({ ...decision }.path).toBe(expected);
      expect(decision).toEqual(expect.objectContaining({ path: expected }));
      expect(decision.path).toBe(expected);
    }
  });

  it("is the same text the normalized request names", () => {
    const result = normalizeRequest(new Request("https://app.example.com/api/records/0042-abcd/Export"));
    if (!result.ok) throw new Error(result.fault);
    const first = result.request.displayPath;
    expect(first).toBe("/api/records/:id/Export");
    expect(result.request.displayPath).toBe(first);
  });
});
