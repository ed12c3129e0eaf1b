/**
 * The scripted incident drill (`npm run drill`): `containment dev` on a real redis-server, the
 * `containment` CLI as a responder runs it (`--local`), scripted traffic, and the report at the end.
 * Everything the script sends and does goes into a ledger, so a test can check that every number
 * in the report equals what happened.
 *
 *   open incident (discovered 5 min ago) → exports from three tenants → `rules test` of the switch
 *   → `kill --wait` → the same exports again (blocked) → a tenant trips the reports rate limit and
 *   is quarantined → `quarantine release` → `lift --wait` → a few exports → `incident close` → report
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RedisServer, startRedisServer } from "../test/support/redis-server.js";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSX = join(ROOT, "node_modules", ".bin", "tsx");
const MAIN = join(ROOT, "src", "cli", "main.ts");

export const INCIDENT = "DRILL-1";
export const SWITCH = "exports";
export const TENANTS = ["acme", "globex", "initech"] as const;
/** Exports per tenant in each burst (initech exports with POST). */
export const EXPORTS: Readonly<Record<(typeof TENANTS)[number], number>> = { acme: 6, globex: 4, initech: 2 };
export const REPORTS_LIMIT = 3;
export const REPORTS_SENT = 5;

const DRILL_RULES = {
  version: 1,
  mode: "enforce",
  tenancy: { from: "path", param: "tenant", pattern: "/api/:tenant/**" },
  dataClasses: { "/api/:tenant/export": ["phi"], "/api/:tenant/items/**": ["pii"] },
  rules: [
    {
      id: "reports-limit",
      kind: "rate-limit",
      match: { path: "/api/:tenant/reports" },
      limit: REPORTS_LIMIT,
      window: "1h",
      algorithm: "fixed-window",
      by: ["tenant"],
      failMode: "closed",
      quarantine: { after: 1, for: "15m" },
      dataClasses: ["pii"],
    },
    {
      id: "phi-no-store",
      kind: "headers",
      match: { path: "/api/:tenant/export" },
      set: { "cache-control": "private, no-store" },
      dataClasses: ["phi"],
    },
  ],
};

/** The kill switch as a document rule, for `rules test` before it is pushed. */
const PROPOSED_RULES = {
  ...DRILL_RULES,
  rules: [
    ...DRILL_RULES.rules,
    { id: SWITCH, kind: "kill-switch", match: { path: "/api/:tenant/export" }, incident: INCIDENT },
  ],
};

export interface SentRequest {
  at: number;
  minute: number;
  phase: "warmup" | "background" | "before" | "during" | "after" | "quarantine";
  method: string;
  path: string;
  tenant: string;
  status: number;
}

export interface CliRun {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
  startedAt: number;
  endedAt: number;
}

export interface DrillLedger {
  discovered: number;
  sent: SentRequest[];
  runs: CliRun[];
  kill?: CliRun;
  lift?: CliRun;
  prediction?: Record<string, unknown>;
  quarantine?: { dimension: string; id: string };
}

export interface DrillResult {
  dir: string;
  ledger: DrillLedger;
  /** The report as JSON, and rendered. */
  report: Record<string, unknown>;
  markdown: string;
  html: string;
  evidenceDir: string;
  /** Runs the CLI in the drill's directory (for checks after the drill, e.g. tampering). */
  cli(args: string[]): Promise<CliRun>;
  redis: RedisServer;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function runCli(dir: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [MAIN, ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.once("error", reject);
    child.once("close", (code) =>
      resolve({ args, code: code ?? -1, stdout, stderr, startedAt, endedAt: Date.now() }),
    );
  });
}

async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`drill: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits (on the clock, not a guess) until at least `needMs` remain in the current minute, so one
 * burst's decisions all land in one `counts:<minute>` bucket and the ledger can say which.
 */
async function roomInMinute(needMs: number): Promise<void> {
  const into = Date.now() % 60_000;
  if (60_000 - into >= needMs) return;
  await until(() => Date.now() % 60_000 < 1_000, 65_000, "the next minute");
}

function startDev(dir: string, port: number, redisUrl: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(
    TSX,
    [MAIN, "dev", "--port", String(port), "--rules", "rules.json", "--redis", redisUrl],
    {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  child.once("exit", (code) => {
    if (code !== 0 && code !== null)
      process.stderr.write(`drill: containment dev exited ${code}\n${output}\n`);
  });
  return child;
}

function json(run: CliRun): Record<string, unknown> {
  try {
    return JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    // One JSON object on the last line, after progress lines.
  }
  const line = run.stdout.trim().split("\n").filter(Boolean).pop() ?? "{}";
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(
      `drill: \`containment ${run.args.join(" ")}\` printed no JSON:\n${run.stdout}\n${run.stderr}`,
    );
  }
}

