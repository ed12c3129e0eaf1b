/**
 * What `containment dev` needs from a Next.js project to run its middleware as Next would: the
 * resolved next.config (basePath, i18n, and the table `withContainment` writes into `env`), and
 * whether `next/server` is there to build real `NextRequest`s. next.config.ts is compiled with
 * esbuild (packages stay external) and imported, then called with the dev-server phase.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

export interface NextProjectFacts {
  /** `new NextRequest(url, { nextConfig })` settings: what `request.nextUrl` is built from. */
  nextConfig: { basePath?: string; i18n?: unknown; trailingSlash?: boolean };
  /** `env` entries of the resolved config (withContainment's table among them). */
  env: Record<string, string>;
  /** Whether `next/server` resolves from the project. */
  hasNext: boolean;
}

const CONFIG_FILES = ["next.config.ts", "next.config.mts", "next.config.mjs", "next.config.js"];

async function loadConfig(file: string, root: string): Promise<Record<string, unknown>> {
  // Inside the project, so the config's own imports (edge-containment/next, next) resolve.
  const dir = mkdtempSync(join(root, ".containment-next-config-"));
  try {
    const outfile = join(dir, "next.config.mjs");
    await build({
      entryPoints: [file],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      logLevel: "silent",
      // The config runs from a temporary file; keep import.meta.dirname its own directory.
      define: { "import.meta.dirname": JSON.stringify(join(file, "..")) },
    });
    const module = (await import(pathToFileURL(outfile).href)) as { default?: unknown };
    const exported = module.default;
    const config =
      typeof exported === "function"
        ? await exported("phase-development-server", { defaultConfig: {} })
        : exported;
    return (config ?? {}) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads the project's Next.js setup; a project without next.config or Next gets empty facts. */
export async function readNextProject(root: string): Promise<NextProjectFacts> {
  const hasNext = (() => {
    try {
      createRequire(join(root, "package.json")).resolve("next/server");
      return true;
    } catch {
      return false;
    }
  })();
  const file = CONFIG_FILES.map((name) => join(root, name)).find((path) => existsSync(path));
  if (!file) return { nextConfig: {}, env: {}, hasNext };
  const config = await loadConfig(file, root);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries((config.env ?? {}) as Record<string, unknown>))
    if (typeof value === "string") env[name] = value;
  const nextConfig: NextProjectFacts["nextConfig"] = {
    ...(typeof config.basePath === "string" ? { basePath: config.basePath } : {}),
    ...(config.i18n ? { i18n: config.i18n } : {}),
    ...(typeof config.trailingSlash === "boolean" ? { trailingSlash: config.trailingSlash } : {}),
  };
  return { nextConfig, env, hasNext };
}
