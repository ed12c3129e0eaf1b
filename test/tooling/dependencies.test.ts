/**
 * `dependencies` in package.json holds exactly what the published package loads at run time: what
 * src/ (built to dist/) and bin/ import. Left out, because nothing loads them from an install:
 * - src/**\/*.gen.ts and src/dashboard/client/: browser code and its libraries (uPlot), bundled into
 *   src/dashboard/assets.gen.ts by scripts/dashboard-assets.ts before publishing;
 * - for the second rule, src/dev/: `containment dev`'s tooling, whose packages are optional peers
 *   (miniflare, esbuild, ioredis) the dev command asks for when they are missing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { moduleImports } from "../../scripts/module-imports.js";

const ROOT = join(import.meta.dirname, "../..");
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

const bakedIntoAssets = (file: string) =>
  file.endsWith(".gen.ts") || file.startsWith("src/dashboard/client/");

/** Every file the package ships as code, by repository path. */
function shippedFiles(): string[] {
  const under = (dir: string, pattern: RegExp) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
      .filter((name) => pattern.test(name))
      .map((name) => `${dir}/${name}`);
  return [...under("src", /\.ts$/), ...under("bin", /\.js$/)].filter((file) => !bakedIntoAssets(file));
}

/** `@upstash/redis/cloudflare` → `@upstash/redis`; undefined for relative paths, builtins and virtual modules. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || isBuiltin(specifier)) return undefined;
  if (/^[a-z]+:/.test(specifier)) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Each package imported by the shipped files, with the files that import it. */
function importedPackages(files: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of files) {
    for (const { specifier } of moduleImports(file, readFileSync(join(ROOT, file), "utf8"))) {
      const name = packageOf(specifier);
      if (name === undefined) continue;
      const importers = found.get(name) ?? [];
      if (!importers.includes(file)) importers.push(file);
      found.set(name, importers);
    }
  }
  return found;
}

describe("package.json dependencies", () => {
  const files = shippedFiles();
  const imported = importedPackages(files);

  it("names packages by what an install resolves", () => {
    expect(packageOf("@upstash/redis/cloudflare")).toBe("@upstash/redis");
    expect(packageOf("jose/jwt/verify")).toBe("jose");
    expect([
      packageOf("node:fs"),
      packageOf("fs"),
      packageOf("containment:project"),
      packageOf("./a.js"),
    ]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it("lists only packages that src/ or bin/ loads (browser libraries are baked into the assets)", () => {
    expect(Object.keys(manifest.dependencies).filter((name) => !imported.has(name))).toEqual([]);
  });

  it("covers every package src/ outside src/dev/ imports, in dependencies or peerDependencies", () => {
    const declared = new Set([
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
    ]);
    const undeclared = [...imported]
      .map(([name, importers]) => [name, importers.filter((file) => !file.startsWith("src/dev/"))] as const)
      .filter(([name, importers]) => importers.length > 0 && !declared.has(name))
      .map(([name, importers]) => `${name} (${importers.join(", ")})`);
    expect(undeclared).toEqual([]);
  });
});
