/**
 * the middleware bundle ≤ 60 KB gzipped, and what each feature costs. Two views:
 * the minified bytes each feature's files contribute (esbuild metafile, grouped), with the biggest
 * single contributors; and, for the features that can be cut at one module, the exact gzipped
 * difference of a build with that module replaced by an inert stub.
 */
import { join } from "node:path";
import { build, type Metafile, type Plugin } from "esbuild";
import { edgeBuildOptions, gzipBytes } from "../src/dev/bundle.js";
import { packageRoot } from "../src/ops/package-root.js";
import type { BenchRecord, Row } from "./lib/record.js";
import { formatBytes } from "./lib/stats.js";

const GOAL_BYTES = 60 * 1024;

/** Input path patterns per feature; the first match wins, in this order. */
const FEATURES: ReadonlyArray<readonly [string, RegExp]> = [
  ["fast lane (Ed25519 entries from Redis)", /src\/sources\/fastlane|src\/engine\/rules-source/],
  [
    "Edge Config source (refresh, outages, size limit)",
    /src\/sources\/edge-config|@vercel\/edge-config|global-config/,
  ],
  ["tenant binding (JWT, JWKS, origins)", /src\/rules\/tenant-binding|node_modules\/jose\//],
  ["rate limits (@upstash/ratelimit)", /src\/rules\/rate-limit|@upstash\/ratelimit|core-analytics/],
  ["Redis client, store and decision mirror", /src\/stores\/|@upstash\/redis|uncrypto/],
  [
    "rules schema and validation (valibot)",
    /node_modules\/valibot|src\/rules\/(validate|document|common|check)/,
  ],
  ["request normalization", /src\/core\/(path|request|ip|redact)/],
  ["engine, rule kinds, trie, responses", /src\/engine\/|src\/rules\/|src\/model\//],
  ["adapters and the rest of core", /src\/|middleware\.ts/],
];

/** Modules that can be replaced by a stub with the same exports to price a feature exactly. */
const STUBS: ReadonlyArray<readonly [string, RegExp, string]> = [
  [
    "fast lane",
    /src\/sources\/fastlane\.ts$/,
    `export const FASTLANE_KEY_ITEM = "containment_fastlane_key"; export const FASTLANE_HASH = "fastlane";
     export const fastLaneKeys = () => []; export const fastLaneReader = () => undefined;`,
  ],
];

async function middleware(plugins: Plugin[] = []): Promise<{ code: string; metafile: Metafile }> {
  const result = await build({
    ...edgeBuildOptions(),
    entryPoints: [join(packageRoot(), "middleware.ts")],
    write: false,
    plugins,
  });
  const code = result.outputFiles?.[0]?.text;
  if (code === undefined || !result.metafile) throw new Error("esbuild produced no middleware bundle");
  return { code, metafile: result.metafile };
}

function stubPlugin(pattern: RegExp, contents: string): Plugin {
  return {
    name: "feature-stub",
    setup(plugin) {
      plugin.onLoad({ filter: pattern }, () => ({ contents, loader: "ts" }));
    },
  };
}

export async function measure(): Promise<BenchRecord> {
  const full = await middleware();
  const gzip = gzipBytes(full.code);
  const inputs = Object.values(full.metafile.outputs)[0]?.inputs ?? {};
  const groups = new Map<string, number>();
  const files: Array<[string, number]> = [];
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const feature = FEATURES.find(([, pattern]) => pattern.test(path))?.[0] ?? "other";
    groups.set(feature, (groups.get(feature) ?? 0) + bytesInOutput);
    files.push([path.replace(/^.*node_modules\//, ""), bytesInOutput]);
  }
  const minified = Buffer.byteLength(full.code);
  // Same estimate as the feature rows: the dependencies' share of the minified bytes.
  let dependencies = 0;
  for (const [path, { bytesInOutput }] of Object.entries(inputs))
    if (path.includes("node_modules/")) dependencies += bytesInOutput;
  const rows: Row[] = [
    {
      metric: "middleware bundle",
      value: `${formatBytes(gzip)} gzipped (${gzip} B), ${formatBytes(minified)} minified`,
    },
  ];
  const metrics: BenchRecord["metrics"] = {
    middleware_gzip_bytes: gzip,
    middleware_minified_bytes: minified,
  };
  for (const [name, pattern, contents] of STUBS) {
    const without = gzipBytes((await middleware([stubPlugin(pattern, contents)])).code);
    rows.push({
      metric: `exact cost of the ${name}`,
      value: `${formatBytes(gzip - without)} gzipped (bundle without it: ${formatBytes(without)})`,
    });
    metrics[`exact_gzip_bytes_${name.replace(/\W+/g, "_")}`] = gzip - without;
  }
  for (const [feature, bytes] of [...groups].sort((a, b) => b[1] - a[1])) {
    // gzip is not additive: the share of the minified bytes, applied to the gzipped total, is an estimate.
    rows.push({
      metric: `feature: ${feature}`,
      value: `${formatBytes(bytes)} minified, ≈ ${formatBytes((bytes / minified) * gzip)} gzipped`,
    });
  }
  for (const [path, bytes] of files.sort((a, b) => b[1] - a[1]).slice(0, 10))
    rows.push({ metric: `biggest: ${path}`, value: `${formatBytes(bytes)} minified` });
  const met = gzip <= GOAL_BYTES;
  return {
    bench: "features",
    title: "Bundle: what each feature costs",
    summary: `features: middleware ${formatBytes(gzip)} gzipped; ${rows
      .slice(1, 4)
      .map((r) => `${r.metric} ${r.value}`)
      .join("; ")}`,
    metrics,
    rows,
    goals: [
      {
        goal: "middleware bundle ≤ 60 KB gzipped (CI fails above 72 KB), each feature's cost listed",
        actual: `${formatBytes(gzip)} (${gzip} B)`,
        met,
        ...(met
          ? {}
          : {
              limit: `by their share of the minified bytes the dependencies (jose, valibot, @upstash/*, @vercel/edge-config) are ≈ ${formatBytes((dependencies / minified) * gzip)} of it gzipped (bundled on their own they compress to less: see Bundle size); the largest features are listed above`,
            }),
      },
    ],
    method: [
      "middleware.ts built with the edge bundle's esbuild settings (src/dev/bundle.ts: minified, ES2022, edge conditions), gzip level 9, KB = 1,024 bytes.",
      "Feature rows: the minified bytes of each input file in the output (esbuild metafile), grouped by the feature that needs it (first matching group wins); gzipped share ≈ minified share × gzipped total. Exact rows: the same build with that feature's module replaced by a stub exporting inert values, gzipped, subtracted.",
    ],
  };
}
