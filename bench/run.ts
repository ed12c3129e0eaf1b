/**
 * `npm run bench`: runs every measurement (or those named by `--only a,b`), each in its own
 * Node process, prints one human line and one JSON line per measurement, and writes BENCHMARKS.md.
 *
 *   npm run bench                      all, ~4 minutes on 2 cores
 *   npm run bench -- --only eval       one (ids: see MEASUREMENTS in lib/record.ts)
 *   npm run bench -- --no-write        print only, leave BENCHMARKS.md alone
 *
 * Nothing external is needed: load is generated from Node (no wrk/hyperfine), redis-server is the one
 * the integration tests use (`apt-get install -y redis-server`, or set REDIS_SERVER_BIN).
 */
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gitCommit, machine } from "./lib/machine.js";
import { writeBenchmarks } from "./lib/markdown.js";
import { type BenchRecord, goalMet, MEASUREMENTS, type MeasurementId, RECORD_PREFIX } from "./lib/record.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** Per measurement: a hung server must not hang the run (the whole run takes about 20 minutes: bench/README.md). */
const TIME_LIMIT_MS: Record<MeasurementId, number> = {
  eval: 300_000,
  e2e: 300_000,
  roundtrips: 90_000,
  bundle: 60_000,
  contain: 90_000,
  memory: 120_000,
  scale: 240_000,
  refresh: 150_000,
  features: 120_000,
  fastlane: 240_000,
  cost: 120_000,
  flood: 60_000,
  load: 150_000,
  detect: 900_000,
};

function parseArgs(argv: readonly string[]): { only: MeasurementId[]; write: boolean } {
  let only: MeasurementId[] = [...MEASUREMENTS];
  let write = true;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--no-write") write = false;
    else if (arg === "--only" || arg.startsWith("--only=")) {
      const value = arg.includes("=") ? arg.slice("--only=".length) : argv[++i];
      const ids = (value ?? "").split(",").filter(Boolean);
      const unknown = ids.filter((id) => !MEASUREMENTS.includes(id as MeasurementId));
      if (ids.length === 0 || unknown.length > 0)
        throw new Error(`--only takes ${MEASUREMENTS.join(", ")}; got ${value ?? "nothing"}`);
      only = ids as MeasurementId[];
    } else throw new Error(`unknown argument ${arg} (use --only <ids> or --no-write)`);
  }
  return { only, write };
}

function failed(id: MeasurementId, error: string): BenchRecord {
  return {
    bench: id,
    title: id,
    summary: `${id}: FAILED: ${error}`,
    metrics: {},
    rows: [],
    goals: [],
    method: [],
    error,
  };
}

/** One measurement in a fresh `node --expose-gc` (memory needs it; the rest do not mind). */
function runChild(id: MeasurementId): Promise<BenchRecord> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", join("bench", "child.ts"), id], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
      detached: true,
    });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    const timer = setTimeout(() => {
      // The whole group: workerd and redis-server children go with it.
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    }, TIME_LIMIT_MS[id]);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith(RECORD_PREFIX));
      if (line) done(JSON.parse(line.slice(RECORD_PREFIX.length)) as BenchRecord);
      else if (signal === "SIGKILL") done(failed(id, `exceeded its ${TIME_LIMIT_MS[id] / 1000} s limit`));
      else done(failed(id, `exited with ${signal ?? code} before reporting (see its output above)`));
    });
  });
}

const { only, write } = parseArgs(process.argv.slice(2));
const commit = gitCommit(ROOT);
const records: BenchRecord[] = [];
for (const id of only) {
  console.error(`» ${id}`);
  const started = Date.now();
  const loadBefore = loadavg()[0] ?? 0;
  const record = await runChild(id);
  record.loadAverage = [Number(loadBefore.toFixed(2)), Number((loadavg()[0] ?? 0).toFixed(2))];
  record.at = new Date(started).toISOString();
  record.commit = commit;
  record.durationMs = Date.now() - started;
  records.push(record);
  console.log(record.summary);
  console.log(
    JSON.stringify({
      bench: record.bench,
      ...record.metrics,
      goals: record.goals.map((g) => ({ goal: g.goal, met: g.met })),
    }),
  );
}

console.log("");
for (const record of records) {
  for (const goal of record.goals)
    console.log(`${goalMet(goal.met).padEnd(12)} ${record.bench}: ${goal.goal} — ${goal.actual}`);
}
if (write) {
  writeBenchmarks(join(ROOT, "BENCHMARKS.md"), machine(), records);
  console.error("wrote BENCHMARKS.md");
}
