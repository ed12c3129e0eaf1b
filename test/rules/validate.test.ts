import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { rulesJsonSchemaText } from "../../scripts/json-schema.js";
import { checkDocument } from "../../src/rules/check.js";
import { validateDocument, validateKillSwitchItem } from "../../src/rules/validate.js";

const killSwitch = { id: "ks", kind: "kill-switch", match: { path: "/api/patients/*/export" } };

function issuesOf(document: unknown) {
  const result = validateDocument(document);
  if (result.ok) throw new Error("expected the document to be rejected");
  return result.issues;
}

describe("rules document validation", () => {
  it("accepts the bundled default rules and every example", () => {
    expect(validateDocument(JSON.parse(readFileSync("rules/default.json", "utf8"))).ok).toBe(true);
    expect(readdirSync("rules/examples").length).toBeGreaterThanOrEqual(3);
    for (const file of readdirSync("rules/examples")) {
      const result = checkDocument(JSON.parse(readFileSync(`rules/examples/${file}`, "utf8")));
      expect(result.ok ? "ok" : `${file}: ${JSON.stringify(result.issues)}`).toBe("ok");
    }
  });

  it("names the JSON path of a bad field deep inside a rule", () => {
    const issues = issuesOf({
      version: 1,
      rules: [killSwitch, { ...killSwitch, id: "b", match: { path: "api/x" } }],
    });
    expect(issues[0]?.path).toBe("$.rules[1].match.path");
    expect(issues[0]?.message).toContain("must start with /");
  });

  it("names an unknown field, so a typo like `method` is not silently ignored", () => {
    const issues = issuesOf({
      version: 1,
      rules: [{ ...killSwitch, match: { path: "/x", method: ["GET"] } }],
    });
    expect(issues).toContainEqual({ path: "$.rules[0].match.method", message: "is not a known field" });
  });

  it("says a missing field is required and a wrong type what it must be, not valibot's own words", () => {
    expect(issuesOf({ version: 1, tenants: { acme: {} }, rules: [] })).toEqual([
      { path: "$.tenants.acme.origins", message: "is required" },
    ]);
    expect(issuesOf({ version: 1, tenants: { acme: { origins: "x" } }, rules: [] })).toEqual([
      { path: "$.tenants.acme.origins", message: 'must be a list, not "x"' },
    ]);
    expect(issuesOf({ version: 1, rules: [{ id: "h", kind: "headers", match: { path: "/x" } }] })).toEqual([
      { path: "$.rules[0].set", message: "is required" },
    ]);
    const deep = issuesOf({ version: 1, rules: [{ ...killSwitch, match: { path: "/x", methods: "GET" } }] });
    expect(deep).toEqual([{ path: "$.rules[0].match.methods", message: 'must be a list, not "GET"' }]);
    for (const issue of [...deep, ...issuesOf({ version: 1 })]) expect(issue.message).not.toMatch(/Invalid/);
  });

  it("rejects an unknown rule kind, a bad window and a repeated id with their paths", () => {
    expect(
      issuesOf({ version: 1, rules: [{ id: "x", kind: "firewall", match: { path: "/" } }] })[0]?.path,
    ).toBe("$.rules[0].kind");
    const window = issuesOf({
      version: 1,
      rules: [{ id: "r", kind: "rate-limit", match: { path: "/x" }, limit: 5, window: "1 minute" }],
    });
    expect(window[0]).toEqual({ path: "$.rules[0].window", message: expect.stringContaining("duration") });
    expect(issuesOf({ version: 1, rules: [killSwitch, killSwitch] })[0]?.path).toBe("$.rules[1].id");
  });

  it("rejects patterns no normalized path can match", () => {
    for (const path of ["/api/**/export", "/api//x", "/api/../x", "/api/x%2F", "/api/:t/:t"]) {
      expect(issuesOf({ version: 1, rules: [{ ...killSwitch, match: { path } }] })[0]?.path).toBe(
        "$.rules[0].match.path",
      );
    }
  });

  it("rejects a wrong version, a non-object and invalid break-glass CIDRs", () => {
    expect(issuesOf({ version: 2, rules: [] })[0]?.path).toBe("$.version");
    expect(issuesOf("rules")[0]?.path).toBe("$");
    expect(issuesOf({ version: 1, rules: [], breakGlass: { cidrs: ["10.0.0.0/33"] } })[0]?.path).toBe(
      "$.breakGlass.cidrs[0]",
    );
  });

  it("validates a kill-switch item under its key and takes its id from the key", () => {
    const ok = validateKillSwitchItem("containment_kill_exports", {
      match: { path: "/api/**" },
      reason: "INC",
    });
    expect(ok.ok && ok.value.id).toBe("exports");
    const mismatch = validateKillSwitchItem("containment_kill_exports", {
      id: "other",
      match: { path: "/api/**" },
    });
    expect(!mismatch.ok && mismatch.issues[0]?.path).toBe('$["containment_kill_exports"].id');
    const bad = validateKillSwitchItem("containment_kill_x", {
      match: { path: "/x" },
      expiresAt: "tomorrow",
    });
    expect(!bad.ok && bad.issues[0]?.path).toBe('$["containment_kill_x"].expiresAt');
  });

  it("keeps rules/schema.json in step with the schema in code (run `npm run schema`)", () => {
    expect(readFileSync("rules/schema.json", "utf8")).toBe(rulesJsonSchemaText());
  });
});
