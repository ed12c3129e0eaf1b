/**
 * Builds engine-entry.ts with the edge bundle's own esbuild settings (src/dev/bundle.ts: minified,
 * ES2022, edge conditions, no keepNames) and imports the result, so in-process benchmarks time the
 * code users deploy rather than tsx's transpilation of the sources.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { edgeBuildOptions } from "../../src/dev/bundle.js";

export type Engine = typeof import("./engine-entry.js");

export async function loadEngine(): Promise<Engine> {
  const entry = join(dirname(fileURLToPath(import.meta.url)), "engine-entry.ts");
  const result = await build({ ...edgeBuildOptions(), entryPoints: [entry], write: false, metafile: false });
  const code = result.outputFiles[0]?.text;
  if (code === undefined) throw new Error("esbuild produced no engine bundle");
  const dir = mkdtempSync(join(tmpdir(), "containment-bench-"));
  const file = join(dir, "engine.mjs");
  writeFileSync(file, code);
  try {
    return (await import(pathToFileURL(file).href)) as Engine;
  } finally {
    // Loaded: the module stays in memory, the file can go.
    rmSync(dir, { recursive: true, force: true });
  }
}
