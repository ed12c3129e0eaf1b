/** The report as GitHub-flavoured Markdown: headings, tables, the controls each section evidences. */
import { SECTION_CONTROLS } from "./controls.js";
import { auditLines, type Table, tablesOf } from "./format.js";
import type { Report } from "./model.js";

/** Table cells may hold any text; `|` and newlines would break the row. */
function cell(text: string): string {
  return text
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/[\r\n]+/g, " ");
}

function controlsLine(section: string): string {
  const controls = SECTION_CONTROLS.find((c) => c.section === section)?.controls ?? [];
  return controls.length > 0 ? `_Evidences: ${controls.join("; ")}._` : "";
}

function table(t: Table, withControls: boolean): string {
  const out = [`## ${t.title}`, ""];
  if (t.note) out.push(cell(t.note), "");
  if (t.rows.length === 0) out.push(t.empty);
  else {
    out.push(`| ${t.head.map(cell).join(" | ")} |`, `|${t.head.map(() => " --- ").join("|")}|`);
    for (const row of t.rows) out.push(`| ${row.map(cell).join(" | ")} |`);
  }
  if (withControls) out.push("", controlsLine(t.section));
  return out.join("\n");
}

/** @example writeFileSync("report.md", renderMarkdown(report)); */
export function renderMarkdown(report: Report): string {
  const i = report.incident;
  const head = [
    `# Incident report ${i.id}: ${cell(i.title)}`,
    "",
    `Generated ${report.generatedAt} from the decision mirror and the audit chain; window ${report.window.since} – ${report.window.until} (UTC).`,
    "",
    `- Discovered (entered by the responder): **${i.discovered}**`,
    `- Earliest anomalous evidence in the mirror: ${i.earliestAnomaly ? `**${i.earliestAnomaly.at}** (${i.earliestAnomaly.rule}: ${i.earliestAnomaly.outcome})` : "none in the window"}`,
    `- Opened ${i.opened}; closed ${i.closed ?? "not yet"}`,
    `- Data classes: ${i.dataClasses.length > 0 ? i.dataClasses.join(", ") : "none entered"}`,
    `- Legal roles: HIPAA ${i.hipaaRole ?? "not set"}; GDPR ${i.gdprRole ?? "not set"}`,
    `- Affected individuals (responder input): ${i.individuals ?? "not entered"}`,
    "",
    "### What this report establishes",
    "",
    ...report.scope.establishes.map((line) => `- ${line}`),
    "",
    "### What it does not establish",
    "",
    ...report.scope.doesNotEstablish.map((line) => `- ${line}`),
  ];
  const tables = tablesOf(report);
  const sections = tables.map((t, index) => table(t, tables[index + 1]?.section !== t.section));
  const audit = [
    "## Audit chain",
    "",
    ...auditLines(report).map((line) => `- ${cell(line)}`),
    "",
    controlsLine("Audit chain"),
  ];
  return `${[head.join("\n"), ...sections, audit.join("\n")].join("\n\n")}\n`;
}
