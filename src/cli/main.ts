/**
 * The `containment` CLI. One file per command under ./commands/; this file only assembles them.
 * Run from source with `npm run containment -- <command>` (tsx), or built via bin/containment.js.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { packageRoot } from "../dev/package-root.js";
import { devCommand } from "./commands/dev.js";
import { rulesCommand } from "./commands/rules.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "0.0.0";
}

export function createProgram(): Command {
  return new Command("containment")
    .description("edge-containment: contain a data leak at the edge while it is happening")
    .version(version())
    .addCommand(devCommand())
    .addCommand(rulesCommand());
}

/** Runs the CLI with `argv` as in process.argv (node, script, …args). */
export async function run(argv: readonly string[]): Promise<void> {
  await createProgram().parseAsync([...argv]);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run(process.argv).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
