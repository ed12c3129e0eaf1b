/**
 * The package root's runtime exports: one rules validator (not three overlapping ones), the typed
 * errors, the digest, and the factories. A name added or removed here is a change to the public API.
 */
import { describe, expect, it } from "vitest";
import * as api from "../../src/index.js";
import * as memory from "../../src/memory.js";

describe("the public API", () => {
  it("exports exactly the factories and adapters, one validator, the digest, guards and typed errors", () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        "ConfigInvalid",
        "ContainmentError",
        "DeadlineExceeded",
        "JwksUnavailable",
        "KILL_SWITCH_PREFIX",
        "RulesInvalid",
        "RulesSourceUnavailable",
        "StoreUnavailable",
        "checkDocument",
        "compose",
        "createContainment",
        "createMiddleware",
        "createNextMiddleware",
        "createNextProxy",
        "createRedisClient",
        "isBlocked",
        "isContainmentError",
        "isMonitored",
        "rulesetDigest",
        "validateKillSwitchItem",
        "withContainment",
      ].sort(),
    );
  });

  it("validates a document with checkDocument, including the checks only compiling can make", () => {
    expect(api.checkDocument({ version: 1, rules: [] })).toMatchObject({ ok: true });
    const uncaptured = api.checkDocument({
      version: 1,
      rules: [
        {
          id: "bind",
          kind: "tenant-binding",
          match: { path: "/api/**" },
          tenant: { from: "path", param: "tenant" },
          token: { claim: "org_id", jwks: "https://id.example.com/jwks.json", algorithms: ["RS256"] },
        },
      ],
    });
    expect(uncaptured).toMatchObject({ ok: false, issues: [{ path: "$.rules[0].tenant.param" }] });
  });

  it("keeps the memory store out of the root, in edge-containment/memory", () => {
    expect(Object.keys(memory)).toContain("memoryStore");
    expect(Object.keys(api)).not.toContain("memoryStore");
  });
});
