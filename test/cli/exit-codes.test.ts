/**
 * The exit-code table of docs/cli.md (`EXIT` in src/ops/errors.ts) holds for every command's error
 * paths: a bad flag, an unknown incident / switch / quarantine, missing configuration, Redis or the
 * Vercel API unreachable, a conflict. Each case runs through the CLI's own `run` (src/cli/main.ts)
 * against the real stand-ins (the Edge Config and Vercel API server of src/dev/, a real
 * redis-server behind the Upstash bridge) and checks the documented code, one line on stderr that
 * says what failed, no stack frame and no secret. In this process, so a hundred cases take seconds;
 * two of them again as a child process through the real entry, to show it ends the same way.
 *
 * The cases are keyed by the commands the CLI itself lists: a new command without cases fails here.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { format } from "node:util";
import type { Command } from "commander";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createProgram, run } from "../../src/cli/main.js";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { generateSigningKey } from "../../src/ops/audit/index.js";
import { EXIT } from "../../src/ops/errors.js";
import { type RedisFixture, startRedisFixture } from "../integration/redis-fixture.js";
import { responderEnv, runCli } from "../support/cli.js";
import { freePort } from "../support/redis-server.js";

type ExitName = keyof typeof EXIT;

/** Where the command runs: everything reachable, nothing configured, or one dependency missing or down. */
type Setting = "live" | "bare" | "no-redis" | "redis-down" | "api-down";

interface Case {
  args: string[];
  in: Setting;
  exit: ExitName;
  /** What the one line on stderr says. */
  says: RegExp;
  /** The fault lines before it, for a rules document: each with its JSON path. */
  faults?: RegExp;
}

interface CommandCases {
  /** Whether it changes something (Edge Config, Redis, the audit trail): then it takes --yes. */
  changes: boolean;
  cases: Case[];
}

const RULES = { version: 1, rules: [] };
// Made when the file loads: the cases name files in it.
const dir = mkdtempSync(join(tmpdir(), "containment-exit-codes-"));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const VALID = () => file("rules.json", JSON.stringify(RULES));
const INVALID = () => file("bad-rules.json", '{ "version": 1, "rules": [{ "id": 7 }] }');
const NO_FILE = () => join(dir, "no-such-file.json");
/** A well-formed detection id nothing tripped on. */
const DETECTION = "patient-enumeration.1a2b3c.0f1e2d3c4b5a";
/** Written in beforeAll (a key is made asynchronously): `incident sign-off` signs with it. */
const SIGN_KEY = join(dir, "signer.jwk");

