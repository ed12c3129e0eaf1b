/**
 * CI's bundle ceiling: builds the production middleware bundle (`middleware.ts` with the edge
 * bundle settings of `src/dev/bundle.ts`, the file Vercel deploys), prints its gzipped size and its
 * biggest contributors from the esbuild metafile, and exits 1 above the ceiling.
 *
 * The goal stays ≤ 60 KB gzipped (`npm run bench` reports it); the ceiling is there so no change
 * grows the bundle unnoticed, not to push anyone toward hand-written replacements of good libraries.
 * It was 73 KB for a while, for three measured additions that landed together (undeclared values
 * kept out of Redis, flushes paced by urgency, detectors containing in every isolate), and is back
 * at 72 KB because savings elsewhere in the bundle paid for them: see docs/development.md, "The
 * bundle ceiling", and the bundle benchmark for why 60 KB is out of reach with `@upstash/redis`
 * (17.7 KB gzipped of it).
 *
 * Usage: `tsx scripts/bundle-check.ts [--ceiling-kb 72] [--top 8]` (`npm run bundle:check`).
 */
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Metafile } from "esbuild";
import { bundleEdge, type EdgeBundle } from "../src/dev/bundle.js";
import { packageRoot } from "../src/ops/package-root.js";

export const CEILING_BYTES = 72 * 1024;
export const GOAL_BYTES = 60 * 1024;

export interface Contributor {
  /** A package name, or a source file of this package. */
  name: string;
  /** Minified bytes it adds to the bundle (esbuild's `bytesInOutput`; gzip is not additive). */
  bytes: number;
}

export interface BundleCheck {
  ok: boolean;
  gzipBytes: number;
  ceilingBytes: number;
  packages: Contributor[];
  files: Contributor[];
  lines: string[];
}

function packageOf(input: string): string | undefined {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];
}

function middlewareInputs(metafile: Metafile): Record<string, { bytesInOutput: number }> {
  const output = Object.entries(metafile.outputs).find(([file]) => file.endsWith("middleware.js"))?.[1];
  if (!output) throw new Error("edge-containment: the metafile has no middleware.js output");
  return output.inputs;
}

function ranked(totals: Map<string, number>): Contributor[] {
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

/** Judges a built bundle against the ceiling; `lines` is what CI prints. */
export function checkBundle(bundle: EdgeBundle, ceilingBytes = CEILING_BYTES, top = 8): BundleCheck {
  const byPackage = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(middlewareInputs(bundle.metafile))) {
    const name = packageOf(input) ?? "edge-containment (own code)";
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    byFile.set(input, bytesInOutput);
  }
  const packages = ranked(byPackage);
  const files = ranked(byFile);
  const gzip = bundle.middleware.gzipBytes;
  const ok = gzip <= ceilingBytes;
  const lines = [
    `bundle: ${relative(packageRoot(), bundle.middleware.path)} is ${kb(gzip)} gzipped (${gzip} B; ${kb(bundle.middleware.bytes)} minified); ceiling ${kb(ceilingBytes)}, goal ${kb(GOAL_BYTES)}`,
    "bundle: biggest contributors (minified bytes in the bundle, esbuild metafile):",
    ...packages.slice(0, top).map((c) => `  ${kb(c.bytes).padStart(9)}  ${c.name}`),
    "bundle: biggest files:",
    ...files.slice(0, top).map((c) => `  ${kb(c.bytes).padStart(9)}  ${c.name}`),
    ok
      ? `bundle: OK, ${kb(ceilingBytes - gzip)} under the ceiling`
      : `bundle: FAILED: ${kb(gzip - ceilingBytes)} over the ${kb(ceilingBytes)} ceiling; find the import that grew it in the lists above`,
  ];
  return { ok, gzipBytes: gzip, ceilingBytes, packages, files, lines };
}

function flag(argv: readonly string[], name: string): number | undefined {
  const index = argv.indexOf(name);
  if (index === -1) return undefined;
  const value = Number(argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}

async function main(argv: readonly string[]): Promise<void> {
  const ceilingKb = flag(argv, "--ceiling-kb");
  const result = checkBundle(
    await bundleEdge({ write: false }),
    ceilingKb === undefined ? CEILING_BYTES : ceilingKb * 1024,
    flag(argv, "--top") ?? 8,
  );
  for (const line of result.lines) console.log(line);
  if (!result.ok) process.exitCode = 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(`bundle: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
