/**
 * The machine's programs the tests run, which `npm ci` does not bring: one table, read both by the
 * tests (to find each program, or fail naming it) and by `npm test`'s pretest step
 * (scripts/test-prerequisites.ts, which installs what is missing where it can), so the two never
 * disagree about where a program is.
 *
 * A program is found through its variable when that is set (`CHROMIUM_BIN=/opt/chromium/chrome`),
 * else as the first executable of its name on PATH.
 */
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface Program {
  /** The executable's name on PATH. */
  readonly name: string;
  /** The variable that points the tests at another copy, when the tests honour one. */
  readonly variable?: string;
  /** Debian's package that brings it (`apt-get install -y <package>`). */
  readonly debianPackage: string;
  /** Which tests run it, for the message that says it is missing. */
  readonly usedBy: string;
}

export const PROGRAMS = [
  {
    name: "redis-server",
    variable: "REDIS_SERVER_BIN",
    debianPackage: "redis-server",
    usedBy: "the integration tests (each starts a throwaway real Redis)",
  },
  { name: "tmux", debianPackage: "tmux", usedBy: "test/cli/terminal.test.ts (the CLI in a real terminal)" },
  {
    name: "chromium",
    variable: "CHROMIUM_BIN",
    debianPackage: "chromium",
    usedBy: "the dashboard and HTML report browser tests (through playwright-core)",
  },
  // Debian's slim images have no `ps`; the dev server test lists workerd among the CLI's children.
  { name: "ps", debianPackage: "procps", usedBy: "test/dev/dev-server.test.ts (workerd stops with the CLI)" },
  {
    name: "openssl",
    debianPackage: "openssl",
    usedBy: "test/cli/redis-failures.test.ts (the certificate of a rediss:// redis-server)",
  },
] as const satisfies readonly Program[];

export type ProgramName = (typeof PROGRAMS)[number]["name"];

/** What finding a program reads from the machine: injected in tests of the lookup itself. */
export interface ProgramLookup {
  env: Readonly<Record<string, string | undefined>>;
  isExecutable(path: string): boolean;
}

export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const machine: ProgramLookup = { env: process.env, isExecutable: isExecutableFile };

/** The program's path, or undefined when neither its variable nor PATH leads to an executable. */
export function locateProgram(program: Program, lookup: ProgramLookup = machine): string | undefined {
  const chosen = program.variable === undefined ? undefined : lookup.env[program.variable];
  if (chosen !== undefined && chosen !== "") return lookup.isExecutable(chosen) ? chosen : undefined;
  for (const dir of (lookup.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const path = join(dir, program.name);
    if (lookup.isExecutable(path)) return path;
  }
  return undefined;
}

export function programNamed(name: ProgramName): Program {
  const program = PROGRAMS.find((candidate) => candidate.name === name);
  if (!program) throw new Error(`test/support/programs.ts has no program ${name}`);
  return program;
}

/** Where the program is; throws one line naming what to install when it is missing. */
export function requireProgram(name: ProgramName): string {
  const program = programNamed(name);
  const path = locateProgram(program);
  if (path !== undefined) return path;
  const pointed = program.variable === undefined ? undefined : process.env[program.variable];
  const where = pointed ? `${program.variable}=${pointed} is not an executable file` : `no ${name} on PATH`;
  throw new Error(
    `${program.usedBy} needs ${name}, and ${where}: \`npm test\` installs it as root on Debian ` +
      `(apt-get install -y ${program.debianPackage}); elsewhere install it yourself`,
  );
}
