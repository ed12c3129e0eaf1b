/**
 * What `npm test` needs beyond `npm ci`, decided from what the machine has: nothing to do, the
 * install steps to run, or one line that says what to install and stops the run. Pure: the machine
 * is read by the caller (scripts/test-prerequisites.ts) and passed in, so tests decide every case
 * without running apt-get.
 */
import type { Program } from "../test/support/programs.js";

/** What the machine has, as scripts/test-prerequisites.ts reads it. */
export interface MachineState {
  /** Each program the tests run (test/support/programs.ts), with its path or undefined when missing. */
  programs: readonly { program: Program; path: string | undefined }[];
  /** The environment, for the variables that point the tests at another copy of a program. */
  env: Readonly<Record<string, string | undefined>>;
  /** Running as root: apt-get needs it, and the pretest never asks for a password. */
  root: boolean;
  /** Debian (or a derivative) with apt-get on PATH. */
  apt: boolean;
  /** Each example app the tests build (examples/next-app, examples/next-intl-app). */
  examples: readonly ExampleState[];
}

export interface ExampleState {
  /** Its directory, relative to the repository: `examples/next-app`. */
  dir: string;
  /** SHA-256 of its package-lock.json. */
  lockHash: string;
  /** The lock hash its node_modules was installed from, undefined when not installed by this step. */
  installedHash: string | undefined;
}

export type Step =
  /** `apt-get update` once, then `apt-get install -y` of these Debian packages. */
  | { kind: "apt-get"; packages: string[] }
  /** `npm ci` in an example app's directory, then the lock hash recorded beside its node_modules. */
  | { kind: "example-app"; dir: string; lockHash: string };

export type Plan = { kind: "run"; steps: Step[] } | { kind: "stop"; line: string };

export interface PlanOptions {
  /** apt-get has already run for the programs missing before: what is still missing stops the run. */
  afterApt?: boolean;
}

const PREFIX = "test prerequisites:";

const names = (programs: readonly Program[]): string => programs.map((program) => program.name).join(", ");
const packages = (programs: readonly Program[]): string[] => programs.map((program) => program.debianPackage);

export function planPrerequisites(machine: MachineState, options: PlanOptions = {}): Plan {
  const missing = machine.programs.filter((entry) => entry.path === undefined).map((entry) => entry.program);
  // A variable pointing at nothing is a mistake apt-get cannot mend: say so rather than install a copy the tests would not use.
  const pointed = missing.filter((program) => Boolean(program.variable && machine.env[program.variable]));
  const installable = missing.filter((program) => !pointed.includes(program));
  const problems = pointed.map(
    (program) =>
      `${program.variable}=${machine.env[program.variable ?? ""]} is not an executable file: point it at ${program.name} or unset it`,
  );
  if (installable.length > 0 && options.afterApt) {
    problems.push(
      `apt-get installed ${packages(installable).join(" ")}, yet ${names(installable)} is still not on PATH (${machine.env.PATH ?? ""})`,
    );
  } else if (installable.length > 0 && !(machine.root && machine.apt)) {
    const why = machine.apt ? "not root" : "no apt-get here";
    problems.push(
      `missing ${names(installable)}: install ${installable.length === 1 ? "it" : "them"} ` +
        `(Debian: apt-get install -y ${packages(installable).join(" ")}); ` +
        `npm test does that itself only as root on Debian (${why})`,
    );
  }
  if (problems.length > 0) return { kind: "stop", line: `${PREFIX} ${problems.join("; ")}` };

  const steps: Step[] = [];
  if (installable.length > 0) steps.push({ kind: "apt-get", packages: packages(installable) });
  for (const example of machine.examples)
    if (example.installedHash !== example.lockHash)
      steps.push({ kind: "example-app", dir: example.dir, lockHash: example.lockHash });
  return { kind: "run", steps };
}

/** The one line printed before a step runs, with what it costs so a long pause is expected. */
export function describeStep(step: Step): string {
  if (step.kind === "apt-get")
    return `${PREFIX} apt-get install -y ${step.packages.join(" ")}${step.packages.includes("chromium") ? " (chromium: 1-2 min)" : ""}`;
  return `${PREFIX} npm ci in ${step.dir} (its lock file changed or it was never installed; ~25 s)`;
}

/** The line printed when nothing needed doing. */
export const READY_LINE = `${PREFIX} present`;
