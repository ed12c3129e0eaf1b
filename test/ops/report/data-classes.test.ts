import { describe, expect, it } from "vitest";
import { validateDocument, validateKillSwitchItem } from "../../../src/rules/validate.js";

const base = { version: 1, rules: [] as unknown[] };

describe("data classes in the rules document", () => {
  it("accepts dataClasses on every rule kind, on kill-switch items and as a route map", () => {
    const document = {
      ...base,
      dataClasses: { "/api/:tenant/patients/**": ["phi"], "/api/:tenant/billing/**": ["pii", "payment"] },
      rules: [
        { id: "k", kind: "kill-switch", match: { path: "/api/x" }, dataClasses: ["phi"] },
        {
          id: "h",
          kind: "headers",
          match: { path: "/api/**" },
          set: { "cache-control": "no-store" },
          dataClasses: ["pii"],
        },
        {
          id: "r",
          kind: "rate-limit",
          match: { path: "/api/**" },
          limit: 5,
          window: "1m",
          dataClasses: ["phi"],
        },
      ],
    };
    expect(validateDocument(document)).toMatchObject({ ok: true });
    expect(
      validateKillSwitchItem("containment_kill_exports", {
        match: { path: "/api/:tenant/export" },
        dataClasses: ["phi"],
      }),
    ).toMatchObject({ ok: true, value: { dataClasses: ["phi"] } });
  });

  it("names the JSON path of a bad data class or route pattern", () => {
    const bad = validateDocument({
      ...base,
      rules: [{ id: "k", kind: "kill-switch", match: { path: "/x" }, dataClasses: ["PHI"] }],
    });
    expect(bad.ok ? [] : bad.issues).toEqual([
      { path: "$.rules[0].dataClasses[0]", message: expect.stringMatching(/lower-case letters/) },
    ]);
    const empty = validateDocument({
      ...base,
      rules: [{ id: "k", kind: "kill-switch", match: { path: "/x" }, dataClasses: [] }],
    });
    expect(empty.ok ? [] : empty.issues.map((i) => i.path)).toEqual(["$.rules[0].dataClasses"]);
    const map = validateDocument({ ...base, dataClasses: { "api/no-slash": ["phi"] } });
    expect(map.ok ? [] : map.issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/must start with \//),
    ]);
  });
});
