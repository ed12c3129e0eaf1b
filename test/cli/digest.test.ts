/**
 * one digest everywhere. `containment rules validate` prints the digest a region
 * reports while it enforces that document: decisions, `status()` and the enforcing records all carry
 * the same value, however the file orders its keys.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { rulesetDigest } from "../../src/core/digest.js";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { createContainment } from "../../src/engine/firewall.js";
import { validateKillSwitchItem } from "../../src/rules/validate.js";

const run = promisify(execFile);

// Keys deliberately out of the schema's order, as a hand-written file may have them.
const FILE_TEXT = `{
  "rules": [
    { "match": { "methods": ["GET"], "path": "/api/:tenant/export/**" }, "kind": "rate-limit",
      "window": "1m", "limit": 20, "id": "export-limit", "by": ["tenant"] },
    { "set": { "cache-control": "private, no-store" }, "kind": "headers", "id": "phi-no-store",
      "match": { "path": "/api/patients/**" } }
  ],
  "version": 1
}`;

let server: EdgeConfigServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function validatedDigest(text: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "containment-digest-"));
  const file = join(dir, "rules.json");
  writeFileSync(file, text);
  const { stdout } = await run(process.execPath, [
    "--import",
    "tsx",
    "src/cli/main.ts",
    "rules",
    "validate",
    file,
  ]);
  const digest = /digest ([0-9a-f]{16})/.exec(stdout)?.[1];
  if (!digest) throw new Error(`no digest in: ${stdout}`);
  return digest;
}

describe("the ruleset digest", () => {
  it("printed by rules validate equals the one a firewall enforcing that file from Edge Config reports", async () => {
    const printed = await validatedDigest(FILE_TEXT);
    server = await startEdgeConfigServer({ items: { containment: JSON.parse(FILE_TEXT) } });
    const containment = createContainment({
      edgeConfig: server.connectionString,
      refreshMs: 0,
      onReport: () => {},
    });
    const { decision } = await containment.decide(new Request("https://app.example.com/api/patients/1"));
    expect(decision.rulesetDigest).toBe(printed);
    expect(containment.status().digest).toBe(printed);
    expect(containment.status().source).toBe("edge-config");
  });

  it("does not depend on key order or on whitespace, and changes with any rule", async () => {
    const document = JSON.parse(FILE_TEXT) as { rules: Array<Record<string, unknown>> };
    const reordered = JSON.stringify({
      version: 1,
      rules: document.rules.map((r) => Object.fromEntries(Object.entries(r).reverse())),
    });
    expect(rulesetDigest(JSON.parse(reordered))).toBe(rulesetDigest(document));
    const changed = structuredClone(document);
    (changed.rules[0] as { limit: number }).limit = 21;
    expect(rulesetDigest(changed)).not.toBe(rulesetDigest(document));
  });

  it("covers the kill-switch items, so a responder can compute what a region enforces with them", async () => {
    const item = { match: { path: "/api/patients/*/export" }, reason: "INC-7", incident: "INC-7" };
    server = await startEdgeConfigServer({
      items: { containment: JSON.parse(FILE_TEXT), containment_kill_exports: item },
    });
    const containment = createContainment({
      edgeConfig: server.connectionString,
      refreshMs: 0,
      onReport: () => {},
    });
    const { decision } = await containment.decide(
      new Request("https://app.example.com/api/patients/1/export"),
    );
    expect(decision.rule).toBe("exports");
    const validated = validateKillSwitchItem("containment_kill_exports", item);
    if (!validated.ok) throw new Error("the item should be valid");
    const expected = rulesetDigest(JSON.parse(FILE_TEXT), [
      { key: "containment_kill_exports", spec: validated.value },
    ]);
    expect(decision.rulesetDigest).toBe(expected);
    expect(expected).not.toBe(rulesetDigest(JSON.parse(FILE_TEXT)));
  });
});
