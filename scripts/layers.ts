/**
 * The import-direction check of src/ (`npm run layers`; `npm run lint` and so CI run it):
 *
 * 1. no import cycles between files;
 * 2. no upward import: a file imports only folders of its own rank or below (RANKS);
 * 3. nothing on the production path imports src/dev/: that folder is local tooling (stand-ins,
 *    bundling, workerd) with optional peers (miniflare, esbuild, ioredis) a deployment never has.
 *    Only DEV_IMPORTERS and files inside src/dev/ may import it.
 *
 * Every import form counts (scripts/module-imports.ts): `import type` too, since a type import still
 * points the dependency one way, dynamic `import("…")`, and `export … from`.
 *
 * Usage: `tsx scripts/layers.ts` prints one summary line (and each problem above it); exit 1 on any.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type ImportEdge, importCycles, importGraph } from "./import-graph.js";

/**
 * Each top folder of src/ and its rank, highest first: a file may import its own rank or lower,
 * never higher (the top imports the bottom, never back). A subfolder belongs to its top folder
 * (src/ops/report/ is ops). A new folder needs a line here before the check passes.
 */
export const RANKS: Readonly<Record<string, number>> = {
  /** The files directly in src/ (index.ts, memory.ts): the package's entry points, so nothing inside imports them. */
  "": 10,
  /** The `containment` commands: the responder's face in a terminal. */
  cli: 9,
  /** Local stand-ins, bundling and the workerd runner, for `containment dev` (see DEV_IMPORTERS). */
  dev: 8,
  /** The dashboard's page, SSE stream and JSON API handler: the responder's face in a browser. */
  dashboard: 7,
  /** What both faces share: Edge Config writer, mirror reader, audit chain, incidents, report. */
  ops: 6,
  /** Vercel Routing Middleware, Next.js middleware and proxy.ts, withContainment. */
  adapters: 5,
  /** createContainment, the edge side's composition root: evaluate, respond. */
  engine: 4,
  /** Rules sources: Edge Config, static, fast lane. */
  sources: 3,
  /** Rate-limit stores and the decision mirror. */
  stores: 3,
  /** One file per rule kind, the document schema, compiling. */
  rules: 2,
  /** Pure helpers: normalization, IPs, hashing, deadlines, typed errors. */
  core: 1,
  /** The vocabulary: decision, verdict, messages. */
  model: 1,
};

/** Files outside src/dev/ that may import it, each with the reason. */
export const DEV_IMPORTERS: Readonly<Record<string, string>> = {
  "src/cli/commands/dev.ts":
    "the `containment dev` command itself: it starts the stand-ins, and loads src/dev/server.ts lazily so no other command loads workerd or esbuild",
};

/**
 * TEMPORARY, MUST BE EMPTY: imports of src/dev/ from the production path that are known and being
 * removed. Each is reported on every run; one that is no longer imported fails the check, so the
 * list cannot outlive its reason.
 */
export const PENDING_DEV_IMPORTS: readonly { from: string; to: string }[] = [];

export interface LayerRules {
  ranks: Readonly<Record<string, number>>;
  devImporters: Readonly<Record<string, string>>;
  pendingDevImports: readonly { from: string; to: string }[];
}

export const RULES: LayerRules = {
  ranks: RANKS,
  devImporters: DEV_IMPORTERS,
  pendingDevImports: PENDING_DEV_IMPORTS,
};

export interface LayersReport {
  files: number;
  imports: number;
  cycles: string[][];
  upward: ImportEdge[];
  /** Imports of src/dev/ from the production path, not pending. */
  devImports: ImportEdge[];
  /** Imports of src/dev/ listed in PENDING_DEV_IMPORTS. */
  pending: ImportEdge[];
  /** PENDING_DEV_IMPORTS entries that match no import any more. */
  stalePending: { from: string; to: string }[];
  /** src/ folders with no rank. */
  unranked: string[];
}

/** `src/ops/report/x.ts` → `ops`; `src/index.ts` → `` (the entry points). */
export function topFolder(file: string): string {
  const parts = file.split("/");
  return parts.length > 2 ? (parts[1] as string) : "";
}

