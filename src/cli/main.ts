/**
 * The `containment` CLI. One file per command under ./commands/; this file only assembles them.
 * Run from source with `npm run containment -- <command>` (tsx), or built via bin/containment.js.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, type CommanderError } from "commander";
import { EXIT } from "../ops/errors.js";
import { packageRoot } from "../ops/package-root.js";
import { auditCommand } from "./commands/audit.js";
import { dashboardCommand } from "./commands/dashboard.js";
import { detectionsCommand } from "./commands/detections.js";
import { devCommand } from "./commands/dev.js";
import { doctorCommand } from "./commands/doctor.js";
import { evidenceCommand } from "./commands/evidence.js";
import { extendCommand } from "./commands/extend.js";
import { incidentCommand } from "./commands/incident.js";
import { killCommand } from "./commands/kill.js";
import { liftCommand } from "./commands/lift.js";
import { listCommand } from "./commands/list.js";
import { pseudonymCommand } from "./commands/pseudonym.js";
import { quarantineCommand } from "./commands/quarantine.js";
import { reportCommand } from "./commands/report.js";
import { rulesCommand } from "./commands/rules.js";
import { statusCommand } from "./commands/status.js";
import { redactOutput } from "./secrets.js";
import { guardTerminal } from "./terminal.js";

function version(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "0.0.0";
}

export function createProgram(): Command {
  return new Command("containment")
    .description("edge-containment: contain a data leak at the edge while it is happening")
    .version(version())
    .addCommand(dashboardCommand())
    .addCommand(devCommand())
    .addCommand(rulesCommand())
    .addCommand(killCommand())
    .addCommand(liftCommand())
    .addCommand(extendCommand())
    .addCommand(listCommand())
    .addCommand(statusCommand())
    .addCommand(quarantineCommand())
    .addCommand(pseudonymCommand())
    .addCommand(detectionsCommand())
    .addCommand(auditCommand())
    .addCommand(doctorCommand())
    .addCommand(incidentCommand())
    .addCommand(reportCommand())
    .addCommand(evidenceCommand());
}

/** Usage mistakes (unknown flag, missing argument) exit 2 with one line; --help exits 0. */
function exitOnUsageErrors(command: Command): void {
  command.exitOverride((error: CommanderError) => {
    const ok =
      error.code === "commander.helpDisplayed" ||
      error.code === "commander.version" ||
      error.code === "commander.help";
    process.exit(ok ? EXIT.ok : EXIT.usage);
  });
  // One line: commander's message and where to look, on the same line.
  command.configureOutput({
    outputError: (text, write) => write(`${text.trimEnd()} (add --help for usage and an example)\n`),
  });
  for (const sub of command.commands) exitOnUsageErrors(sub);
}

/**
 * An unknown command is a usage error even with --help: commander shows the parent's help first
 * and exits 0, so a typo (`containment kil --help`) looked like it worked. Every group command
 * takes only boolean flags, so its first operand is the subcommand's name.
 */
function refuseUnknownCommand(program: Command, args: readonly string[]): void {
  let command = program;
  for (const arg of args) {
    if (arg.startsWith("-")) continue;
    if (command.commands.length === 0) return;
    const sub = command.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub !== undefined) {
      command = sub;
      continue;
    }
    if (arg === "help") return;
    const names = command.commands.map((c) => c.name()).join(", ");
    command.error(`error: unknown command '${arg}'; the commands are ${names}`, {
      code: "commander.unknownCommand",
      exitCode: EXIT.usage,
    });
  }
}

/** Runs the CLI with `argv` as in process.argv (node, script, …args). */
export async function run(argv: readonly string[]): Promise<void> {
  const program = createProgram();
  exitOnUsageErrors(program);
  refuseUnknownCommand(program, argv.slice(2));
  await program.parseAsync([...argv]);
}

/**
 * The CLI as a process runs it (bin/containment.js, `npm run containment`): `run` behind the
 * terminal guard, which escapes control characters in everything printed (src/cli/terminal.ts).
 */
export function main(argv: readonly string[]): Promise<void> {
  guardTerminal();
  return run(argv);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv).catch((error: unknown) => {
    console.error(redactOutput(error instanceof Error ? error.message : String(error), {}));
    process.exit(1);
  });
}
