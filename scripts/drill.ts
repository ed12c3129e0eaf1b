/**
 * `npm run drill`: runs the scripted incident drill (scripts/drill-lib.ts) and writes the report it
 * produced to docs/drill/ (report.md, report.html, report.json and a screenshot, report.png), the example docs/report.md links.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ROOT, runDrill } from "./drill-lib.js";

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

const out = join(ROOT, "docs", "drill");
const drill = await runDrill({ log: (line) => console.log(line) });
try {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "report.md"), drill.markdown);
  writeFileSync(join(out, "report.html"), drill.html);
  writeFileSync(join(out, "report.json"), `${JSON.stringify(drill.report, null, 2)}\n`);
  await screenshot(drill.html, join(out, "report.png"));
  console.log(`drill: wrote ${join("docs", "drill")}/report.{md,html,json,png}`);
} finally {
  await drill.close();
}
