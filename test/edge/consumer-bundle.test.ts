/**
 * a project that bundles this package the way Next.js does (webpack 5, which honours
 * `"sideEffects": false`) or the way Vercel's edge build does (esbuild) must get a working
 * in-memory store. Before the layout change the package root registered the memory store as an
 * import-time side effect; webpack dropped it, `redis: "memory"` reported `store-missing` and every
 * rate-limited request answered 503.
 *
 * The package is laid out as npm would install it (its `package.json` with the `exports` map and
 * `sideEffects`, `dist/` transpiled from `src/`), a consumer imports it by name, each bundler builds
 * the consumer, and the bundle runs: the rate limit must admit three requests and limit the rest.
 */

import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import webpack from "webpack";
import { edgeBuildOptions } from "../../src/dev/bundle.js";
import { packageRoot } from "../../src/ops/package-root.js";

const root = packageRoot();
const run = promisify(execFile);

/** What the consumer exports: five requests through a fresh firewall, and what it reported. */
interface ConsumerRun {
  outcomes: string[];
  statuses: Array<number | null>;
  store: string | undefined;
  reports: string[];
}

const CONSUMER = `
import { createContainment } from "edge-containment";
import { memoryStore } from "edge-containment/memory";

const rules = {
  version: 1,
  rules: [
    { id: "export-limit", kind: "rate-limit", match: { path: "/api/export" },
      limit: 3, window: "1m", algorithm: "fixed-window", by: ["route"] },
  ],
};

export async function run() {
  const reports = [];
  // A fixed clock: the window cannot roll over between the requests, however slow the machine.
  const containment = createContainment({
    rules, redis: memoryStore(), mirror: false, now: () => 1_800_000_000_000,
    onReport: (event) => reports.push(event),
  });
  const outcomes = [];
  const statuses = [];
  for (let i = 0; i < 5; i++) {
    const { decision, response } = await containment.decide(new Request("https://app.example.com/api/export"));
    outcomes.push(decision.outcome);
    statuses.push(response ? response.status : null);
  }
  return { outcomes, statuses, store: containment.status().store?.kind, reports };
}
`;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => join(entry.parentPath, entry.name));
}

let work: string;
let consumerEntry: string;

/**
 * The installed package: `package.json` as published, `dist/src/**` type-stripped file by file
 * (no bundling: the bundler under test must see the real module graph) and the JSON files tsc copies.
 */
async function installPackage(): Promise<void> {
  const pkg = join(work, "node_modules", "edge-containment");
  mkdirSync(pkg, { recursive: true });
  cpSync(join(root, "package.json"), join(pkg, "package.json"));
  cpSync(join(root, "rules"), join(pkg, "rules"), { recursive: true });
  cpSync(join(root, "rules"), join(pkg, "dist", "rules"), { recursive: true });
  await build({
    entryPoints: sourceFiles(join(root, "src")),
    outbase: root,
    outdir: join(pkg, "dist"),
    bundle: false,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    logLevel: "silent",
  });
  // The package's own dependencies, resolved from its folder as npm would hoist them.
  symlinkSync(join(root, "node_modules"), join(pkg, "node_modules"), "dir");
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "containment-consumer-"));
  // The consumer's own package.json, as any project has: without it the bundlers take the nearest
  // one above the temp dir as the package scope, and a stray /tmp/package.json named
  // edge-containment turned the imports into self-references that resolved to nothing.
  writeFileSync(
    join(work, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  await installPackage();
  consumerEntry = join(work, "consumer.mjs");
  writeFileSync(consumerEntry, CONSUMER);
}, 60_000);

/** Runs the bundle in a fresh Node process, as the only code loaded there. */
async function runBundle(file: string): Promise<ConsumerRun> {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(JSON.stringify(await m.run()));`;
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: work });
  return JSON.parse(stdout) as ConsumerRun;
}

function webpackBuild(config: webpack.Configuration): Promise<webpack.Stats> {
  return new Promise((resolve, reject) => {
    webpack(config, (error, stats) => {
      if (error) reject(error);
      else if (!stats) reject(new Error("webpack returned no stats"));
      else if (stats.hasErrors()) reject(new Error(stats.toString({ all: false, errors: true })));
      else resolve(stats);
    });
  });
}

function expectAdmitsThenLimits(run: ConsumerRun): void {
  expect(run.reports).not.toContain("store-missing");
  expect(run.store).toBe("memory");
  expect(run.outcomes).toEqual(["allow", "allow", "allow", "rate-limited", "rate-limited"]);
  expect(run.statuses).toEqual([null, null, null, 429, 429]);
}

describe("a consumer bundling the package", () => {
  it("gets a working memory store from webpack 5 in production mode, as Next.js builds middleware", async () => {
    const out = join(work, "webpack");
    await webpackBuild({
      mode: "production",
      target: "webworker",
      context: work,
      entry: consumerEntry,
      // Next.js resolves its edge bundles with these conditions.
      resolve: { conditionNames: ["edge-light", "worker", "browser", "import", "module", "default"] },
      experiments: { outputModule: true },
      output: { path: out, filename: "consumer.mjs", module: true, library: { type: "module" } },
      // Minifying changes nothing about which modules webpack keeps (sideEffects pruning runs first).
      optimization: { minimize: false },
      performance: { hints: false },
    });
    expectAdmitsThenLimits(await runBundle(join(out, "consumer.mjs")));
  }, 120_000);

  it("gets a working memory store from esbuild with the edge bundle settings", async () => {
    const outfile = join(work, "esbuild", "consumer.mjs");
    const result = await build({
      ...edgeBuildOptions(),
      entryPoints: [consumerEntry],
      outfile,
      absWorkingDir: work,
    });
    // The consumer resolved the package by name, through its exports map.
    const inputs = Object.keys(result.metafile?.inputs ?? {}).map((input) =>
      relative(work, join(work, input)),
    );
    expect(inputs).toContain("node_modules/edge-containment/dist/src/memory.js");
    expectAdmitsThenLimits(await runBundle(outfile));
  }, 60_000);
});