const inDev = (file: string): boolean => topFolder(file) === "dev";

/** `sources`: each file under src/ and its text, keyed `src/…`. */
export function checkLayers(sources: ReadonlyMap<string, string>, rules: LayerRules = RULES): LayersReport {
  const graph = importGraph(sources);
  const rank = (file: string): number | undefined => rules.ranks[topFolder(file)];
  const unranked = [...new Set(graph.files.map(topFolder))].filter(
    (folder) => rules.ranks[folder] === undefined,
  );
  const upward = graph.edges.filter((edge) => {
    const [from, to] = [rank(edge.from), rank(edge.to)];
    return from !== undefined && to !== undefined && to > from;
  });
  const intoDev = graph.edges.filter(
    (edge) => inDev(edge.to) && !inDev(edge.from) && rules.devImporters[edge.from] === undefined,
  );
  const isPending = (edge: { from: string; to: string }) =>
    rules.pendingDevImports.some((entry) => entry.from === edge.from && entry.to === edge.to);
  return {
    files: graph.files.length,
    imports: graph.edges.length,
    cycles: importCycles(graph),
    upward,
    devImports: intoDev.filter((edge) => !isPending(edge)),
    pending: intoDev.filter(isPending),
    stalePending: rules.pendingDevImports.filter(
      (entry) => !intoDev.some((edge) => edge.from === entry.from && edge.to === entry.to),
    ),
    unranked,
  };
}

const where = (edge: ImportEdge): string =>
  `${edge.from}:${edge.line} -> ${edge.to} (${edge.kinds.join(", ")})`;

/** What the check prints, problems first and the summary line last; `ok` is false on any problem. */
export function formatLayers(report: LayersReport, ranks: Readonly<Record<string, number>> = RANKS) {
  const folder = (file: string) => topFolder(file) || "src/ entry";
  const lines = [
    ...report.unranked.map(
      (name) => `  unranked: src/${name}/ has no rank in RANKS (scripts/layers.ts): add one`,
    ),
    ...report.cycles.map((cycle) => `  cycle: ${cycle.join(" -> ")}`),
    ...report.upward.map(
      (edge) =>
        `  upward: ${where(edge)}: ${folder(edge.from)} (${ranks[topFolder(edge.from)]}) may not import ${folder(edge.to)} (${ranks[topFolder(edge.to)]})`,
    ),
    ...report.devImports.map(
      (edge) => `  dev import: ${where(edge)}: only DEV_IMPORTERS and src/dev/ itself may import src/dev/`,
    ),
    ...report.stalePending.map(
      (entry) =>
        `  stale: PENDING_DEV_IMPORTS lists ${entry.from} -> ${entry.to}, no longer imported: remove it`,
    ),
    ...report.pending.map((edge) => `  pending: ${where(edge)}: in PENDING_DEV_IMPORTS, which must be empty`),
  ];
  const problems =
    report.unranked.length +
    report.cycles.length +
    report.upward.length +
    report.devImports.length +
    report.stalePending.length;
  lines.push(
    `layers: ${report.files} files, ${report.imports} imports: ${report.cycles.length} cycles, ` +
      `${report.upward.length} upward, ${report.devImports.length} into src/dev/ from the production path` +
      (report.pending.length > 0 ? ` (+${report.pending.length} pending)` : "") +
      (problems > 0 ? ": FAILED" : ""),
  );
  return { ok: problems === 0, lines };
}

/** Every .ts file under `dir` (declaration files aside: they hold no imports to check), keyed by POSIX path. */
export function readSources(root: string, dir = "src"): Map<string, string> {
  const sources = new Map<string, string>();
  const names = readdirSync(join(root, dir), { recursive: true, encoding: "utf8" });
  for (const name of names.sort()) {
    if (!name.endsWith(".ts") || name.endsWith(".d.ts")) continue;
    const file = `${dir}/${name.split("\\").join("/")}`;
    sources.set(file, readFileSync(join(root, file), "utf8"));
  }
  return sources;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { ok, lines } = formatLayers(checkLayers(readSources(fileURLToPath(new URL("..", import.meta.url)))));
  for (const line of lines) console.log(line);
  if (!ok) process.exitCode = 1;
}
