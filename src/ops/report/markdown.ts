/**
 * The report as GitHub-flavoured Markdown: headings, tables, the controls each section evidences.
 * Every value is interpolated through `md` (src/core/escape.ts), which escapes it for Markdown: a
 * path, tenant, reason, title or actor name shows as its characters, never as markup, a link, an
 * image, inline HTML or an extra table column or row.
 */
import { Markdown, md } from "../../core/escape.js";
import { SECTION_CONTROLS } from "./controls.js";
import { auditLines, type Table, tablesOf } from "./format.js";
import type { Report } from "./model.js";

function controlsLine(section: string): Markdown {
  const controls = SECTION_CONTROLS.find((c) => c.section === section)?.controls ?? [];
  return controls.length > 0 ? md`_Evidences: ${controls.join("; ")}._` : md``;
}

/** Markdown pieces joined by a literal separator (markup of the template, never data). */
const join = (items: readonly Markdown[], separator: string): Markdown =>
  new Markdown(items.map((item) => item.text).join(separator));
const lines = (items: readonly Markdown[]): Markdown => join(items, "\n");

function table(t: Table, withControls: boolean): Markdown {
  const out: Markdown[] = [md`## ${t.title}`, md``];
  if (t.note) out.push(md`${t.note}`, md``);
  if (t.rows.length === 0) out.push(md`${t.empty}`);
  else {
    const row = (cells: readonly string[]) =>
      md`| ${join(
        cells.map((c) => md`${c}`),
        " | ",
      )} |`;
    out.push(
      row(t.head),
      md`|${join(
        t.head.map(() => md` --- `),
        "|",
      )}|`,
    );
    for (const cells of t.rows) out.push(row(cells));
  }
  if (withControls) out.push(md``, controlsLine(t.section));
  return lines(out);
}

/** @example writeFileSync("report.md", renderMarkdown(report)); */
export function renderMarkdown(report: Report): string {
  const i = report.incident;
  const anomaly = i.earliestAnomaly;
  const head = [
    md`# Incident report ${i.id}: ${i.title}`,
    md``,
    md`Generated ${report.generatedAt} from the decision mirror and the audit chain; window ${report.window.since} – ${report.window.until} (UTC).`,
    md``,
    md`- Discovered (entered by the responder): **${i.discovered}**`,
    md`- Earliest anomalous evidence in the mirror: ${anomaly ? md`**${anomaly.at}** (${anomaly.rule}: ${anomaly.outcome})` : md`none in the window`}`,
    md`- Opened ${i.opened}; closed ${i.closed ?? "not yet"}`,
    md`- Data classes: ${i.dataClasses.length > 0 ? i.dataClasses.join(", ") : "none entered"}`,
    md`- Legal roles: HIPAA ${i.hipaaRole ?? "not set"}; GDPR ${i.gdprRole ?? "not set"}`,
    md`- Affected individuals (responder input): ${i.individuals ?? "not entered"}`,
    md``,
    md`### What this report establishes`,
    md``,
    ...report.scope.establishes.map((line) => md`- ${line}`),
    md``,
    md`### What it does not establish`,
    md``,
    ...report.scope.doesNotEstablish.map((line) => md`- ${line}`),
  ];
  const tables = tablesOf(report);
  const sections = tables.map((t, index) => table(t, tables[index + 1]?.section !== t.section));
  const audit = [
    md`## Audit chain`,
    md``,
    ...auditLines(report).map((line) => md`- ${line}`),
    md``,
    controlsLine("Audit chain"),
  ];
  return `${[lines(head), ...sections, lines(audit)].map((part) => part.text).join("\n\n")}\n`;
}
