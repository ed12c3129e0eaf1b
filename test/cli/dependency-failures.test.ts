/**
 * Honest outcomes when a dependency fails mid-command (docs/runbook.md, "When a dependency fails"):
 * kill, lift, extend, rules push and quarantine release through the real CLI, each with one
 * dependency failing for real at one step. The Vercel API stand-in down, or answering 500 to the
 * PATCH (before the write: nothing written, exit 4); redis-server stopped before the command (the
 * switches never depend on Redis: written, audit journaled, `--wait` cannot confirm: exit 10);
 * redis-server stopped the moment the write was accepted (a gate in front of the stand-in acts
 * between its answer and the CLI: no sleep, no race); a webhook nobody listens on (written, warned:
 * exit 11). Each run: its first line, its exit code, what landed, and that no line carries Lua
 * source, a Redis error, a stack frame or a secret.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import { generateFastLaneKeys } from "../../src/ops/fastlane.js";
import { restRedis } from "../../src/ops/redis-rest.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { type CliResult, responderEnv, runCli } from "../support/cli.js";
import { type HttpGate, startHttpGate } from "../support/http-gate.js";
import { freePort } from "../support/redis-server.js";

const SECRET = "deployment-report-secret";
const KEY = "containment_kill_api-exports";
const QUARANTINE = "containment:quarantine:ip:0a1b2c3d4e5f6789";
const EMPTY_RULES = { version: 1, rules: [] };
const PUSHED_RULES = {
  version: 1,
  rules: [{ id: "freeze", kind: "kill-switch", match: { path: "/api/freeze/**" }, reason: "drill" }],
};

let ec: EdgeConfigServer;
let redis: RedisFixture;
/** In front of the Vercel API stand-in, and of the Upstash bridge: where a test stops Redis mid-command. */
let api: HttpGate;
let rest: HttpGate;
let cwd: string;
let privateJwk: string;
let secrets: string[];

const journalFile = () => join(cwd, ".containment", "audit-journal.jsonl");
const journal = (): Array<{ draft: { phase: string; action: string; outcome?: string } }> =>
  existsSync(journalFile())
    ? readFileSync(journalFile(), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line))
    : [];

function env(extra: Record<string, string> = {}): Record<string, string> {
  return responderEnv(
    { id: ec.id, apiToken: ec.apiToken, apiUrl: api.url },
    { url: rest.url, token: redis.connection.token },
    { CONTAINMENT_REPORT_SECRET: SECRET, CONTAINMENT_FASTLANE_PRIVATE_KEY: privateJwk, ...extra },
  );
}

const future = () => new Date(Date.now() + 3_600_000).toISOString();
const liveSwitch = () => ({
  id: "api-exports",
  version: 1,
  match: { path: "/api/:tenant/exports/**" },
  status: 503,
  reason: "drill",
  incident: "INC-D",
  by: "local-responder",
  at: new Date().toISOString(),
  expiresAt: future(),
});

interface Command {
  name: string;
  /** Puts in place what the command acts on (Redis must be up). */
  setup(): Promise<void> | void;
  args: string[];
  /** Its first line on stdout once the write landed. */
  written: RegExp;
  /** Whether the write is in place (Edge Config); undefined for a write to Redis. */
  landed?: () => boolean;
  /** Takes --wait (the commands that change what the edge enforces). */
  waits: boolean;
}