function must(run: CliRun, codes: readonly number[] = [0]): CliRun {
  if (!codes.includes(run.code))
    throw new Error(
      `drill: \`containment ${run.args.join(" ")}\` exited ${run.code}:\n${run.stdout}\n${run.stderr}`,
    );
  return run;
}

export async function runDrill(options: { log?: (line: string) => void } = {}): Promise<DrillResult> {
  const log = options.log ?? (() => {});
  // Inside the package: workerd refuses module paths that climb out of its working directory.
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, ".tmp", "drill-"));
  const redis = await startRedisServer();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, CONTAINMENT_ACTOR: "drill-responder", NO_COLOR: "1" };
  delete env.UPSTASH_REDIS_REST_URL;
  delete env.UPSTASH_REDIS_REST_TOKEN;
  writeFileSync(join(dir, "rules.json"), `${JSON.stringify(DRILL_RULES, null, 2)}\n`);
  writeFileSync(join(dir, "proposed.json"), `${JSON.stringify(PROPOSED_RULES, null, 2)}\n`);
  writeFileSync(
    join(dir, "containment.json"),
    `${JSON.stringify({ incidentDefaults: { hipaaRole: "business-associate", gdprRole: "processor", dpaTerm: "24h", baaTerm: "10d" } }, null, 2)}\n`,
  );
  const dev = startDev(dir, port, redis.url, env);
  const base = `http://127.0.0.1:${port}`;
  const close = async () => {
    dev.kill("SIGTERM");
    await new Promise((resolve) => (dev.exitCode === null ? dev.once("exit", resolve) : resolve(undefined)));
    await redis.stop();
  };
  const ledger: DrillLedger = {
    discovered: Math.floor(Date.now() / 1000) * 1000 - 5 * 60_000,
    sent: [],
    runs: [],
  };
  const cli = async (args: string[]) => {
    const local = !(args[0] === "evidence" && args[1] === "verify");
    const run = await runCli(dir, local ? [...args, "--local"] : args, env);
    ledger.runs.push(run);
    log(`$ containment ${args.join(" ")} → exit ${run.code}`);
    return run;
  };
  try {
    await until(
      () => existsSync(join(dir, ".containment", "dev.json")),
      90_000,
      "containment dev to write .containment/dev.json",
    );
    // The one probe that reaches the firewall is a decision too: it goes into the ledger.
    await until(
      async () => {
        const at = Date.now();
        const response = await fetch(`${base}/api/acme/items/1`).catch(() => undefined);
        if (!response) return false;
        await response.arrayBuffer();
        ledger.sent.push({
          at,
          minute: Math.floor(at / 60_000),
          phase: "warmup",
          method: "GET",
          path: "/api/acme/items/1",
          tenant: "acme",
          status: response.status,
        });
        return true;
      },
      60_000,
      "the firewall",
    );
    await drillSteps(dir, base, ledger, cli, log);
    const report = json(must(await cli(["report", "--incident", INCIDENT, "--format", "json"]), [0]));
    must(await cli(["report", "--incident", INCIDENT, "--format", "md", "--out", "report.md"]));
    must(await cli(["report", "--incident", INCIDENT, "--format", "html", "--out", "report.html"]));
    return {
      dir,
      ledger,
      report,
      markdown: readFileSync(join(dir, "report.md"), "utf8"),
      html: readFileSync(join(dir, "report.html"), "utf8"),
      evidenceDir: join(dir, "evidence"),
      cli,
      redis,
      close: async () => {
        await close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

async function send(
  base: string,
  ledger: DrillLedger,
  phase: SentRequest["phase"],
  method: string,
  path: string,
  tenant: string,
) {
  const at = Date.now();
  const response = await fetch(base + path, {
    method,
    headers: method === "POST" ? { "content-type": "application/json" } : {},
  });
  await response.arrayBuffer();
  ledger.sent.push({
    at,
    minute: Math.floor(at / 60_000),
    phase,
    method,
    path,
    tenant,
    status: response.status,
  });
}

/**
 * Runs `task` (a `--wait`) while ordinary traffic keeps flowing, as it does in an incident: an
 * isolate reports the switches it enforces with its mirror flushes, so `--wait` needs requests.
 * Requests are kept clear of minute boundaries so the ledger knows each one's minute.
 */
async function whileTrafficFlows<T>(base: string, ledger: DrillLedger, task: () => Promise<T>): Promise<T> {
  let running = true;
  let n = 0;
  const loop = (async () => {
    while (running) {
      if (Date.now() % 60_000 > 59_000)
        await until(() => Date.now() % 60_000 < 1_000, 5_000, "the next minute");
      await send(base, ledger, "background", "GET", `/api/acme/items/${2000 + n++}`, "acme");
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  try {
    return await task();
  } finally {
    running = false;
    await loop;
  }
}

async function exportsBurst(base: string, ledger: DrillLedger, phase: SentRequest["phase"]) {
  await roomInMinute(8_000);
  for (const tenant of TENANTS)
    for (let i = 0; i < EXPORTS[tenant]; i++)
      await send(base, ledger, phase, tenant === "initech" ? "POST" : "GET", `/api/${tenant}/export`, tenant);
  for (let i = 0; i < 5; i++) await send(base, ledger, phase, "GET", `/api/acme/items/${1000 + i}`, "acme");
}

async function drillSteps(
  dir: string,
  base: string,
  ledger: DrillLedger,
  cli: (args: string[]) => Promise<CliRun>,
  log: (line: string) => void,
): Promise<void> {
  const discovered = new Date(ledger.discovered).toISOString();
  must(
    await cli([
      "incident",
      "open",
      INCIDENT,
      "--title",
      "Patient exports leaving through the export API",
      "--discovered",
      discovered,
      "--data",
      "phi",
      "--json",
    ]),
  );
  await exportsBurst(base, ledger, "before");
  // The mirror flushes within a second or two; the prediction reads what it recorded.
  await until(() => mirrored(dir, ledger), 30_000, "the mirror to record the first burst");
  ledger.prediction = json(must(await cli(["rules", "test", "proposed.json", "--since", "10m", "--json"])));
  ledger.kill = must(
    await whileTrafficFlows(base, ledger, () =>
      cli([
        "kill",
        "/api/:tenant/export",
        "--id",
        SWITCH,
        "--reason",
        "drill: exports leaking",
        "--incident",
        INCIDENT,
        "--wait",
        "--timeout",
        "60",
        "--yes",
        "--json",
      ]),
    ),
    [0, 5],
  );
  await exportsBurst(base, ledger, "during");
  await roomInMinute(5_000);
  for (let i = 0; i < REPORTS_SENT; i++)
    await send(base, ledger, "quarantine", "GET", "/api/initech/reports", "initech");
  const listed = json(must(await cli(["quarantine", "list", "--json"])));
  const first = (
    listed.quarantines as Array<{ dimension: string; id: string; rule?: string }> | undefined
  )?.[0];
  if (!first) throw new Error("drill: the reports rate limit quarantined nobody");
  ledger.quarantine = { dimension: first.dimension, id: first.id };
  const target = `${first.dimension}:${first.id}${first.rule ? `:${first.rule}` : ""}`;
  must(
    await cli([
      "quarantine",
      "release",
      target,
      "--reason",
      "drill: false positive",
      "--incident",
      INCIDENT,
      "--yes",
      "--json",
    ]),
  );
  ledger.lift = must(
    await whileTrafficFlows(base, ledger, () =>
      cli(["lift", SWITCH, "--reason", "drill: fixed", "--wait", "--timeout", "60", "--yes", "--json"]),
    ),
    [0, 5],
  );
  // Aggregates are per minute: traffic after the lift goes in a later minute than the containment,
  // or the report could not tell it from the traffic that reached the route before the switch.
  const liftMinute = Math.floor(Date.now() / 60_000);
  await until(() => Math.floor(Date.now() / 60_000) > liftMinute, 65_000, "the minute after the lift");
  for (let i = 0; i < 2; i++) await send(base, ledger, "after", "GET", "/api/acme/export", "acme");
  await until(() => mirrored(dir, ledger), 30_000, "the mirror to record every request");
  must(await cli(["incident", "close", INCIDENT, "--out", "evidence", "--json"]));
  log(`drill: sent ${ledger.sent.length} requests`);
}

/** Every request the script sent is in `counts` (the mirror is exact: counted once or dropped). */
async function mirrored(dir: string, ledger: DrillLedger): Promise<boolean> {
  const devFile = JSON.parse(readFileSync(join(dir, ".containment", "dev.json"), "utf8")) as {
    redis?: { url: string; token: string };
    prefix?: string;
  };
  if (!devFile.redis) throw new Error("drill: containment dev recorded no Redis");
  const prefix = devFile.prefix ?? "containment:";
  const minutes = [...new Set(ledger.sent.map((s) => s.minute))];
  let total = 0;
  for (const minute of minutes) {
    const response = await fetch(devFile.redis.url, {
      method: "POST",
      headers: { authorization: `Bearer ${devFile.redis.token}`, "content-type": "application/json" },
      body: JSON.stringify(["HVALS", `${prefix}counts:${minute}`]),
    });
    const body = (await response.json()) as { result?: string[] };
    for (const n of body.result ?? []) total += Number(n);
  }
  return total >= ledger.sent.length;
}
