/**
 * `npm run drill`: runs the scripted incident drill (scripts/drill-lib.ts), prints each report's
 * numbers beside what the drill's clients were served, and exits 1 when any differ.
 *
 * The reports go to a temporary directory (the working tree stays clean); `npm run drill --
 * --refresh-example` writes them to docs/drill/ instead (report.md, report.html, report.json and a
 * screenshot, report.png), the example docs/report.md links.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { chromium } from "playwright-core";
import { type DrillCheck, drillChecks, INCIDENT, ROOT, runDrill, SECOND_INCIDENT } from "./drill-lib.js";

/** docs/report.md's screenshot: the HTML report as headless Chromium renders it, offline. */
async function screenshot(html: string, file: string): Promise<void> {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN ?? "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  try {
    const context = await browser.newContext({ offline: true, viewport: { width: 1100, height: 1400 } });
    const page = await context.newPage();
    await page.setContent(html, { waitUntil: "load" });
    await page.waitForSelector('body[data-chart="ready"]', { timeout: 10_000 });
    await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y: 0, width: 1100, height: 2600 } });
  } finally {
    await browser.close();
  }
}

function table(checks: readonly DrillCheck[]): string[] {
  const rows = [
    ["incident", "number", "report", "served", ""],
    ...checks.map((c) => [c.incident, c.what, c.report, c.served, c.ok ? "ok" : "DIFFERS"]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

const refresh = process.argv.includes("--refresh-example");
const out = refresh ? join(ROOT, "docs", "drill") : mkdtempSync(join(tmpdir(), "containment-drill-"));
const shown = refresh ? relative(ROOT, out) : out;
const drill = await runDrill({ log: (line) => console.log(line) });
let failed = 0;
try {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "report.md"), drill.markdown);
  writeFileSync(join(out, "report.html"), drill.html);
  writeFileSync(join(out, "report.json"), `${JSON.stringify(drill.report, null, 2)}\n`);
  writeFileSync(join(out, "report-second.json"), `${JSON.stringify(drill.secondReport, null, 2)}\n`);
  if (!refresh) writeFileSync(join(out, "ledger.json"), `${JSON.stringify(drill.ledger.sent, null, 2)}\n`);
  if (refresh) await screenshot(drill.html, join(out, "report.png"));
  const checks = [
    ...drillChecks(INCIDENT, drill.report, drill.ledger),
    ...drillChecks(SECOND_INCIDENT, drill.secondReport, drill.ledger),
  ];
  failed = checks.filter((c) => !c.ok).length;
  console.log("");
  console.log("the reports' numbers beside what the drill's clients were served:");
  for (const line of table(checks)) console.log(`  ${line}`);
  console.log("");
  console.log(
    `drill: ${drill.ledger.sent.length} requests, ${drill.ledger.runs.length} commands; reports in ${shown}/report.{md,html,json${refresh ? ",png" : ""}}`,
  );
  console.log(
    failed === 0
      ? `drill: OK, all ${checks.length} numbers equal what the clients were served`
      : `drill: FAILED, ${failed} of ${checks.length} numbers differ from what the clients were served`,
  );
} finally {
  await drill.close();
}
process.exitCode = failed === 0 ? 0 : 1;
