import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The directory of edge-containment's own package.json. This file runs from `src/ops/` (tsx) and
 * from `dist/src/ops/` (built), so a fixed `../..` would be wrong in one of them; walk up instead.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "rules"))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(
        `edge-containment: cannot find the package root above ${fileURLToPath(import.meta.url)}`,
      );
    dir = parent;
  }
}

/** `.ts` when running from source under tsx, `.js` when running the build. */
export const SOURCE_EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