/** Every command of the CLI, by its path: the cases of its error paths. */
const COMMANDS: Record<string, CommandCases> = {
  dashboard: {
    changes: false,
    cases: [{ args: [], in: "bare", exit: "config", says: /Redis/ }],
  },
  dev: {
    changes: false,
    cases: [{ args: ["--rules", NO_FILE()], in: "bare", exit: "usage", says: /rules file not found/ }],
  },
  "rules validate": {
    changes: false,
    cases: [
      { args: [NO_FILE()], in: "bare", exit: "usage", says: /not found/ },
      {
        args: [INVALID()],
        in: "bare",
        exit: "usage",
        says: /not a valid rules document/,
        faults: /:1:\d+: \$\.rules\[0\]\.kind: /,
      },
    ],
  },
  "rules diff": {
    changes: false,
    cases: [
      { args: [VALID()], in: "bare", exit: "config", says: /Edge Config|VERCEL_TOKEN/ },
      { args: [VALID()], in: "api-down", exit: "unavailable", says: /Vercel API/ },
    ],
  },
  "rules pull": {
    changes: false,
    cases: [
      { args: [], in: "bare", exit: "config", says: /Edge Config|VERCEL_TOKEN/ },
      { args: [], in: "api-down", exit: "unavailable", says: /Vercel API/ },
    ],
  },
  "rules push": {
    changes: true,
    cases: [
      {
        args: [INVALID(), "--yes"],
        in: "live",
        exit: "usage",
        says: /not a valid rules document/,
        faults: /:1:\d+: \$\.rules\[0\]\.kind: /,
      },
      { args: [VALID(), "--yes"], in: "bare", exit: "config", says: /Edge Config|VERCEL_TOKEN/ },
      { args: [VALID(), "--yes"], in: "api-down", exit: "unavailable", says: /Vercel API/ },
    ],
  },
  "rules test": {
    changes: false,
    cases: [
      { args: [VALID()], in: "no-redis", exit: "config", says: /needs Redis/ },
      { args: [VALID(), "--requests", NO_FILE()], in: "live", exit: "usage", says: /cannot read --requests/ },
    ],
  },
  kill: {
    changes: true,
    cases: [
      { args: ["/x", "--reason", "r", "--for", "2x"], in: "live", exit: "usage", says: /--for/ },
      {
        args: ["/x", "--reason", "r", "--incident", "INC-1", "--yes"],
        in: "bare",
        exit: "config",
        says: /Edge Config|VERCEL/,
      },
      {
        args: ["/x", "--reason", "r", "--incident", "INC-1", "--yes"],
        in: "api-down",
        exit: "unavailable",
        says: /Vercel API/,
      },
    ],
  },
  lift: {
    changes: true,
    cases: [
      { args: ["nosuch", "--yes"], in: "live", exit: "notFound", says: /no kill switch nosuch/ },
      { args: ["--incident", "INC-NONE", "--yes"], in: "live", exit: "notFound", says: /INC-NONE/ },
      { args: ["nosuch", "--yes"], in: "bare", exit: "config", says: /Edge Config|VERCEL/ },
      { args: ["nosuch", "--yes"], in: "api-down", exit: "unavailable", says: /Vercel API/ },
    ],
  },
  extend: {
    changes: true,
    cases: [
      {
        args: ["nosuch", "--for", "1h", "--yes"],
        in: "live",
        exit: "notFound",
        says: /no kill switch nosuch/,
      },
      { args: ["nosuch", "--for", "1h", "--yes"], in: "bare", exit: "config", says: /Edge Config|VERCEL/ },
    ],
  },
  list: {
    changes: false,
    cases: [
      { args: [], in: "bare", exit: "config", says: /Edge Config|VERCEL/ },
      { args: [], in: "api-down", exit: "unavailable", says: /Vercel API/ },
    ],
  },
  status: {
    changes: false,
    cases: [
      { args: [], in: "bare", exit: "config", says: /Edge Config|VERCEL/ },
      { args: [], in: "api-down", exit: "unavailable", says: /Vercel API/ },
    ],
  },
  "quarantine list": {
    changes: false,
    cases: [
      { args: [], in: "no-redis", exit: "config", says: /Redis/ },
      { args: [], in: "redis-down", exit: "unavailable", says: /Redis/ },
    ],
  },
  "quarantine release": {
    changes: true,
    cases: [
      { args: ["tenant:0123456789abcdef", "--yes"], in: "live", exit: "notFound", says: /no quarantine/ },
      { args: ["not a target", "--yes"], in: "live", exit: "usage", says: /dimension/ },
      { args: ["tenant:0123456789abcdef", "--yes"], in: "no-redis", exit: "config", says: /Redis/ },
      { args: ["tenant:0123456789abcdef", "--yes"], in: "redis-down", exit: "unavailable", says: /Redis/ },
    ],
  },
  "audit log": {
    changes: false,
    cases: [
      { args: [], in: "no-redis", exit: "config", says: /needs Redis/ },
      { args: [], in: "redis-down", exit: "unavailable", says: /Redis/ },
    ],
  },
  "audit export": {
    changes: false,
    cases: [
      { args: ["--out", join(dir, "audit.jsonl")], in: "no-redis", exit: "config", says: /needs Redis/ },
    ],
  },
  "audit verify": {
    changes: false,
    cases: [
      { args: ["--file", NO_FILE()], in: "live", exit: "usage", says: /cannot read/ },
      { args: [], in: "no-redis", exit: "config", says: /needs Redis/ },
    ],
  },
  "audit anchor": {
    changes: true,
    cases: [{ args: ["--yes"], in: "no-redis", exit: "config", says: /Redis/ }],
  },
  "audit sync": {
    changes: true,
    cases: [{ args: ["--yes"], in: "no-redis", exit: "config", says: /needs Redis/ }],
  },
  "audit keygen": {
    changes: false,
    cases: [
      {
        args: ["--kid", "a", "--out", file("taken.jwk", "{}"), "--public", join(dir, "a.jwks.json")],
        in: "bare",
        exit: "usage",
        says: /exists already/,
      },
    ],
  },
  doctor: {
    changes: false,
    cases: [{ args: [], in: "bare", exit: "config", says: /./ }],
  },
  "incident open": {
    changes: true,
    cases: [
      { args: ["INC-OPEN", "--title", "t", "--yes"], in: "live", exit: "conflict", says: /exists already/ },
      {
        args: ["INC-9", "--title", "t", "--discovered", "yesterday", "--yes"],
        in: "live",
        exit: "usage",
        says: /--discovered/,
      },
      { args: ["INC-9", "--title", "t", "--yes"], in: "no-redis", exit: "config", says: /live in Redis/ },
    ],
  },
  "incident close": {
    changes: true,
    cases: [
      { args: ["INC-NONE", "--yes"], in: "live", exit: "notFound", says: /no incident INC-NONE/ },
      { args: ["INC-CLOSED", "--yes"], in: "live", exit: "conflict", says: /closed at .* already/ },
      { args: ["INC-NONE", "--yes"], in: "no-redis", exit: "config", says: /live in Redis/ },
    ],
  },
  "incident list": {
    changes: false,
    cases: [
      { args: [], in: "no-redis", exit: "config", says: /live in Redis/ },
      { args: [], in: "redis-down", exit: "unavailable", says: /Redis/ },
    ],
  },
  report: {
    changes: false,
    cases: [
      { args: ["--incident", "INC-NONE"], in: "live", exit: "notFound", says: /no incident INC-NONE/ },
      { args: ["--incident", "INC-OPEN", "--since", "soon"], in: "live", exit: "usage", says: /--since/ },
      { args: ["--incident", "INC-NONE"], in: "no-redis", exit: "config", says: /reads Redis/ },
    ],
  },
  "evidence export": {
    changes: false,
    cases: [
      {
        args: ["--incident", "INC-NONE", "--out", join(dir, "ev")],
        in: "live",
        exit: "notFound",
        says: /INC-NONE/,
      },
      { args: ["--incident", "INC-NONE"], in: "no-redis", exit: "config", says: /from Redis/ },
    ],
  },
  "detections list": {
    changes: false,
    cases: [
      { args: ["--limit", "0"], in: "live", exit: "usage", says: /--limit/ },
      { args: [], in: "no-redis", exit: "config", says: /Redis/ },
      { args: [], in: "redis-down", exit: "unavailable", says: /Redis/ },
    ],
  },
  "detections release": {
    changes: true,
    cases: [
      { args: [DETECTION, "--yes"], in: "live", exit: "notFound", says: /no detection/ },
      { args: ["not an id", "--yes"], in: "live", exit: "usage", says: /not a detection id/ },
      { args: [DETECTION, "--yes"], in: "no-redis", exit: "config", says: /Redis/ },
      { args: [DETECTION, "--yes"], in: "redis-down", exit: "unavailable", says: /Redis/ },
    ],
  },
  "detections approve": {
    changes: true,
    cases: [
      { args: [DETECTION, "--yes"], in: "live", exit: "notFound", says: /no detection/ },
      { args: ["not an id", "--yes"], in: "live", exit: "usage", says: /not a detection id/ },
      { args: [DETECTION, "--yes"], in: "no-redis", exit: "config", says: /Redis/ },
    ],
  },
  "detections decoy-hash": {
    changes: false,
    cases: [{ args: ["99999"], in: "bare", exit: "usage", says: /CONTAINMENT_DECOY_KEY/ }],
  },
  "pseudonym resolve": {
    changes: false,
    cases: [
      { args: ["0123456789abcdef", "acme"], in: "live", exit: "notFound", says: /none of the 1 candidate/ },
      { args: ["not-a-pseudonym", "acme"], in: "live", exit: "usage", says: /16 hex digits/ },
      { args: ["0123456789abcdef", "--from", NO_FILE()], in: "live", exit: "usage", says: /cannot read/ },
      { args: ["0123456789abcdef", "acme"], in: "bare", exit: "config", says: /CONTAINMENT_SALT/ },
    ],
  },
  "incident set": {
    changes: true,
    cases: [
      {
        args: ["INC-NONE", "--summary", "s", "--yes"],
        in: "live",
        exit: "notFound",
        says: /no incident INC-NONE/,
      },
      {
        args: ["INC-OPEN", "--individuals", "many", "--yes"],
        in: "live",
        exit: "usage",
        says: /--individuals must be a whole number/,
      },
      {
        args: ["INC-OPEN", "--summary", "s", "--yes"],
        in: "no-redis",
        exit: "config",
        says: /live in Redis/,
      },
    ],
  },
  "incident decide": {
    changes: true,
    cases: [
      {
        args: ["INC-NONE", "--regime", "hipaa", "--notify", "--reason", "r", "--yes"],
        in: "live",
        exit: "notFound",
        says: /no incident INC-NONE/,
      },
      {
        args: ["INC-OPEN", "--regime", "hipaa", "--reason", "r", "--yes"],
        in: "live",
        exit: "usage",
        says: /--notify or --no-notify/,
      },
      {
        args: ["INC-OPEN", "--regime", "hipaa", "--notify", "--reason", "r", "--yes"],
        in: "no-redis",
        exit: "config",
        says: /live in Redis/,
      },
    ],
  },
  "incident notified": {
    changes: true,
    cases: [
      {
        args: ["INC-NONE", "--to", "DPO", "--via", "email", "--yes"],
        in: "live",
        exit: "notFound",
        says: /no incident INC-NONE/,
      },
      {
        args: ["INC-OPEN", "--to", "DPO", "--via", "email", "--at", "soon", "--yes"],
        in: "live",
        exit: "usage",
        says: /--at/,
      },
      {
        args: ["INC-OPEN", "--to", "DPO", "--via", "email", "--yes"],
        in: "no-redis",
        exit: "config",
        says: /live in Redis/,
      },
    ],
  },
  "incident sign-off": {
    changes: true,
    cases: [
      {
        args: ["INC-NONE", "--sign-key", SIGN_KEY, "--yes"],
        in: "live",
        exit: "notFound",
        says: /no incident INC-NONE/,
      },
      { args: ["INC-OPEN", "--yes"], in: "live", exit: "usage", says: /--sign-key/ },
      {
        args: ["INC-OPEN", "--sign-key", SIGN_KEY, "--yes"],
        in: "no-redis",
        exit: "config",
        says: /live in Redis/,
      },
    ],
  },
  "evidence verify": {
    changes: false,
    cases: [{ args: [NO_FILE()], in: "bare", exit: "usage", says: /does not exist/ }],
  },
};