const COMMANDS: Command[] = [
  {
    name: "kill",
    setup: () => void ec.deleteItem(KEY),
    args: ["kill", "/api/:tenant/exports/**", "--reason", "drill", "--incident", "INC-D", "--yes"],
    written: /^created containment_kill_api-exports \(version 1\) in Edge Config/,
    landed: () => ec.items()[KEY] !== undefined,
    waits: true,
  },
  {
    name: "lift",
    setup: () => ec.setItem(KEY, liveSwitch()),
    args: ["lift", "api-exports", "--reason", "drill", "--yes"],
    written: /^lifted containment_kill_api-exports \(deleted from Edge Config\)/,
    landed: () => ec.items()[KEY] === undefined,
    waits: true,
  },
  {
    name: "extend",
    setup: () => ec.setItem(KEY, liveSwitch()),
    args: ["extend", "api-exports", "--for", "1h", "--reason", "drill", "--yes"],
    written: /^extended containment_kill_api-exports until \S+ \(version 2\) in Edge Config/,
    landed: () => (ec.items()[KEY] as { version?: number } | undefined)?.version === 2,
    waits: true,
  },
  {
    name: "rules push",
    setup: () => ec.setItem("containment", EMPTY_RULES),
    args: ["rules", "push", "pushed.json", "--reason", "drill", "--yes"],
    written: /^pushed pushed\.json to Edge Config: ruleset digest \S+/,
    landed: () => (ec.items().containment as typeof PUSHED_RULES).rules[0]?.id === "freeze",
    waits: true,
  },
  {
    name: "quarantine release",
    setup: async () => void (await redis.io.set(QUARANTINE, JSON.stringify({ rule: "r" }), "EX", 600)),
    args: ["quarantine", "release", "ip:0a1b2c3d4e5f6789", "--reason", "drill", "--yes"],
    written: /^released quarantine ip:0a1b2c3d4e5f6789 \(deleted from Redis\)/,
    waits: false,
  },
];

/** Redis up and empty, Edge Config up with the rules and nothing else, no journal, no gate hooks. */
async function fresh(): Promise<void> {
  api.set({});
  rest.set({});
  ec.setDown(false);
  if (!redis.server.running) await redis.server.start();
  const client = restRedis({ url: rest.url, token: redis.connection.token });
  await until(
    async () => (await client.ping().catch(() => "")) === "PONG" && (await redis.io.ping()) === "PONG",
    10_000,
    "Redis back behind the bridge",
  );
  await redis.io.flushall();
  rmSync(journalFile(), { force: true });
  ec.setItem("containment", EMPTY_RULES);
  for (const key of Object.keys(ec.items()))
    if (key.startsWith("containment_kill_") || key === "containment_audit_head") ec.deleteItem(key);
}

/** What no line of any run may carry: Lua source, a raw Redis error, a stack frame, a secret. */
function expectClean(result: CliResult): void {
  for (const line of `${result.stdout}\n${result.stderr}`.split("\n")) {
    expect(line).not.toMatch(/redis\.call|\bERR |command was|EVALSHA|^\s+at \S/);
    for (const secret of secrets) expect(line).not.toContain(secret);
  }
}

const firstLine = (text: string) => text.split("\n")[0] ?? "";

async function run(command: Command, extra: string[] = [], extraEnv: Record<string, string> = {}) {
  const result = await runCli([...command.args, ...extra], { env: env(extraEnv), cwd });
  expectClean(result);
  return result;
}

const waitFlags = (command: Command) => (command.waits ? ["--wait", "--timeout", "3"] : []);
/** "Redis is unreachable", with why when the client knows (connection refused, …). */
const UNREACHABLE = String.raw`Redis is unreachable(?: \([^)]*\))?`;
const AUDIT_JOURNALED = new RegExp(
  String.raw`AUDIT NOT IN REDIS: the (intent|result) entry went to the journal \S+ \(${UNREACHABLE}\); run ` +
    "`containment audit sync`",
);
const CANNOT_CONFIRM = new RegExp(
  String.raw`^not confirmed: cannot read the isolates' reports \(${UNREACHABLE}\); the change stays written`,
  "m",
);

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-deps-"));
  writeFileSync(join(cwd, "pushed.json"), JSON.stringify(PUSHED_RULES));
  const keys = await generateFastLaneKeys();
  privateJwk = JSON.stringify(keys.privateJwk);
  ec = await startEdgeConfigServer({
    items: { containment: EMPTY_RULES, containment_fastlane_key: keys.publicJwk as never },
  });
  redis = await startRedisFixture();
  api = await startHttpGate(ec.apiUrl);
  rest = await startHttpGate(redis.connection.url);
  secrets = [redis.connection.token, ec.apiToken, ec.readToken, SECRET, String(keys.privateJwk.d)];
}, 60_000);

afterAll(async () => {
  await api?.close();
  await rest?.close();
  await redis?.close();
  await ec?.close();
});

