/**
 * The edge bundle: what Vercel would deploy must not depend on Node. The build itself refuses Node
 * built-ins (no externals on platform "neutral"); these tests prove both the result and the guard.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import {
  bundleEdge,
  type EdgeBundle,
  edgeBuildOptions,
  nodeBuiltinInputs,
  reportLines,
} from "../../src/dev/bundle.js";

let bundle: EdgeBundle;
beforeAll(async () => {
  bundle = await bundleEdge({ write: false });
});

async function buildEntry(source: string): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), "containment-edge-"));
  const entry = join(dir, "entry.ts");
  writeFileSync(entry, source);
  return build({ ...edgeBuildOptions(), entryPoints: [entry], write: false });
}

describe("the edge bundle", () => {
  it("builds middleware.ts and the workerd harness with no Node built-in among its inputs", () => {
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs).toContain("middleware.ts");
    expect(inputs).toContain("src/dev/worker.ts");
    expect(nodeBuiltinInputs(bundle.metafile)).toEqual([]);
    expect(inputs.filter((input) => /^(node:|fs$|path$|crypto$|buffer$|stream$)/.test(input))).toEqual([]);
  });

  it("leaves the dev-only in-memory store out of the production middleware, but not out of the dev worker", () => {
    const outputs = Object.values(bundle.metafile.outputs);
    const middleware = outputs.find((output) => output.entryPoint === "middleware.ts");
    const worker = outputs.find((output) => output.entryPoint === "src/dev/worker.ts");
    expect(Object.keys(middleware?.inputs ?? {})).not.toContain("src/stores/memory.ts");
    expect(Object.keys(worker?.inputs ?? {})).toContain("src/stores/memory.ts");
  });

  it("bundles the edge build of @vercel/global-config-fs, not the Node one", () => {
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.some((input) => input.includes("@vercel/global-config-fs/index.edge.js"))).toBe(true);
    expect(inputs.some((input) => input.includes("index.node."))).toBe(false);
  });

  it("reads no process.env variable but VERCEL_ENV, which @vercel/edge-config guards with typeof process", () => {
    // workerd has no `process`: every unguarded read must have been replaced by EDGE_DEFINES at build
    // time. A new name here means a new dependency reads the environment; check it is guarded, then list it.
    const names = new Set([...bundle.middleware.code.matchAll(/process\.env\.(\w+)/g)].map((m) => m[1]));
    expect([...names].sort()).toEqual(["VERCEL_ENV"]);
  });

  it("fails to build an entry that imports node:fs, so the guard really guards", async () => {
    await expect(
      buildEntry('import { readFileSync } from "node:fs";\nexport default () => readFileSync("/x");\n'),
    ).rejects.toThrow(/Could not resolve "node:fs"/);
  });

  it("fails to build an entry that imports a bare built-in like fs", async () => {
    await expect(
      buildEntry('import { readFileSync } from "fs";\nexport default () => readFileSync("/x");\n'),
    ).rejects.toThrow(/Could not resolve "fs"/);
  });

  it("reports the gzipped size of the middleware as a human line and a JSON line", () => {
    const [human, line] = reportLines(bundle);
    const metric = JSON.parse(line) as { metric: string; value: number; unit: string };
    expect(metric).toMatchObject({
      metric: "bundle-gzip-bytes",
      unit: "bytes",
      value: bundle.middleware.gzipBytes,
    });
    expect(human).toContain(`${bundle.middleware.gzipBytes} bytes`);
    console.log(human);
    // Vercel Hobby's limit for edge code is 1 MB gzipped; the design budget is far below it.
    expect(bundle.middleware.gzipBytes).toBeGreaterThan(1_000);
    expect(bundle.middleware.gzipBytes).toBeLessThan(1_000_000);
  });
});
