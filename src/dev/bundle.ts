/**
 * Bundles the middleware for the edge, the way Vercel's edge runtime sees it: one ESM file per
 * entry, resolved with edge conditions, with no externals. There is deliberately no `external`
 * list: an import of `node:fs` (or bare `fs`) cannot resolve on platform "neutral", so any Node
 * built-in that creeps into the middleware's import graph fails this build instead of failing in
 * production. Tests, `containment dev` and benchmarks all run the output of this one function.
 *
 * As a script: `tsx src/dev/bundle.ts [--report]` writes `dist/edge/`; `--report` prints the gzipped
 * size of the middleware bundle as one human line and one JSON line.
 */
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { type BuildOptions, build, type Metafile } from "esbuild";
import { packageRoot, SOURCE_EXTENSION } from "../ops/package-root.js";

export type EdgeEntry = "middleware" | "worker";

export interface EdgeBundleOptions {
  /** Write the files to `outdir`; false keeps them in memory (tests: no races between test processes). Default true. */
  write?: boolean;
  /** Default `dist/edge` under the package root. */
  outdir?: string;
}

export interface EdgeBundleOutput {
  entry: EdgeEntry;
  /** Where the file is (or would be) written. */
  path: string;
  code: string;
  bytes: number;
  gzipBytes: number;
}

export interface EdgeBundle {
  middleware: EdgeBundleOutput;
  worker: EdgeBundleOutput;
  metafile: Metafile;
}

/**
 * `process` does not exist in workerd (without nodejs_compat) and its `env` is frozen at build time
 * on Vercel's edge anyway. These are the reads `@vercel/edge-config` 1.5 makes without a
 * `typeof process` guard (its dist/index.js); each would throw a ReferenceError at the edge.
 * Guarded reads (VERCEL_ENV) are left alone so they still work where `process` exists.
 */
export const EDGE_DEFINES: Readonly<Record<string, string>> = {
  "process.env.NODE_ENV": JSON.stringify("production"),
  // Verbose tracing is for Vercel's own debugging.
  "process.env.EDGE_CONFIG_TRACE_VERBOSE": "undefined",
  // Only consulted when NODE_ENV is "development", which it never is in this bundle.
  "process.env.EDGE_CONFIG_DISABLE_DEVELOPMENT_SWR": "undefined",
  // Selects reading Edge Config from a Lambda's file system; the edge has none.
  "process.env.AWS_LAMBDA_FUNCTION_NAME": "undefined",
};

/** The settings every edge build shares; exported so a test can prove the built-in guard with them. */
export function edgeBuildOptions(): BuildOptions {
  return {
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    // Vercel's edge resolves packages with these conditions (e.g. @vercel/global-config-fs → index.edge.js).
    conditions: ["edge-light", "worker", "browser", "import", "default"],
    mainFields: ["browser", "module", "main"],
    minify: true,
    define: { ...EDGE_DEFINES },
    logLevel: "silent",
    metafile: true,
  };
}

function entryPoints(): Record<EdgeEntry, string> {
  const here = dirname(fileURLToPath(import.meta.url));
  // Same relative layout in src/ and in dist/ (tsc keeps rootDir "."), only the extension changes.
  return {
    middleware: resolve(here, "../..", `middleware${SOURCE_EXTENSION}`),
    worker: join(here, `worker${SOURCE_EXTENSION}`),
  };
}

export function gzipBytes(code: string | Uint8Array): number {
  return gzipSync(code, { level: 9 }).byteLength;
}

/** Metafile inputs that are Node built-ins: must be empty for an edge bundle. */
export function nodeBuiltinInputs(metafile: Metafile): string[] {
  const builtins = new Set(builtinModules);
  return Object.keys(metafile.inputs).filter((input) => input.startsWith("node:") || builtins.has(input));
}

/**
 * Builds `middleware.ts` (what Vercel runs) and `src/dev/worker.ts` (the workerd harness around it).
 *
 * @example
 * const { middleware } = await bundleEdge({ write: false });
 * console.log(middleware.gzipBytes);
 */
export async function bundleEdge(options: EdgeBundleOptions = {}): Promise<EdgeBundle> {
  const outdir = options.outdir ?? join(packageRoot(), "dist", "edge");
  const entries = entryPoints();
  const result = await build({
    ...edgeBuildOptions(),
    entryPoints: entries,
    outdir,
    write: options.write ?? true,
  });
  const metafile = result.metafile as Metafile;
  const builtins = nodeBuiltinInputs(metafile);
  if (builtins.length > 0)
    throw new Error(`edge-containment: the edge bundle imports Node built-ins: ${builtins.join(", ")}`);

  const output = (entry: EdgeEntry): EdgeBundleOutput => {
    const path = join(outdir, `${entry}.js`);
    // With write: true esbuild returns no outputFiles; read back what it wrote.
    const text = result.outputFiles?.find((f) => f.path === path)?.text ?? readFileSync(path, "utf8");
    const bytes = Buffer.byteLength(text);
    return { entry, path, code: text, bytes, gzipBytes: gzipBytes(text) };
  };
  return { middleware: output("middleware"), worker: output("worker"), metafile };
}

