/**
 * `next build --webpack` warned about CompressionStream / DecompressionStream
 * (Edge-Runtime-unsupported) because the jose root entry pulls in JWE and its deflate module. The
 * package imports jose's JWT, JWKS, JWS and key pieces by subpath, so no edge entry's module graph
 * reaches lib/deflate.js (the example app test checks the real webpack build's output too). Nor
 * jose's JWE algorithm table (lib/jwe_algorithms.js), which `importJWK` reaches: the fast lane
 * imports its one Ed25519 key with WebCrypto instead, 2.7 KB less bundle.
 */
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { edgeBuildOptions } from "../../src/dev/bundle.js";

async function joseModules(entry: string): Promise<string[]> {
  const result = await build({
    ...edgeBuildOptions(),
    entryPoints: [entry],
    write: false,
    outdir: ".tmp/jose-check",
  });
  return Object.keys(result.metafile?.inputs ?? {}).filter((input) => input.includes("node_modules/jose/"));
}

describe("jose in the edge entries", () => {
  for (const entry of ["src/adapters/next.ts", "src/adapters/vercel.ts", "middleware.ts"])
    it(`reaches no JWE or deflate module from ${entry}`, async () => {
      const modules = await joseModules(entry);
      expect(modules.length).toBeGreaterThan(0);
      expect(modules.filter((m) => /lib\/deflate|jwe\/|lib\/jwe_/.test(m))).toEqual([]);
    });

  it("would reach them through the root entry (what the check guards against)", async () => {
    const modules = await joseModules("test/edge/fixtures/jose-root.ts");
    expect(modules.some((m) => m.endsWith("lib/deflate.js"))).toBe(true);
  });
});
