/**
 * `npm run drill`: runs the scripted incident drill (scripts/drill-lib.ts) and writes the report it
 * produced to docs/drill/ (report.md, report.html, report.json), the example the README links.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runDrill } from "./drill-lib.js";

const out = join(ROOT, "docs", "drill");
const drill = await runDrill({ log: (line) => console.log(line) });
try {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "report.md"), drill.markdown);
  writeFileSync(join(out, "report.html"), drill.html);
  writeFileSync(join(out, "report.json"), `${JSON.stringify(drill.report, null, 2)}\n`);
  console.log(`drill: wrote ${join("docs", "drill")}/report.{md,html,json}`);
} finally {
  await drill.close();
}
