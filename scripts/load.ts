/**
 * `npm run load`: drives `containment dev` (the middleware bundle in real workerd, a real
 * redis-server behind the Upstash bridge) for a bounded time on loopback only, and checks the
 * evidence against what the clients saw.
 *
 *   npm run load                        60 s, 32 clients
 *   npm run load -- --seconds 20 --concurrency 16
 *
 * Reports throughput, p50/p99, admissions per tenant against the limit (exact: one window covers
 * the run), mirrored counts against the client tallies, drops and gaps, where the deadlines of
 * checks that failed closed went (the Redis side, timed at the bridge, or the isolate's own queue),
 * and workerd's RSS next to a trivial worker's under the same load in the same run (growth comes
 * from workerd/Miniflare itself when both grow alike). Exits 1 when the evidence does not match.
 */
import { runLoad } from "./load-run.js";

function args(): { seconds: number; concurrency: number } {
  const argv = process.argv.slice(2);
  const value = (name: string, fallback: number): number => {
    const index = argv.indexOf(`--${name}`);
    if (index < 0) return fallback;
    const n = Number(argv[index + 1]);
    if (!Number.isInteger(n) || n < 1 || n > (name === "seconds" ? 600 : 256)) {
      console.error(
        `--${name} takes a whole number (seconds ≤ 600, concurrency ≤ 256), e.g. npm run load -- --${name} 20`,
      );
      process.exit(2);
    }
    return n;
  };
  return { seconds: value("seconds", 60), concurrency: value("concurrency", 32) };
}

const report = await runLoad(args());
console.log(JSON.stringify(report, null, 2));
if (!report.evidenceExact || !report.admissionsExact) {
  console.error("load: the evidence does not match what the clients saw (see above)");
  process.exit(1);
}
