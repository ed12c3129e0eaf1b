import { build } from "esbuild";
import { describe, expect, it } from "vitest";

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
