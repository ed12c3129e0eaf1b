/**
 * `npm test`'s pretest step: brings what the suite needs beyond `npm ci`, or stops with one line.
 *
 * - The machine's programs (test/support/programs.ts: redis-server, tmux, chromium, ps): as root on
 *   Debian, `apt-get update` once and `apt-get install -y` of the missing ones; anywhere else, one
 *   line naming what to install, and a non-zero exit before any test runs.
 * - The example Next.js apps' dependencies (test/next-app/, test/adapters/next.test.ts): `npm ci` in
 *   examples/next-app and examples/next-intl-app, each skipped while its package-lock.json is the
 *   one last installed.
 * - Nothing else: no test needs `npm run build` (the example-app tests build their own packed copy
 *   under .tmp, test/support/next-app.ts).
 *
 * Why npm's `pretest` hook and not a vitest globalSetup: it runs before vitest starts, in a process
 * of its own, so minutes of apt-get and npm ci are under no hook timeout, their output does not
 * interleave with the reporter, and a stop is one line and an exit code instead of a failed
 * setup's stack trace. `npx vitest run FILE` skips it on purpose (one file should not apt-get
 * anything); a test whose program is missing still fails naming it (requireProgram).
 *
 * Usage: `npm test` runs it; `npx tsx scripts/test-prerequisites.ts` runs it alone.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { locateProgram, PROGRAMS } from "../test/support/programs.js";
import {
  describeStep,
  type ExampleState,
  type MachineState,
  planPrerequisites,
  READY_LINE,
  type Step,
} from "./prerequisites-plan.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const EXAMPLES = ["examples/next-app", "examples/next-intl-app"];
/** Beside the example's node_modules, so deleting node_modules forgets it too. */
const installedHashFile = (dir: string) => join(ROOT, dir, "node_modules/.installed-lock-hash");

function readExample(dir: string): ExampleState {
  const hashFile = installedHashFile(dir);
  return {
    dir,
    lockHash: createHash("sha256")
      .update(readFileSync(join(ROOT, dir, "package-lock.json")))
      .digest("hex"),
    installedHash: existsSync(hashFile) ? readFileSync(hashFile, "utf8").trim() : undefined,
  };
}

function readMachine(): MachineState {
  return {
    programs: PROGRAMS.map((program) => ({ program, path: locateProgram(program) })),
    env: process.env,
    root: process.getuid?.() === 0,
    apt: existsSync("/etc/debian_version") && spawnSync("apt-get", ["--version"]).status === 0,
    examples: EXAMPLES.map(readExample),
  };
}

/** Runs a command with its output kept; on failure throws with the output's last lines. */
function run(command: string, args: readonly string[], cwd = ROOT): void {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.status === 0) return;
  const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim().split("\n").slice(-15).join("\n");
  throw new Error(
    `\`${command} ${args.join(" ")}\` failed (${result.error?.message ?? `exit ${result.status}`}):\n${output}`,
  );
}

function runStep(step: Step): void {
  console.log(describeStep(step));
  if (step.kind === "apt-get") {
    run("apt-get", ["update", "-qq"]);
    run("apt-get", ["install", "-y", "-qq", ...step.packages]);
    return;
  }
  run("npm", ["ci", "--no-audit", "--no-fund"], join(ROOT, step.dir));
  writeFileSync(installedHashFile(step.dir), `${step.lockHash}\n`);
}

function main(): number {
  const plan = planPrerequisites(readMachine());
  if (plan.kind === "stop") {
    console.error(plan.line);
    return 1;
  }
  for (const step of plan.steps) {
    runStep(step);
    if (step.kind !== "apt-get") continue;
    // Installed where the tests look? A PATH without /usr/bin, or a wrong variable, still misses them.
    const after = planPrerequisites(readMachine(), { afterApt: true });
    if (after.kind === "stop") {
      console.error(after.line);
      return 1;
    }
  }
  if (plan.steps.length === 0) console.log(READY_LINE);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main();
  } catch (error) {
    console.error(`test prerequisites: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
