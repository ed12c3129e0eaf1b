/**
 * Every command's `--help` carries an example of itself, and every usage mistake (unknown flag,
 * bad value, missing argument) is one line on stderr and exit 2. In process, through the CLI's own
 * `run` (process.exit and stderr captured), so all commands are covered without a child each.
 */
import type { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createProgram, run } from "../../src/cli/main.js";

function commands(command: Command, path: string[] = []): Array<{ path: string[]; command: Command }> {
  return command.commands.flatMap((sub) => {
    const here = [...path, sub.name()];
    return [{ path: here, command: sub }, ...commands(sub, here)];
  });
}
const ALL = commands(createProgram());
const LEAVES = ALL.filter(({ command }) => command.commands.length === 0);

class Exit extends Error {
  constructor(readonly code: number | undefined) {
    super(`exit ${code}`);
  }
}

/** Runs the CLI in this process; answers the exit code and what went to stderr. */
async function usage(args: string[]): Promise<{ code: number | undefined; stderr: string }> {
  let stderr = "";
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  vi.spyOn(process, "exit").mockImplementation((code) => {
    throw new Exit(code === undefined ? undefined : Number(code));
  });
  try {
    await run(["node", "containment", ...args]);
    return { code: undefined, stderr };
  } catch (error) {
    if (error instanceof Exit) return { code: error.code, stderr };
    throw error;
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("the CLI's help and usage errors", () => {
  it("covers every command", () => {
    expect(LEAVES.length).toBeGreaterThanOrEqual(25);
  });

  it.each(ALL.map(({ path }) => [path.join(" ")]))(
    "containment %s --help shows an example of itself",
    async (name) => {
      const found = ALL.find((c) => c.path.join(" ") === name) as (typeof ALL)[number];
      let help = "";
      found.command.configureOutput({
        writeOut: (text) => {
          help += text;
        },
      });
      found.command.outputHelp();
      expect(help, help).toMatch(/Examples?:/);
      expect(help, help).toMatch(new RegExp(`^ +(\\$ )?(npx )?containment ${name}( |$)`, "m"));
    },
  );

  it.each(LEAVES.map(({ path }) => [path.join(" ")]))(
    "containment %s --no-such-flag: one line, exit 2",
    async (name) => {
      const { code, stderr } = await usage([...name.split(" "), "--no-such-flag"]);
      expect(code).toBe(2);
      const lines = stderr.trim().split("\n");
      expect(lines, stderr).toHaveLength(1);
      expect(lines[0]).toMatch(
        /unknown option '--no-such-flag'|missing required argument|required option .* not specified/,
      );
      expect(lines[0]).toContain("(add --help for usage and an example)");
    },
  );

  it.each([
    [["kil", "--help"]],
    [["kil"]],
    [["rules", "validat", "--help"]],
    [["audit", "verfy", "--json", "--help"]],
    [["incident", "nosuch"]],
  ])("unknown command %j, with or without --help: one line naming it, exit 2", async (args) => {
    const { code, stderr } = await usage(args);
    expect(code).toBe(2);
    const unknown = args.find((arg) => /^(kil|validat|verfy|nosuch)$/.test(arg));
    expect(stderr.trim().split("\n"), stderr).toEqual([
      expect.stringMatching(
        new RegExp(`unknown command '${unknown}'.*\\(add --help for usage and an example\\)$`),
      ),
    ]);
  });

  it("help for a known command still exits 0, with help as a command too", async () => {
    expect((await usage(["kill", "--help"])).code).toBe(0);
    expect((await usage(["rules", "--help"])).code).toBe(0);
    expect((await usage(["help", "kill"])).code).toBe(0);
  });

  it.each([
    [["kill", "/x", "--reason", "r", "--incident", "I", "--for", "2x"], /--for.*'2x' is invalid/],
    [["kill", "/x", "--reason", "r", "--incident", "I", "--status", "99"], /--status.*'99' is invalid/],
    [
      ["kill", "/x", "--reason", "r", "--incident", "I", "--wait", "--timeout", "0"],
      /--timeout.*'0' is invalid/,
    ],
    [["status", "--watch", "--every", "abc"], /--every.*'abc' is invalid/],
    [["extend", "exports", "--for"], /--for.*argument missing/],
    [["dashboard", "--port", "99999"], /--port.*'99999' is invalid/],
    [["report", "--format", "pdf"], /--format.*'pdf' is invalid/],
    [["rules", "validate"], /missing required argument 'file'/],
  ])("bad value %j: one line, exit 2", async (args, message) => {
    const { code, stderr } = await usage(args);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n"), stderr).toEqual([expect.stringMatching(message)]);
  });
});