function leaves(command: Command, path: string[] = []): Array<{ name: string; command: Command }> {
  return command.commands.flatMap((sub) => {
    const here = [...path, sub.name()];
    return sub.commands.length === 0 ? [{ name: here.join(" "), command: sub }] : leaves(sub, here);
  });
}
const LEAVES = leaves(createProgram());

let ec: EdgeConfigServer;
let redis: RedisFixture;
let deadUrl: string;
let secrets: string[];

/** The environment of each setting (nothing from the developer's shell). */
function envOf(setting: Setting): Record<string, string> {
  const live = responderEnv(ec, redis.connection, {
    CONTAINMENT_REPORT_SECRET: "exit-codes-secret",
    CONTAINMENT_SALT: "exit-codes-pseudonym-key",
  });
  const { UPSTASH_REDIS_REST_URL: _url, UPSTASH_REDIS_REST_TOKEN: _token, ...noRedis } = live;
  switch (setting) {
    case "live":
      return live;
    case "bare":
      return {};
    case "no-redis":
      return noRedis;
    case "redis-down":
      return { ...live, UPSTASH_REDIS_REST_URL: deadUrl };
    case "api-down":
      return { ...live, VERCEL_API_URL: deadUrl };
  }
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const SHELL_KEYS = /^(VERCEL_|EDGE_CONFIG|UPSTASH_|REDIS_URL|CONTAINMENT_)/;

/** Runs the CLI in this process, in `dir`, with exactly `env`: its exit code and output. */
async function inProcess(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (SHELL_KEYS.test(key)) delete process.env[key];
  Object.assign(process.env, env);
  const cwd = process.cwd();
  process.chdir(dir);
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  // The test runner routes console output itself: the CLI's console lines are caught here too.
  vi.spyOn(console, "log").mockImplementation((...parts: unknown[]) => {
    stdout += `${format(...parts)}\n`;
  });
  vi.spyOn(console, "error").mockImplementation((...parts: unknown[]) => {
    stderr += `${format(...parts)}\n`;
  });
  vi.spyOn(process, "exit").mockImplementation((code) => {
    throw new Exit(Number(code ?? 0));
  });
  process.exitCode = undefined;
  try {
    await run(["node", "containment", ...args]);
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } catch (error) {
    if (error instanceof Exit) return { code: error.code, stdout, stderr };
    throw error;
  } finally {
    process.exitCode = undefined;
    vi.restoreAllMocks();
    process.chdir(cwd);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/**
 * One line saying what failed: no stack frame, no secret. A rules document's faults come first,
 * one line each with its place and JSON path (`file:1:27: $.rules[0].kind: …`), as documented.
 */
function expectOneLine(stderr: string, says: RegExp): void {
  const lines = stderr
    .trim()
    .split("\n")
    .filter((line) => !/^\S+:\d+:\d+: \$\S*: /.test(line));
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0], stderr).toMatch(/^(edge-containment: |error: )/);
  expect(lines[0], stderr).toMatch(says);
  expect(stderr).not.toMatch(/^\s+at |unexpected error/m);
  for (const secret of secrets) expect(stderr).not.toContain(secret);
}

beforeAll(async () => {
  writeFileSync(SIGN_KEY, JSON.stringify((await generateSigningKey("exit-codes")).privateJwk));
  ec = await startEdgeConfigServer({ items: { containment: RULES } });
  redis = await startRedisFixture();
  deadUrl = `http://127.0.0.1:${await freePort()}`;
  secrets = [ec.apiToken, redis.connection.token];
  const env = envOf("live");
  for (const args of [
    ["incident", "open", "INC-OPEN", "--title", "open one", "--yes"],
    ["incident", "open", "INC-CLOSED", "--title", "closed one", "--yes"],
    ["incident", "close", "INC-CLOSED", "--out", join(dir, "closed"), "--yes"],
  ]) {
    const result = await inProcess(args, env);
    expect(result.code, result.stderr).toBe(EXIT.ok);
  }
}, 120_000);
afterAll(async () => {
  await redis?.close();
  await ec?.close();
});
afterEach(() => vi.restoreAllMocks());

describe("every command's error paths end with the documented exit code and one line", {
  timeout: 120_000,
}, () => {
  it("has cases for every command the CLI lists, and only for those", () => {
    expect(LEAVES.map((leaf) => leaf.name).sort()).toEqual(Object.keys(COMMANDS).sort());
  });

  it.each(LEAVES.map((leaf) => [leaf.name]))(
    "containment %s takes --yes exactly when it changes something",
    (name) => {
      const leaf = LEAVES.find((l) => l.name === name) as (typeof LEAVES)[number];
      const takesYes = leaf.command.options.some((option) => option.long === "--yes");
      expect(takesYes).toBe(COMMANDS[name]?.changes);
    },
  );

  it.each(LEAVES.map((leaf) => [leaf.name]))(
    "containment %s takes --json unless it only serves or writes files",
    (name) => {
      const leaf = LEAVES.find((l) => l.name === name) as (typeof LEAVES)[number];
      // dev and dashboard run servers and print their addresses; keygen writes two key files.
      const withoutJson = ["dev", "dashboard", "audit keygen"];
      const takesJson = leaf.command.options.some((option) => option.long === "--json");
      expect(takesJson).toBe(!withoutJson.includes(name));
    },
  );

  it.each(LEAVES.map((leaf) => [leaf.name]))(
    "containment %s: a bad flag is one line and exit 2",
    async (name) => {
      const { code, stderr } = await inProcess([...name.split(" "), "--no-such-flag"], {});
      expect(code).toBe(EXIT.usage);
      expectOneLine(stderr, /unknown option '--no-such-flag'|missing required argument|required option/);
    },
  );

  const all = Object.entries(COMMANDS).flatMap(([name, { cases }]) =>
    cases.map((c) => [`${name} ${c.args.join(" ")}`.trim(), c.in, c.exit, name, c] as const),
  );
  it.each(all)("containment %s (%s): exit %s", async (_title, _in, _exit, name, chosen) => {
    const result = await inProcess([...name.split(" "), ...chosen.args], envOf(chosen.in));
    expect(result.code, `${chosen.in}: ${chosen.args.join(" ")}\n${result.stderr}`).toBe(EXIT[chosen.exit]);
    expectOneLine(result.stderr, chosen.says);
    if (chosen.faults) expect(result.stderr).toMatch(chosen.faults);
    for (const secret of secrets) expect(result.stdout).not.toContain(secret);
  });

  it("an unknown incident, switch or quarantine is exit 12 and ERR_NOT_FOUND with --json, on every command that names one", async () => {
    const unknown = Object.entries(COMMANDS).flatMap(([name, { cases }]) =>
      cases.filter((c) => c.exit === "notFound").map((c) => ({ name, ...c })),
    );
    expect(new Set(unknown.map((c) => c.name))).toEqual(
      new Set([
        "lift",
        "extend",
        "quarantine release",
        "incident close",
        "report",
        "evidence export",
        "detections release",
        "detections approve",
        "incident set",
        "incident decide",
        "incident notified",
        "incident sign-off",
        "pseudonym resolve",
      ]),
    );
    for (const c of unknown) {
      const result = await inProcess([...c.name.split(" "), ...c.args, "--json"], envOf(c.in));
      expect(result.code, c.name).toBe(EXIT.notFound);
      const body = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as {
        ok: boolean;
        error?: { code: string };
      };
      expect(body, c.name).toMatchObject({ ok: false, error: { code: "ERR_NOT_FOUND" } });
    }
  });

  it("ends the same way as a process, through the real entry", async () => {
    const env = envOf("live");
    const lift = await runCli(["lift", "nosuch", "--yes"], { env, cwd: dir });
    expect(lift.code).toBe(EXIT.notFound);
    expectOneLine(lift.stderr, /no kill switch nosuch/);
    const report = await runCli(["report", "--incident", "INC-NONE"], { env, cwd: dir });
    expect(report.code).toBe(EXIT.notFound);
    expectOneLine(report.stderr, /no incident INC-NONE/);
  });
});