describe("a dependency failing mid-command", { timeout: 240_000 }, () => {
  it("Edge Config down before the write: nothing written, one line saying so, exit 4 (the quarantine, in Redis, is released)", async () => {
    for (const command of COMMANDS) {
      await fresh();
      await command.setup();
      const items = JSON.stringify(ec.items());
      ec.setDown(true);
      const result = await run(command);
      ec.setDown(false);
      if (command.landed === undefined) {
        // A quarantine lives in Redis: released, but the audit anchor in Edge Config could not move.
        expect(result.code, result.stderr).toBe(11);
        expect(firstLine(result.stdout)).toMatch(command.written);
        expect(result.stderr).toMatch(
          /warning: the audit anchor was not moved \(the Vercel API answered 503\)/,
        );
        expect(await redis.io.exists(QUARANTINE)).toBe(0);
        continue;
      }
      expect(result.code, `${command.name}: ${result.stderr}`).toBe(4);
      expect(result.stdout, command.name).toBe("");
      expect(result.stderr.trim().split("\n").pop(), command.name).toMatch(
        /^edge-containment: the Vercel API failed \(503 service_unavailable: .*\): nothing was changed/,
      );
      expect(JSON.stringify(ec.items()), command.name).toBe(items);
    }
  });

  it("Edge Config answering 500 to the write itself: nothing written, exit 4; with --json `written: false`", async () => {
    for (const command of COMMANDS.filter((c) => c.landed !== undefined)) {
      await fresh();
      await command.setup();
      const items = JSON.stringify(ec.items());
      api.set({
        answer: (request) =>
          request.method === "PATCH"
            ? { status: 500, body: { error: { code: "internal_server_error", message: "boom" } } }
            : undefined,
      });
      const human = await run(command);
      expect(human.code, `${command.name}: ${human.stderr}`).toBe(4);
      expect(human.stdout, command.name).toBe("");
      expect(human.stderr, command.name).toMatch(
        /^edge-containment: the Vercel API failed \(500 internal_server_error: boom\): nothing was changed/m,
      );
      expect(JSON.stringify(ec.items()), command.name).toBe(items);
      const json = await run(command, ["--json"]);
      expect(json.code, command.name).toBe(4);
      expect(json.json, command.name).toMatchObject({
        ok: false,
        written: false,
        error: { code: "ERR_UNAVAILABLE", message: expect.stringMatching(/nothing was changed/) },
      });
    }
  });

  it("Redis down before the write: the switches are written all the same, audit journaled, --wait cannot confirm (exit 10); a quarantine is not released (exit 4)", async () => {
    for (const command of COMMANDS) {
      await fresh();
      await command.setup();
      await redis.server.stop();
      const result = await run(command, waitFlags(command));
      if (command.landed === undefined) {
        expect(result.code, result.stderr).toBe(4);
        expect(result.stdout).toBe("");
        expect(result.stderr.trim()).toBe(
          "edge-containment: Redis is unreachable (unavailable behind its REST endpoint): cannot read quarantine ip:0a1b2c3d4e5f6789; nothing was changed",
        );
        expect(journal()).toEqual([]);
        continue;
      }
      expect(result.code, `${command.name}: ${result.stderr}`).toBe(10);
      expect(firstLine(result.stdout), command.name).toMatch(command.written);
      expect(firstLine(result.stdout), command.name).toMatch(/AUDIT JOURNALED locally/);
      expect(command.landed(), command.name).toBe(true);
      expect(result.stderr, command.name).toMatch(AUDIT_JOURNALED);
      expect(result.stderr, command.name).toMatch(CANNOT_CONFIRM);
      expect(
        journal().map((j) => `${j.draft.phase}:${j.draft.outcome ?? ""}`),
        command.name,
      ).toEqual(["intent:", "result:ok"]);
    }
  });

  it("Redis down before a kill: without --wait exit 9; --wait gives up on Redis after 5 s, not at --timeout; a closed Upstash port is the same", async () => {
    const [kill] = COMMANDS as [Command];
    await fresh();
    await redis.server.stop();
    const noWait = await run(kill);
    expect(noWait.code, noWait.stderr).toBe(9);
    expect(firstLine(noWait.stdout)).toMatch(kill.written);

    await fresh();
    await redis.server.stop();
    const started = Date.now();
    const long = await run(kill, ["--wait", "--timeout", "120"]);
    expect(long.code, long.stderr).toBe(10);
    expect(Date.now() - started).toBeLessThan(90_000);
    expect(long.stderr).toMatch(CANNOT_CONFIRM);

    await fresh();
    const closed = await run(kill, ["--wait", "--timeout", "3", "--json"], {
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${await freePort()}`,
    });
    expect(closed.code, closed.stderr).toBe(10);
    expect(closed.stdout.trim().split("\n")).toHaveLength(1);
    expect(closed.json).toMatchObject({
      ok: true,
      written: true,
      outcome: "journaledUnconfirmed",
      action: "kill",
      audit: { journaled: true },
      wait: { ok: false, reason: "redis-unavailable", redis: "is unreachable (connection refused)" },
      warnings: expect.arrayContaining([
        expect.stringMatching(AUDIT_JOURNALED),
        expect.stringMatching(CANNOT_CONFIRM),
      ]),
    });
    expect(kill.landed?.()).toBe(true);
  });

  it("Redis dying the moment the write was accepted: written, the result entry journaled, --wait cannot confirm (exit 10); a quarantine release exits 9", async () => {
    for (const command of COMMANDS) {
      await fresh();
      await command.setup();
      let stopped = false;
      const stop = async () => {
        stopped = true;
        await redis.server.stop();
      };
      if (command.landed === undefined)
        rest.set({
          after: (request, status) => (status === 200 && /"del"/i.test(request.body) ? stop() : undefined),
        });
      else
        api.set({
          after: (request, status) => (request.method === "PATCH" && status === 200 ? stop() : undefined),
        });
      const result = await run(command, waitFlags(command));
      expect(stopped, command.name).toBe(true);
      expect(firstLine(result.stdout), command.name).toMatch(command.written);
      expect(firstLine(result.stdout), command.name).toMatch(/AUDIT JOURNALED locally/);
      expect(result.stderr, command.name).toMatch(
        new RegExp(
          String.raw`AUDIT NOT IN REDIS: the result entry went to the journal \S+ \(${UNREACHABLE}\)`,
        ),
      );
      expect(result.stderr, command.name).not.toMatch(/the intent entry/);
      expect(journal().map((j) => `${j.draft.phase}:${j.draft.outcome ?? ""}`)).toEqual(["result:ok"]);
      if (command.landed === undefined) {
        expect(result.code, result.stderr).toBe(9);
        continue;
      }
      expect(result.code, `${command.name}: ${result.stderr}`).toBe(10);
      expect(command.landed(), command.name).toBe(true);
      expect(result.stderr, command.name).toMatch(CANNOT_CONFIRM);
      if (command.name === "kill" || command.name === "extend")
        expect(result.stderr).toMatch(
          new RegExp(String.raw`warning: not published to the fast lane \(${UNREACHABLE}\)`),
        );
      if (command.name === "lift")
        expect(result.stderr).toMatch(
          new RegExp(String.raw`warning: not withdrawn from the fast lane \(${UNREACHABLE}\)`),
        );
    }
  });

  it("a webhook nobody listens on: written, one warning, exit 11", async () => {
    const port = await freePort();
    for (const command of COMMANDS) {
      await fresh();
      await command.setup();
      const result = await run(command, ["--webhook", `http://127.0.0.1:${port}/hooks/secret-path`]);
      expect(result.code, `${command.name}: ${result.stderr}`).toBe(11);
      expect(firstLine(result.stdout), command.name).toMatch(command.written);
      expect(firstLine(result.stdout), command.name).toMatch(/; audit(ed| #1–#2)/);
      expect(
        result.stderr
          .trim()
          .split("\n")
          .filter((line) => /webhook/.test(line)),
      ).toEqual([`warning: webhook http://127.0.0.1:${port} unreachable (the change itself stands)`]);
      expect(result.stderr).not.toContain("secret-path");
      if (command.landed) expect(command.landed(), command.name).toBe(true);
      else expect(await redis.io.exists(QUARANTINE)).toBe(0);
    }
  });
});

describe("the rest of the family", { timeout: 240_000 }, () => {
  it("lift --incident with Edge Config going down after the first lift: says what was lifted first, names the one that was not, exit 11", async () => {
    await fresh();
    ec.setItem("containment_kill_a", { ...liveSwitch(), id: "a", incident: "INC-L" });
    ec.setItem("containment_kill_b", { ...liveSwitch(), id: "b", incident: "INC-L" });
    api.set({
      after: (request, status) => {
        if (request.method === "PATCH" && status === 200) ec.setDown(true);
      },
    });
    const result = await runCli(["lift", "--incident", "INC-L", "--reason", "drill", "--yes"], {
      env: env(),
      cwd,
    });
    ec.setDown(false);
    expectClean(result);
    expect(result.code, result.stderr).toBe(11);
    expect(result.stdout.trim().split("\n")).toEqual([
      "lifted containment_kill_a (deleted from Edge Config); audit #1–#2",
      // What still blocks the route cannot be told with Edge Config down: it says so, not "nothing".
      "/api/:tenant/exports/**: could not read Edge Config again to say what else blocks it",
    ]);
    expect(result.stderr).toMatch(
      /^warning: b was NOT lifted \(the Vercel API answered 503\); `containment list` shows what is live$/m,
    );
    expect(Object.keys(ec.items()).filter((key) => key.startsWith("containment_kill_"))).toEqual([
      "containment_kill_b",
    ]);
  });

  it("a fast-lane publish Redis refuses: the kill stands, one warning, exit 11", async () => {
    await fresh();
    await redis.io.set("containment:fastlane", "not a hash");
    const [kill] = COMMANDS as [Command];
    const result = await run(kill, ["--json"]);
    expect(result.code, result.stderr).toBe(11);
    expect(result.json).toMatchObject({
      ok: true,
      written: true,
      outcome: "incomplete",
      fastLane: "failed",
      warnings: [
        expect.stringMatching(
          /^warning: not published to the fast lane \(Redis refused [A-Z]+ \(WRONGTYPE\)\); Edge Config propagation still applies it \(up to 10 s\)$/,
        ),
      ],
    });
    expect(kill.landed?.()).toBe(true);
  });

  it("incident open with Redis down: nothing was changed, exit 4", async () => {
    await fresh();
    await redis.server.stop();
    const result = await runCli(["incident", "open", "INC-R", "--title", "drill"], { env: env(), cwd });
    expectClean(result);
    expect(result.code, result.stderr).toBe(4);
    expect(result.stdout).toBe("");
    expect(result.stderr.trim().split("\n").pop()).toMatch(
      /^edge-containment: cannot reach Redis at http:\/\/127\.0\.0\.1:\d+ \(unavailable behind its REST endpoint\): check UPSTASH_REDIS_REST_URL and that the server is up: nothing was changed$/,
    );
  });

  it("incident close with Redis dying once the close is recorded: says it closed, the result journaled, the bundle not written, exit 9", async () => {
    await fresh();
    const open = await runCli(["incident", "open", "INC-C", "--title", "drill"], { env: env(), cwd });
    expect(open.code, open.stderr).toBe(0);
    expect(firstLine(open.stdout)).toBe("opened INC-C: drill (recorded in Redis); audited");
    let stopped = false;
    rest.set({
      after: async (request, status) => {
        if (status === 200 && /"hset"/i.test(request.body) && request.body.includes('"closed"')) {
          stopped = true;
          await redis.server.stop();
        }
      },
    });
    const result = await runCli(["incident", "close", "INC-C"], { env: env(), cwd });
    expectClean(result);
    expect(stopped).toBe(true);
    expect(result.code, result.stderr).toBe(9);
    expect(firstLine(result.stdout)).toMatch(
      /^closed INC-C at \S+ \(recorded in Redis\); AUDIT JOURNALED locally \(Redis unreachable\)/,
    );
    expect(result.stderr).toMatch(
      new RegExp(String.raw`^warning: the evidence bundle was not written \(${UNREACHABLE}\)`, "m"),
    );
    expect(journal().map((j) => `${j.draft.action}:${j.draft.phase}:${j.draft.outcome ?? ""}`)).toEqual([
      "incident-close:result:ok",
    ]);
  });
});
