#!/usr/bin/env node
// Launches the built CLI. In this repository, `npm start` / `npm run containment` run the
// TypeScript sources through tsx instead, so nothing needs building first.
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const main = fileURLToPath(new URL("../dist/src/cli/main.js", import.meta.url));
if (!existsSync(main)) {
  console.error(
    "edge-containment: the CLI is not built (no dist/src/cli/main.js). Run `npm run build` first, " +
      "or from a clone of the repository use `npm run containment -- <command>`.",
  );
  process.exit(1);
}
const { run } = await import(pathToFileURL(main).href);
await run(process.argv);
