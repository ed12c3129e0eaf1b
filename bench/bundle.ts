/**
 * Measurement 4, bundle size: the gzipped middleware bundle as `src/dev/bundle.ts` builds it (the
 * file Vercel would deploy), and for comparison the dependencies alone: an entry re-exporting exactly
 * the names our sources import from each package, built with the same settings, so tree-shaking
 * keeps what the middleware keeps.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { bundleEdge, edgeBuildOptions, gzipBytes } from "../src/dev/bundle.js";
import { packageRoot } from "../src/ops/package-root.js";
import type { BenchRecord } from "./lib/record.js";
import { formatBytes } from "./lib/stats.js";

const GOAL_BYTES = 60 * 1024;

function packageOf(input: string): string | undefined {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
}

/** Value (not type) names a source file imports from `specifier`, including `ns.member` uses of a namespace import. */
function importedNames(source: string, specifier: string): string[] {
  const names = new Set<string>();
  const quoted = JSON.stringify(specifier).replaceAll("/", "\\/");
  for (const match of source.matchAll(
    new RegExp(`import\\s+(type\\s+)?\\{([^}]*)\\}\\s+from\\s+${quoted}`, "g"),
  )) {
    if (match[1]) continue;
    for (const part of (match[2] ?? "").split(",")) {
      const name = part.trim();
      if (name && !name.startsWith("type ")) names.add(name.split(/\s+as\s+/)[0] as string);
    }
  }
  for (const match of source.matchAll(
    new RegExp(`import\\s+\\*\\s+as\\s+(\\w+)\\s+from\\s+${quoted}`, "g"),
  )) {
    const namespace = match[1] as string;
    // Calls and `instanceof` only: `v.InferOutput<…>` is a type and has no value export.
    for (const use of source.matchAll(
      new RegExp(`(?:\\b${namespace}\\.(\\w+)\\s*\\()|(?:instanceof\\s+${namespace}\\.(\\w+))`, "g"),
    )) {
      names.add((use[1] ?? use[2]) as string);
    }
  }
  return [...names];
}

/** `export { a, b } from "pkg"` for every package the middleware's own files import. */
function dependencyEntry(metafile: Metafile, root: string): string {
  const wanted = new Map<string, Set<string>>();
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (file.includes("node_modules")) continue;
    for (const imported of input.imports) {
      if (!imported.path.includes("node_modules") || imported.original === undefined) continue;
      const names = wanted.get(imported.original) ?? new Set<string>();
      for (const name of importedNames(readFileSync(join(root, file), "utf8"), imported.original))
        names.add(name);
      wanted.set(imported.original, names);
    }
  }
  return [...wanted]
    .map(
      ([specifier, names]) => `export { ${[...names].sort().join(", ")} } from ${JSON.stringify(specifier)};`,
    )
    .join("\n");
}

