// Prints vitest's JSON report as the plain closing line CI reads: "N passed, N failed, N skipped".
// Fails on a failed test, on a test file that failed before any of its tests ran, on no test at
// all, and on any skipped test: CI runs everything, so a skip (a missing prerequisite, a forgotten
// .skip) must not pass unseen.
import { existsSync, readFileSync } from "node:fs";

const file = process.argv[2] ?? ".tmp/vitest-report.json";
if (!existsSync(file)) {
  console.log(`ci: no test report at ${file}: npm test stopped before vitest ran (see above)`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, "utf8"));
const files = report.testResults ?? [];
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
for (const result of files)
  for (const test of result.assertionResults ?? [])
    if (test.status === "pending" || test.status === "skipped" || test.status === "todo")
      console.log(`ci: skipped: ${result.name}: ${test.fullName}`);
// Such a file (a missing prerequisite under CI) counts no failed test: it counts as one here.
const broken = files.filter(
  (result) => result.status === "failed" && (result.assertionResults ?? []).length === 0,
);
for (const result of broken)
  console.log(`ci: failed before any test ran: ${result.name}: ${(result.message ?? "").split("\n")[0]}`);
const failed = report.numFailedTests + broken.length;
console.log(`${report.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
if (report.numTotalTests + broken.length === 0 || failed > 0 || skipped > 0) process.exit(1);
