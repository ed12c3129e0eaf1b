/**
 * The scripted incident drill (`npm run drill`): `containment dev` on a real redis-server, the
 * `containment` CLI as a responder runs it (`--local`), scripted traffic, and the report at the end.
 * Everything the script sends and does goes into a ledger, so a test can check that every number
 * in the report equals what happened.
 *
 *   open incident (discovered 5 min ago) → exports from three tenants → `rules test` of the switch
 *   → `kill --wait` → the same exports again (blocked) → a tenant trips the reports rate limit and
 *   is quarantined → `quarantine release` → a second incident's kill on another route for one
 *   tenant, and its lift → `lift --wait` → a few exports → `incident close` → report
 *
 * The incident is drawn from the scope relations a report must get right whatever rules overlap
 * (docs/recorded-format.md): the first kill is NARROWER than the headers rule that matched the same
 * requests before it (`/api/:tenant/export` under `/api/:tenant/**`) and EQUAL to its data-class
 * route; the second incident's kill, for one tenant, is EQUAL to the headers rule and BROADER than
 * its own data-class route (`/api/:tenant/items/**`).
 * `expectedOf` computes, from the requests the script sent and the answers it got, what each
 * report must say; `npm run drill` prints both and fails when they differ.
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
  // Declared: the mirror names only these tenants, any other is ~undeclared (docs/recorded-format.md).
  tenants: {
    acme: { origins: ["https://acme.example.com"] },
    globex: { origins: ["https://globex.example.com"] },
    initech: { origins: ["https://initech.example.com"] },
  },
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
      // Broader than the kill switch: before format 2 the mirror counted the exports under this
      // rule's pattern, and the report read 0 admitted in the narrower switch's scope.
      id: "api-no-store",
      kind: "headers",
      match: { path: "/api/:tenant/**" },
      set: { "cache-control": "private, no-store" },
    },
  ],
};

export const SECOND_INCIDENT = "DRILL-2";
export const SECOND_SWITCH = "api-globex";
/** The second incident's switch: one tenant, equal to the headers rule, broader than `/api/:tenant/items/**`. */
export const SECOND_SCOPE = { path: "/api/:tenant/**", tenants: ["globex"] };
/** globex item reads before the second kill (admitted) and while it is in force (blocked). */
export const SECOND_BEFORE = 3;
export const SECOND_DURING = 2;

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
  phase:
    | "warmup"
    | "background"
    | "before"
    | "during"
    | "after"
    | "quarantine"
    | "second-before"
    | "second-during";
  method: string;
  path: string;
  tenant: string;
  status: number;
  /** The firewall answered itself (kill switch, rate limit, quarantine): the origin never saw it. */
  refused: boolean;
}

