/**
 * Every command the README tells a reader to run is run by CI (docs/development.md, "Docs"). The
 * incident section's `containment` commands run here, for real and in order, against
 * `containment dev` with a real redis-server, as a rehearsal does (docs/runbook.md, "Local
 * rehearsal"): each with `--local`, and `--yes` where the command asks for confirmation, since no
 * terminal answers the prompt. Every other command must be a package.json script, or be listed in
 * COVERED_ELSEWHERE with what runs it. A README command none of these covers fails this test.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ShellCommand, shellCommands } from "../../scripts/docs/shell-commands.js";
import { createProgram } from "../../src/cli/main.js";
import { type DevServer, startDevServer } from "../../src/dev/server.js";
import { until } from "../integration/redis-fixture.js";
import { runCli } from "../support/cli.js";
import { type RedisServer, startRedisServer } from "../support/redis-server.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");
/** The README section whose commands this test runs. */
const INCIDENT_SECTION = "The incident in five commands";

/** README commands that are no package.json script, with the file that runs them and what it runs. */
const COVERED_ELSEWHERE: Record<string, { by: string; runs: string }> = {
  "npm install": { by: ".ci/run", runs: "npm ci --no-audit --no-fund" },
};

/** npm's own commands that run a package.json script of the same name. */
const SCRIPT_SHORTHANDS = new Set(["start", "stop", "restart", "test"]);

const scripts = (
  JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
).scripts;

/** The package.json script an `npm …` command runs, if it runs one. */
function scriptOf(argv: readonly string[]): string | undefined {
  if (argv[0] !== "npm") return undefined;
  if (argv[1] === "run" || argv[1] === "run-script") return argv[2];
  return argv[1] !== undefined && SCRIPT_SHORTHANDS.has(argv[1]) ? argv[1] : undefined;
}

const isIncidentCommand = (c: ShellCommand) => c.heading === INCIDENT_SECTION && c.argv[0] === "containment";

/** Why nothing runs this command, or undefined when something does. */
function uncovered(command: ShellCommand): string | undefined {
  if (isIncidentCommand(command)) return undefined;
  const script = scriptOf(command.argv);
  if (script !== undefined) return script in scripts ? undefined : `no package.json script "${script}"`;
  const elsewhere = COVERED_ELSEWHERE[command.text];
  if (elsewhere === undefined) return "no test runs it: run it here, or name its test in COVERED_ELSEWHERE";
  const file = join(ROOT, elsewhere.by);
  if (!existsSync(file) || !readFileSync(file, "utf8").includes(elsewhere.runs))
    return `${elsewhere.by} does not run "${elsewhere.runs}"`;
  return undefined;
}

/** The CLI command an argv names (`incident open` → the `open` subcommand of `incident`). */
function commandOf(argv: readonly string[]): Command {
  let command = createProgram();
  for (const word of argv.slice(1)) {
    const sub = command.commands.find((c) => c.name() === word);
    if (sub === undefined) break;
    command = sub;
  }
  return command;
}

/** What a rehearsal adds: the running dev server's endpoints, and a yes where a terminal would ask. */
function rehearsed(argv: readonly string[]): string[] {
  const asks = commandOf(argv).options.some((o) => o.long === "--yes");
  return [...argv.slice(1), "--local", ...(asks ? ["--yes"] : [])];
}

const flagValue = (argv: readonly string[], flag: string) => {
  const at = argv.indexOf(flag);
  return at === -1 ? undefined : argv[at + 1];
};

/** A request path a kill-switch pattern blocks: `:tenant` → the command's tenant, other params and `*` → 1. */
function pathIn(pattern: string, tenant: string | undefined): string {
  return pattern
    .split("/")
    .map((segment) => {
      if (segment === ":tenant") return tenant ?? "acme";
      return segment.startsWith(":") || segment === "*" || segment === "**" ? "1" : segment;
    })
    .join("/");
}

describe("the README's commands", () => {
  it("are each run by a test: the incident section here, the rest as package.json scripts or by the file named", () => {
    const commands = shellCommands(README);
    expect(commands.filter(isIncidentCommand).length).toBeGreaterThan(0);
    const problems = commands
      .map((c) => ({ c, why: uncovered(c) }))
      .filter(({ why }) => why !== undefined)
      .map(({ c, why }) => `README.md:${c.line}: ${c.text} (${why})`);
    expect(problems).toEqual([]);
  });

  it("flags a README command that nothing runs", () => {
    const stray = shellCommands("## Elsewhere\n\n```sh\ncontainment doctor\nnpm run nope\n```\n").map(
      uncovered,
    );
    expect(stray).toEqual([
      "no test runs it: run it here, or name its test in COVERED_ELSEWHERE",
      'no package.json script "nope"',
    ]);
  });
});

describe(`README "${INCIDENT_SECTION}", run against containment dev and a real Redis`, () => {
  let redis: RedisServer;
  let dev: DevServer;
  let cwd: string;
  let traffic: Promise<void> | undefined;
  let stopped = false;

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), "containment-readme-"));
    redis = await startRedisServer();
    dev = await startDevServer({ port: 0, redis: redis.url, endpointsDir: cwd, log: () => {} });
    // The leak the README contains is happening: exports of acme's patients, beside other traffic.
    // Isolates also report what they enforce with their mirror flushes, so `--wait` needs requests.
    traffic = (async () => {
      for (let n = 0; !stopped; n++) {
        const path = n % 2 === 0 ? `/api/acme/patients/${n}/export` : `/api/acme/items/${n}`;
        await fetch(`${dev.urls.firewall}${path}`)
          .then((r) => r.arrayBuffer())
          .catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
  }, 120_000);
  afterAll(async () => {
    stopped = true;
    await traffic;
    await dev?.close();
    await redis?.stop();
  });

  const answer = async (path: string) => {
    const response = await fetch(`${dev.urls.firewall}${path}`);
    const text = await response.text();
    return { status: response.status, body: text };
  };

  it("works as written: every command exits 0 and does what the README says", async () => {
    const commands = shellCommands(README).filter(isIncidentCommand);
    // The checks below follow the section's story; a README that tells another one needs new checks.
    expect(commands.map((c) => commandOf(c.argv).name())).toEqual([
      "open",
      "kill",
      "status",
      "lift",
      "report",
    ]);
    const kill = commands.find((c) => commandOf(c.argv).name() === "kill")?.argv ?? [];
    const killed = pathIn(kill[2] ?? "", flagValue(kill, "--tenant"));
    for (const command of commands) {
      const run = await runCli(rehearsed(command.argv), { cwd });
      const where = `README.md:${command.line}: ${command.text}\n${run.stderr}`;
      expect(run.code, where).toBe(0);
      const incident = flagValue(command.argv, "--incident");
      const name = commandOf(command.argv).name();
      if (name === "kill") {
        const blocked = await answer(killed);
        expect(blocked.status, where).toBe(503);
        expect(JSON.parse(blocked.body), where).toMatchObject({ incident });
      }
      if (name === "status") expect(run.stdout, where).toContain(flagValue(kill, "--incident"));
      if (name === "lift")
        await until(async () => (await answer(killed)).status !== 503, 15_000, `${killed} to pass again`);
      if (name === "report") {
        const out = flagValue(command.argv, "--out");
        const text = out === undefined ? run.stdout : readFileSync(join(cwd, out), "utf8");
        expect(text, where).toContain(incident ?? "");
      }
    }
  }, 300_000);
});