/** The `--report` lines: one for people, one JSON line for benchmark tooling. */
export function reportLines(bundle: EdgeBundle, root = packageRoot()): [string, string] {
  const { middleware } = bundle;
  const file = relative(root, middleware.path);
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const human = `edge bundle ${file}: ${kb(middleware.gzipBytes)} gzipped (${middleware.gzipBytes} bytes; ${kb(middleware.bytes)} minified; Vercel Hobby limit 1 MB gzipped)`;
  const json = JSON.stringify({
    metric: "bundle-gzip-bytes",
    value: middleware.gzipBytes,
    unit: "bytes",
    bundle: file,
    minifiedBytes: middleware.bytes,
  });
  return [human, json];
}

async function main(argv: readonly string[]): Promise<void> {
  const bundle = await bundleEdge();
  if (argv.includes("--report")) for (const line of reportLines(bundle)) console.log(line);
  else
    console.log(
      `wrote ${relative(process.cwd(), bundle.middleware.path)} and ${relative(process.cwd(), bundle.worker.path)}`,
    );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}

export interface ProjectBundleOptions {
  /** The project's middleware.ts / proxy.ts. */
  entry: string;
  /** Environment the middleware reads at setup (EDGE_CONFIG, UPSTASH_REDIS_REST_URL, …). */
  env: Readonly<Record<string, string>>;
  /** A Next.js project: requests become `NextRequest`s built with this config (basePath, i18n). */
  nextConfig?: Readonly<Record<string, unknown>>;
}

/**
 * `containment dev` in a user's project: the project's own middleware (resolving its own
 * `edge-containment` and `next/server`) inside the project worker harness, for workerd. `process`
 * does not exist there, so a module that runs before the middleware's gives it `process.env`:
 * the middleware's factory reads its environment at module level, as on Vercel.
 *
 * @example
 * const { worker } = await bundleProject({ entry: "/app/middleware.ts", env: { EDGE_CONFIG } });
 */
export async function bundleProject(
  options: ProjectBundleOptions,
): Promise<{ worker: EdgeBundleOutput; inputs: string[] }> {
  const here = dirname(fileURLToPath(import.meta.url));
  const entry = resolve(options.entry);
  const envModule = `globalThis.process ??= { env: {} }; Object.assign(globalThis.process.env, ${JSON.stringify(options.env)});`;
  // In a Next.js project the upstream is `next dev` / `next start`, which runs the same middleware
  // itself: the harness then forwards the path as sent and lets it redo its rewrites (project-worker.ts).
  const requestModule = options.nextConfig
    ? `import { NextRequest } from "next/server";\nexport const toPlatformRequest = (request) => new NextRequest(request, { nextConfig: ${JSON.stringify(options.nextConfig)} });\nexport const upstreamRunsMiddleware = true;`
    : "export const toPlatformRequest = (request) => request;\nexport const upstreamRunsMiddleware = false;";
  const outdir = join(dirname(entry), ".containment");
  const result = await build({
    ...edgeBuildOptions(),
    // next/server's CommonJS files mention __dirname; Next's own edge build defines it the same way.
    define: { ...EDGE_DEFINES, __dirname: JSON.stringify("/"), __filename: JSON.stringify("/index.js") },
    stdin: {
      contents: `import "containment:env";\nexport { default } from ${JSON.stringify(join(here, `project-worker${SOURCE_EXTENSION}`))};`,
      resolveDir: dirname(entry),
      sourcefile: "project-worker-entry.js",
      loader: "js",
    },
    outfile: join(outdir, "worker.js"),
    write: false,
    plugins: [
      {
        name: "containment-project",
        setup(esbuild) {
          esbuild.onResolve({ filter: /^containment:(env|project|request)$/ }, (args) =>
            args.path === "containment:project"
              ? { path: entry }
              : { path: args.path.slice("containment:".length), namespace: "containment" },
          );
          esbuild.onLoad({ filter: /.*/, namespace: "containment" }, (args) => ({
            contents: args.path === "env" ? envModule : requestModule,
            loader: "js",
            resolveDir: dirname(entry),
          }));
        },
      },
    ],
  });
  const metafile = result.metafile as Metafile;
  const builtins = nodeBuiltinInputs(metafile);
  if (builtins.length > 0)
    throw new Error(
      `edge-containment: ${entry} imports Node built-ins, which the edge runtime lacks: ${builtins.join(", ")}`,
    );
  const file = result.outputFiles?.[0];
  if (!file) throw new Error(`edge-containment: bundling ${entry} produced no output`);
  return {
    worker: {
      entry: "worker",
      path: file.path,
      code: file.text,
      bytes: file.contents.byteLength,
      gzipBytes: gzipBytes(file.text),
    },
    inputs: projectInputs(metafile, dirname(entry)),
  };
}

/** The project's own files the bundle was built from (not its packages): what a rebuild watches. */
function projectInputs(metafile: Metafile, projectDir: string): string[] {
  return Object.keys(metafile.inputs)
    .filter((input) => !input.includes("node_modules/") && !input.includes(":"))
    .map((input) => resolve(input))
    .filter((path) => path.startsWith(`${projectDir}/`));
}
