/**
 * Hostile text end to end: a request whose path carries markup through the real firewall to a real
 * redis-server, switches, incidents, quarantines and audit entries whose text carries markup and
 * terminal control sequences, then the responder's commands spawned for real. The mirror keeps the
 * path with its markup percent-encoded; `containment report` escapes every value for Markdown; no
 * command lets a control character reach the terminal.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EdgeConfigServer, startEdgeConfigServer } from "../../src/dev/edge-config-server.js";
import type { Report } from "../../src/ops/report/model.js";
import { type RedisFixture, startRedisFixture, until } from "../integration/redis-fixture.js";
import { responderEnv, runCli } from "../support/cli.js";
import { type Harness, startHarness } from "../support/harness.js";

const PREFIX = "hostile:";
const ESC_TEXT = "\u001b[2J\u001b]8;;https://evil.example\u0007click\u001b]8;;\u0007\u009b31m\u202eevil";
const TITLE = `Leak <img src=x onerror=alert(1)> ![x](https://evil.example/t.png) | ${ESC_TEXT}`;
const ACTOR = `mallory\u001b[1A\u001b[2Kalice <b>`;
/** As sent: the URL parser encodes `<`, `>`, space, `"` and the backtick; `|`, `!`, `[`, `'` arrive as they are. */
const HOSTILE_PATH = "/api/<img src=x onerror=alert(1)>/a|b|c/![i](https:%2F%2Fevil.example%2Fp.png)/`t`/'q'";
/** What the mirror keeps of it: the markup percent-encoded, `/` inside a segment too. */
const KEPT_PATH =
  "/api/%3Cimg%20src=x%20onerror=alert(1)%3E/a%7Cb%7Cc/![i](https:%2F%2Fevil.example%2Fp.png)/%60t%60/%27q%27";
// biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach a terminal
const DISPLAY_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

let ec: EdgeConfigServer;
let redis: RedisFixture;
let edge: Harness;
let cwd: string;

const env = (extra: Record<string, string> = {}) =>
  responderEnv(ec, redis.connection, { CONTAINMENT_REDIS_PREFIX: PREFIX, ...extra });
const cli = (args: string[], extra?: Record<string, string>) => runCli(args, { env: env(extra), cwd });

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "containment-hostile-"));
  ec = await startEdgeConfigServer({ items: { containment: { version: 1, rules: [] } } });
  redis = await startRedisFixture();
  edge = await startHarness("node", {
    edgeConfig: ec.connectionString,
    redis: redis.connection,
    options: { refreshMs: 0, redisPrefix: PREFIX },
  });
}, 60_000);
afterAll(async () => {
  await edge?.close();
  await redis?.close();
  await ec?.close();
});

/** The route-shape fields (`host|shape|method|tenant|outcome`) the edge wrote so far. */
async function shapeFields(): Promise<string[]> {
  const keys = await redis.io.keys(`${PREFIX}shapes:*`);
  const fields = await Promise.all(keys.map((key) => redis.io.hkeys(key)));
  return fields.flat();
}

describe("hostile text from requests and stores, through the firewall, Redis and the CLI", {
  timeout: 180_000,
}, () => {
  it("keeps a hostile path's markup out of the mirror, out of the report's markup, and controls out of every command's output", async () => {
    const discovered = new Date(Date.now() - 60_000).toISOString();
    const open = await cli([
      "incident",
      "open",
      "INC-66",
      "--title",
      TITLE,
      "--discovered",
      discovered,
      "--json",
    ]);
    expect(open.code).toBe(0);

    // Before containment: the request passes (no rule yet) and the mirror counts it by its path.
    expect((await edge.fetch(HOSTILE_PATH)).status).toBe(200);
    await until(
      async () => (await shapeFields()).some((field) => field.startsWith("*|/api/")),
      30_000,
      "the route shapes",
    );
    const field = (await shapeFields()).find((f) => f.startsWith("*|/api/")) as string;
    expect(field.split("|")).toEqual(["*", KEPT_PATH, "GET", "~undeclared", "allow"]);
    expect(field).not.toMatch(/[<>"'`\\]/);

    // Containment, by an actor whose name carries markup and control sequences.
    const kill = await cli(
      ["kill", "/api/**", "--id", "api", "--reason", `stop ${ESC_TEXT}`, "--incident", "INC-66", "--yes"],
      { CONTAINMENT_ACTOR: ACTOR },
    );
    expect(kill.code).toBe(0);
    // A switch written with the Vercel token alone, and a quarantine written with Redis alone.
    ec.setItem("containment_kill_other", {
      match: { path: "/other/**" },
      reason: `<script>x</script> ${ESC_TEXT}`,
      by: ACTOR,
      incident: "INC-66",
    });
    await redis.io.set(
      `${PREFIX}quarantine:ip:evil\u001b[2J\u009b31m\u202egnp`,
      JSON.stringify({
        rule: `r${ESC_TEXT}`,
        scope: "all",
        dimension: "ip",
        at: Date.now(),
        until: Date.now() + 600_000,
      }),
      "PX",
      600_000,
    );

    const outputs = await Promise.all([
      cli(["report", "--incident", "INC-66"]),
      cli(["status"]),
      cli(["list"]),
      cli(["quarantine", "list"]),
      cli(["audit", "log"]),
      cli(["audit", "verify"]),
      cli(["incident", "list"]),
    ]);
    for (const run of outputs) {
      expect(run.stdout + run.stderr).not.toMatch(DISPLAY_CONTROL);
      expect(run.stderr).not.toMatch(/unexpected/);
    }
    const [report, status, list, quarantines, log] = outputs;
    expect(report.code).toBe(0);
    // Shown, as visible escapes: the data is there, it just does not act.
    expect(list.stdout).toContain("\\u001b[2J");
    expect(log.stdout).toContain("mallory\\u001b[1A");
    expect(quarantines.stdout).toContain("\\u001b");
    expect(status.code).toBe(0);

    // The report: every value escaped for Markdown.
    const md = report.stdout;
    const unescaped = md.replace(/\\[\s\S]/g, "");
    expect(unescaped).not.toMatch(/[<>`]|!\[|\]\(/);
    expect(md).toContain(
      "# Incident report INC-66: Leak \\<img src=x onerror=alert(1)\\> \\!\\[x\\](https://evil.example/t.png) \\| ",
    );
    // The hostile route is one cell of its table row, escaped.
    const row = md.split("\n").find((line) => line.includes("a%7Cb%7Cc"));
    expect(row).toBeDefined();
    expect(row).toContain("\\!\\[i\\](https:%2F%2Fevil.example%2Fp.png)");
    for (const table of md.split(/\n\n/).filter((block) => block.startsWith("| "))) {
      const pipes = table.split("\n").map((line) => line.replace(/\\[\s\S]/g, "").split("|").length);
      expect(new Set(pipes).size).toBe(1);
    }

    // JSON: the values exactly, the route as the mirror kept it.
    const json = await cli(["report", "--incident", "INC-66", "--format", "json"]);
    const parsed = JSON.parse(json.stdout) as Report;
    expect(parsed.incident.title).toBe(TITLE);
    expect(parsed.reachedBeforeContainment.rows.map((r) => r.route)).toContain(KEPT_PATH);
  });
});
