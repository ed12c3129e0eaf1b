import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

async function containment(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("containment rules validate", () => {
  it("accepts the starter rules and reports their size against the plan's store limit", async () => {
    const result = await containment("rules", "validate", "rules/default.json", "--plan", "hobby");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ok: rules\/default\.json: \d+ rules/);
    expect(result.stdout).toMatch(/bytes of the hobby plan's 8192 byte store/);
  });

  it("notes that a document reading tenants but declaring none has every tenant recorded as ~undeclared", async () => {
    const dir = mkdtempSync(join(tmpdir(), "containment-cli-"));
    const file = join(dir, "tenants.json");
    const rule = { id: "k", kind: "kill-switch", match: { path: "/api/:tenant/export" } };
    writeFileSync(file, JSON.stringify({ version: 1, rules: [rule] }));
    const result = await containment("rules", "validate", file);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/note: the document reads tenants but declares none .*~undeclared/);
    writeFileSync(file, JSON.stringify({ version: 1, tenants: { acme: { origins: [] } }, rules: [rule] }));
    expect((await containment("rules", "validate", file)).stdout).not.toMatch(/note:/);
  });

  it("rejects an invalid document with the JSON path and line:column of each fault and exit code 2", async () => {
    const dir = mkdtempSync(join(tmpdir(), "containment-cli-"));
    const file = join(dir, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        rules: [{ id: "x", kind: "kill-switch", match: { path: "/a", methods: ["get"] } }],
      }),
    );
    const result = await containment("rules", "validate", file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:1:`);
    expect(result.stderr).toContain("$.rules[0].match.methods[0]: must be an upper-case HTTP method");
  });

  it("rejects a file that is not JSON and an unknown plan with clear messages", async () => {
    const dir = mkdtempSync(join(tmpdir(), "containment-cli-"));
    const file = join(dir, "broken.json");
    writeFileSync(file, "{ version: 1");
    expect((await containment("rules", "validate", file)).stderr).toContain("is not valid JSON");
    expect((await containment("rules", "validate", "rules/default.json", "--plan", "gold")).stderr).toContain(
      "Allowed choices are hobby, pro, enterprise",
    );
  });

  it("also runs the rule kinds' compile-time checks, so it accepts only what the firewall would enforce", async () => {
    const dir = mkdtempSync(join(tmpdir(), "containment-cli-"));
    const file = join(dir, "unbound.json");
    const rule = {
      id: "bind",
      kind: "tenant-binding",
      match: { path: "/api/**" },
      tenant: { from: "path", param: "org" },
      token: { claim: "org_id", secretEnv: "JWT_SECRET", algorithms: ["HS256"] },
    };
    writeFileSync(file, JSON.stringify({ version: 1, rules: [rule] }));
    const result = await containment("rules", "validate", file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("$.rules[0].tenant.param");
  });
});

describe("rules validate points at the line and column of each fault", () => {
  it("names line:column of a bad field inside a pretty-printed file, and of a JSON syntax error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "containment-cli-"));
    const file = join(dir, "pretty.json");
    const doc = {
      version: 1,
      rules: [
        { id: "x", kind: "rate-limit", match: { path: "/a" }, limit: 5, window: "1 minute", by: ["ip"] },
      ],
    };
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const result = await containment("rules", "validate", file);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file}:11:7: $.rules[0].window:`);
    writeFileSync(file, '{\n  "version": 1,\n  "rules": [,]\n}');
    const syntax = await containment("rules", "validate", file);
    expect(syntax.stderr).toContain(`${file}:3:13: $: is not valid JSON`);
  });
});
