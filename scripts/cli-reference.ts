/**
 * Writes docs/cli.md from the CLI's commander definitions (docs/development.md, "Docs"):
 *
 *   npm run docs                                  write docs/cli.md
 *   npx tsx scripts/cli-reference.ts --check      exit 1 if docs/cli.md is stale (CI)
 *
 * The program is built with `createProgram()` (src/cli/main.ts), which registers the commands and
 * parses nothing; the exit codes come from `EXIT` (scripts/docs/exit-codes.ts).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { createProgram } from "../src/cli/main.js";
import { withOpsOptions } from "../src/cli/ops.js";
import { withWaitOptions } from "../src/cli/wait.js";
import { renderCliReference } from "./docs/cli-markdown.js";
import { exitCodeRows } from "./docs/exit-codes.js";

export const CLI_REFERENCE = fileURLToPath(new URL("../docs/cli.md", import.meta.url));

const PREAMBLE = `# CLI reference

Every \`containment\` command, subcommand and option with its default, and the exit codes: the lookup page for responders.

Generated from the commander definitions in \`src/cli/\` by \`npm run docs\` (\`scripts/cli-reference.ts\`); do not edit it by hand, CI fails when it is stale. How to use these commands during an incident: [runbook.md](runbook.md).

Previous: [runbook.md](runbook.md) · Next: [dashboard.md](dashboard.md) · [All docs](../README.md#documentation)`;

const RESPONDER_INTRO =
  "Where the Edge Config store, the Vercel API and Redis are, and how to print. Flags win over the environment, which wins over `containment.json` in the current directory ([runbook.md](runbook.md#configuration)).";

const WAIT_INTRO =
  "On the commands that change enforcement: wait until every region's isolates report the change. What it confirms, and what it cannot: [runbook.md](runbook.md#--wait-confirming-every-region).";

/** The whole page, as `npm run docs` writes it. */
export function cliReference(): string {
  return renderCliReference({
    program: createProgram(),
    shared: [
      { title: "Responder options", intro: RESPONDER_INTRO, options: withOpsOptions(new Command()).options },
      { title: "Wait options", intro: WAIT_INTRO, options: withWaitOptions(new Command()).options },
    ],
    exitCodes: exitCodeRows(),
    preamble: PREAMBLE,
  });
}

function readCurrent(): string | undefined {
  try {
    return readFileSync(CLI_REFERENCE, "utf8");
  } catch {
    return undefined;
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const text = cliReference();
  if (process.argv.includes("--check")) {
    if (readCurrent() !== text) {
      console.error("docs/cli.md is stale: run npm run docs");
      process.exit(1);
    }
  } else {
    writeFileSync(CLI_REFERENCE, text);
    console.log(`wrote ${CLI_REFERENCE}`);
  }
}
