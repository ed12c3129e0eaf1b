/**
 * Is `containment dev` running in a user's project? Then it runs the project's own middleware.
 * Kept apart from the dev server so the CLI can decide without loading workerd or esbuild.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ConfigInvalid } from "../core/errors.js";

/** Where Next.js and Vercel look for the file, in their order. */
const CANDIDATES = [
  "middleware.ts",
  "middleware.js",
  "proxy.ts",
  "proxy.js",
  "src/middleware.ts",
  "src/proxy.ts",
];

function packageName(dir: string): string | undefined {
  try {
    const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: unknown };
    return typeof json.name === "string" ? json.name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The project's middleware file: `entry` if given (must exist), else the first of middleware.ts,
 * proxy.ts (also under src/) in `cwd`; undefined in this package's own repository or without one.
 */
export function findProjectEntry(cwd: string, entry?: string): string | undefined {
  if (entry !== undefined) {
    const file = resolve(cwd, entry);
    if (!existsSync(file)) throw new ConfigInvalid(`--entry ${entry}: no such file`);
    return file;
  }
  if (packageName(cwd) === "edge-containment") return undefined;
  const found = CANDIDATES.map((name) => join(cwd, name)).filter((file) => existsSync(file));
  const middleware = found.find((file) => /middleware\.[jt]s$/.test(file));
  const proxy = found.find((file) => /proxy\.[jt]s$/.test(file));
  if (middleware && proxy)
    throw new ConfigInvalid(
      `both ${middleware} and ${proxy} exist (Next.js refuses that too): remove one, or pass --entry <file>`,
    );
  return found[0];
}