export async function measure(): Promise<BenchRecord> {
  const root = packageRoot();
  const bundle = await bundleEdge({ write: false });
  const middlewareOutput = Object.entries(bundle.metafile.outputs).find(([file]) =>
    file.endsWith("middleware.js"),
  )?.[1];
  if (!middlewareOutput) throw new Error("no middleware output in the metafile");

  const perPackage: Record<string, number> = {};
  for (const [input, { bytesInOutput }] of Object.entries(middlewareOutput.inputs)) {
    const name = packageOf(input) ?? "edge-containment (src)";
    perPackage[name] = (perPackage[name] ?? 0) + bytesInOutput;
  }

  const entry = dependencyEntry(bundle.metafile, root);
  const buildEntry = async (contents: string): Promise<string> => {
    const built = await build({
      ...edgeBuildOptions(),
      stdin: { contents, resolveDir: root, sourcefile: "dependencies.js", loader: "js" },
      write: false,
      metafile: false,
    });
    return built.outputFiles[0]?.text ?? "";
  };
  const depsCode = await buildEntry(entry);
  const depsGzip = gzipBytes(depsCode);
  // What each package adds, gzipped: the dependencies bundle with and without it (gzip is not additive).
  const marginal: Array<[string, number]> = [];
  const lines = entry.split("\n");
  for (const [index, line] of lines.entries()) {
    const specifier = /from "([^"]+)"/.exec(line)?.[1] ?? line;
    const without = await buildEntry(lines.filter((_, i) => i !== index).join("\n"));
    marginal.push([specifier, depsGzip - gzipBytes(without)]);
  }
  const gzip = bundle.middleware.gzipBytes;
  const met = gzip <= GOAL_BYTES;
  const ownGzip = gzip - depsGzip;

  const rows = [
    {
      metric: "middleware bundle (dist/edge/middleware.js)",
      value: `${formatBytes(gzip)} gzipped (${gzip} B; ${formatBytes(bundle.middleware.bytes)} minified)`,
    },
    {
      metric: "dependencies alone, same imports and settings",
      value: `${formatBytes(depsGzip)} gzipped (${depsGzip} B; ${formatBytes(Buffer.byteLength(depsCode))} minified)`,
    },
    { metric: "edge-containment's own code (difference)", value: `≈ ${formatBytes(ownGzip)} gzipped` },
    ...marginal
      .sort((a, b) => b[1] - a[1])
      .map(([specifier, bytes]) => ({
        metric: `gzipped bytes "${specifier}" adds to the dependencies bundle`,
        value: formatBytes(bytes),
      })),
    ...Object.entries(perPackage)
      .sort((a, b) => b[1] - a[1])
      .map(([name, bytes]) => ({ metric: `minified bytes from ${name}`, value: formatBytes(bytes) })),
  ];
  return {
    bench: "bundle",
    title: "Bundle size",
    summary: `bundle: middleware ${formatBytes(gzip)} gzipped (goal ≤ 60 KB: ${met ? "met" : "MISSED"}); dependencies alone ${formatBytes(depsGzip)}; own code ≈ ${formatBytes(ownGzip)}`,
    metrics: {
      middleware_gzip_bytes: gzip,
      middleware_minified_bytes: bundle.middleware.bytes,
      dependencies_gzip_bytes: depsGzip,
      own_code_gzip_bytes_estimate: ownGzip,
      ...Object.fromEntries(
        Object.entries(perPackage).map(([name, bytes]) => [`minified_bytes_${name}`, bytes]),
      ),
    },
    rows,
    goals: [
      {
        goal: "middleware bundle ≤ 60 KB gzipped (61,440 B)",
        actual: `${formatBytes(gzip)} (${gzip} B)`,
        met,
        ...(met
          ? {}
          : {
              limit: `the dependencies alone are ${formatBytes(depsGzip)} (largest: ${[...marginal]
                .sort((a, b) => b[1] - a[1])
                .slice(0, 2)
                .map(([name, bytes]) => `${name} ${formatBytes(bytes)}`)
                .join(
                  ", ",
                )}); our own code adds ≈ ${formatBytes(ownGzip)}. @upstash/redis's Redis class defines each of its ~200 commands as an instance field, so the three the edge sends (EVAL, EVALSHA, HGETALL) bring every one, and the package has no entry with fewer; keeping it (the design names it) leaves 60 KB out of reach`,
            }),
      },
    ],
    method: [
      "`bundleEdge()` from src/dev/bundle.ts (esbuild, minified, ES2022, edge conditions, no externals) builds middleware.ts with every rule kind; gzip level 9. KB = 1,024 bytes.",
      `Dependencies alone: an entry re-exporting the exact names the bundled sources import (${entry.split("\n").length} packages), built with the same options.`,
      "Per-package rows: minified bytes each package contributes to the middleware bundle (esbuild metafile); gzip is not additive, so the own-code figure is the difference of the two gzipped sizes.",
    ],
  };
}
