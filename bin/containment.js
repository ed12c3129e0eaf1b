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
const cli = await import(pathToFileURL(main).href);
// `main` puts the terminal guard in front of `run` (src/cli/terminal.ts).
await (cli.main ?? cli.run)(process.argv);