/** The firewall's own refusals carry the rule that refused; the demo origin's 404s do not. */
async function refusedBy(response: Response): Promise<boolean> {
  const text = await response.text();
  return response.status >= 400 && /"rule":/.test(text);
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
  /** The second incident's report, as JSON. */
  secondReport: Record<string, unknown>;
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
    // Stopped by the drill itself (SIGTERM: tsx answers 143): not a failure worth its output.
    if (code !== 0 && code !== null && code !== 143)
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
        const refused = await refusedBy(response);
        ledger.sent.push({
          refused,
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
    const secondReport = json(
      must(await cli(["report", "--incident", SECOND_INCIDENT, "--format", "json"]), [0]),
    );
    must(await cli(["report", "--incident", INCIDENT, "--format", "md", "--out", "report.md"]));
    must(await cli(["report", "--incident", INCIDENT, "--format", "html", "--out", "report.html"]));
    return {
      dir,
      ledger,
      report,
      secondReport,
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
  const refused = await refusedBy(response);
  ledger.sent.push({
    refused,
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
  await secondIncident(base, ledger, cli);
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

/** Another incident's kill on another route, for one tenant, written and lifted while the first holds. */
async function secondIncident(
  base: string,
  ledger: DrillLedger,
  cli: (args: string[]) => Promise<CliRun>,
): Promise<void> {
  const discovered = new Date(Date.now() - 60_000).toISOString();
  must(
    await cli([
      "incident",
      "open",
      SECOND_INCIDENT,
      "--title",
      "One tenant's item listings scraped",
      "--discovered",
      discovered,
      "--data",
      "pii",
      "--json",
    ]),
  );
  await roomInMinute(5_000);
  for (let i = 0; i < SECOND_BEFORE; i++)
    await send(base, ledger, "second-before", "GET", `/api/globex/items/${3000 + i}/detail`, "globex");
  must(
    await cli([
      "kill",
      SECOND_SCOPE.path,
      "--id",
      SECOND_SWITCH,
      ...SECOND_SCOPE.tenants.flatMap((tenant) => ["--tenant", tenant]),
      "--reason",
      "drill: item listings scraped",
      "--incident",
      SECOND_INCIDENT,
      "--yes",
      "--json",
    ]),
  );
  // No --wait here: the switch is in force once the isolate sees it, which the answers show.
  await until(
    async () => {
      await send(base, ledger, "second-during", "GET", "/api/globex/items/3999/detail", "globex");
      return ledger.sent[ledger.sent.length - 1]?.status === 503;
    },
    30_000,
    "the second switch to be enforced",
  );
  for (let i = 1; i < SECOND_DURING; i++)
    await send(base, ledger, "second-during", "GET", `/api/globex/items/${4000 + i}/detail`, "globex");
  must(
    await cli([
      "lift",
      "--incident",
      SECOND_INCIDENT,
      "--reason",
      "drill: scraper blocked upstream",
      "--yes",
      "--json",
    ]),
  );
  // Lifted: the next minute's traffic is after it, as for the first incident.
  const liftMinute = Math.floor(Date.now() / 60_000);
  await until(() => Math.floor(Date.now() / 60_000) > liftMinute, 65_000, "the minute after the second lift");
  await send(base, ledger, "background", "GET", "/api/acme/items/5000", "acme");
  must(await cli(["incident", "close", SECOND_INCIDENT, "--json"]));
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

/** One number of a report beside what the drill's clients were served. */
export interface DrillCheck {
  incident: string;
  what: string;
  report: string;
  served: string;
  ok: boolean;
}

interface ReportView {
  window: { since: string; until: string };
  containment: {
    flips: Array<{
      switchId: string;
      action: string;
      writtenAtMs: number;
      confirmations: Array<{ at: string }>;
    }>;
  };
  reachedBeforeContainment: { total: number; upper?: number };
  affected: { tenants: Array<{ name: string; admitted: number; uncertain?: number }> };
}

/**
 * The drill's own reading of each incident's scope (regular expressions over the paths it sent,
 * independent of the code that builds the report): its switch, and its data classes' routes.
 */
const DRILL_SCOPES: Record<string, { switchId: string; inSwitch: RegExp; inClasses: RegExp }> = {
  [INCIDENT]: { switchId: SWITCH, inSwitch: /^\/api\/[^/]+\/export$/, inClasses: /^\/api\/[^/]+\/export$/ },
  [SECOND_INCIDENT]: {
    switchId: SECOND_SWITCH,
    inSwitch: /^\/api\/globex\//,
    inClasses: /^\/api\/[^/]+\/(items(\/|$)|reports$)/,
  },
};

/**
 * What a report must say, from the requests the drill sent and the answers its clients got:
 * admitted requests in the switch's scope through the minute it took effect ("reached before
 * containment"), and admitted requests per tenant on the switch's or the incident's data-class
 * routes in the window ("affected tenants"). Minutes are the aggregates' unit, as in the report.
 */
export function drillChecks(
  incident: string,
  raw: Record<string, unknown>,
  ledger: DrillLedger,
): DrillCheck[] {
  const report = raw as unknown as ReportView;
  const scope = DRILL_SCOPES[incident];
  if (!scope) throw new Error(`drill: no scope for ${incident}`);
  const since = Date.parse(report.window.since);
  // The report reads the incident's copies, made when it closed: a request in that last minute but
  // after the close is not in them. The report gives the close to the second, and the drill may send
  // a request in the same second just before closing, so the close command's own run bounds the
  // window to the millisecond (nothing is sent while it runs).
  const closeRun = ledger.runs.find(
    (r) => r.args[0] === "incident" && r.args[1] === "close" && r.args[2] === incident,
  );
  const until = closeRun ? closeRun.startedAt : Date.parse(report.window.until);
  const inWindow = (s: SentRequest) => s.minute * 60_000 + 60_000 > since && s.at < until;
  const admitted = (s: SentRequest) => !s.refused;
  const kill = report.containment.flips.find((f) => f.switchId === scope.switchId && f.action === "kill");
  const effective = kill
    ? Math.max(kill.writtenAtMs, ...kill.confirmations.map((c) => Date.parse(c.at)))
    : Number.NEGATIVE_INFINITY;
  const reached = ledger.sent.filter(
    (s) =>
      inWindow(s) && admitted(s) && scope.inSwitch.test(s.path) && s.minute <= Math.floor(effective / 60_000),
  ).length;
  const r = report.reachedBeforeContainment;
  const reachedText =
    r.upper !== undefined && r.upper !== r.total ? `${r.total}–${r.upper}` : String(r.total);
  const checks: DrillCheck[] = [
    {
      incident,
      what: "reached before containment",
      report: reachedText,
      served: String(reached),
      ok: reachedText === String(reached),
    },
  ];
  const served = new Map<string, number>();
  for (const s of ledger.sent)
    if (inWindow(s) && admitted(s) && (scope.inSwitch.test(s.path) || scope.inClasses.test(s.path)))
      served.set(s.tenant, (served.get(s.tenant) ?? 0) + 1);
  const listed = new Map(report.affected.tenants.map((t) => [t.name, t]));
  for (const tenant of new Set([...served.keys(), ...listed.keys()])) {
    const row = listed.get(tenant);
    const text = row ? `${row.admitted}${row.uncertain ? ` (+${row.uncertain} uncertain)` : ""}` : "absent";
    const want = String(served.get(tenant) ?? 0);
    checks.push({
      incident,
      what: `affected tenant ${tenant}: admitted`,
      report: text,
      served: want,
      ok: (row ? `${row.admitted}` : "0") === want && !row?.uncertain,
    });
  }
  return checks;
}
