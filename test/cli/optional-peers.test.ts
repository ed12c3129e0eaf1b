import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { EXIT } from "../../src/ops/errors.js";
import { runCli } from "../support/cli.js";

/** Every module and package the entry loads at startup, following static imports only. */
async function staticallyLoaded(entry: string): Promise<Set<string>> {
  const { metafile } = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    packages: "external",
    metafile: true,
    logLevel: "silent",
  });
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const path = queue.pop() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    for (const imported of metafile.inputs[path]?.imports ?? []) {
      if (imported.kind !== "dynamic-import") queue.push(imported.path);
    }
  }
  return seen;
}

describe("the containment CLI", () => {
  it("starts without the optional peers (miniflare, esbuild, ioredis) that only `containment dev` needs", async () => {
    const loaded = [...(await staticallyLoaded("src/cli/main.ts"))];
    expect(loaded.filter((path) => /^(miniflare|esbuild|ioredis)$/.test(path))).toEqual([]);
    expect(loaded).toContain("src/cli/commands/rules.ts");
  });
});

describe("a redis:// URL without the optional ioredis", () => {
  it("is one configuration line naming npm install ioredis (exit 3), loaded only when used", async () => {
    // A resolve hook that answers "not installed" for ioredis, as on a machine without it.
    const dir = mkdtempSync(join(tmpdir(), "containment-no-ioredis-"));
    const hook = join(dir, "no-ioredis.mjs");
    const resolve =
      "export async function resolve(s,c,n){if(s==='ioredis')throw Object.assign(new Error('not installed'),{code:'ERR_MODULE_NOT_FOUND'});return n(s,c)}";
    writeFileSync(
      hook,
      `import { register } from "node:module";\nregister(${JSON.stringify(`data:text/javascript,${resolve}`)});\n`,
    );
    const result = await runCli(["incident", "list"], {
      cwd: dir,
      env: {
        EDGE_CONFIG_ID: "ecfg_test",
        REDIS_URL: "redis://containment-responder:pw-not-shown@127.0.0.1:6379",
        NODE_OPTIONS: `--import=${hook}`,
      },
    });
    expect(result.code, result.stderr).toBe(EXIT.config);
    expect(result.stderr.trimEnd().split("\n")).toEqual([
      expect.stringMatching(/^edge-containment: .*needs the optional package ioredis: npm install ioredis/),
    ]);
    expect(result.stderr).not.toContain("pw-not-shown");
  });
});
