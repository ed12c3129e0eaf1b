/**
 * The report as GitHub-flavoured Markdown: headings, tables, the controls each section evidences.
 * Every value is interpolated through `md` (src/core/escape.ts), which escapes it for Markdown: a
 * path, tenant, reason, title or actor name shows as its characters, never as markup, a link, an
 * image, inline HTML or an extra table column or row.
 */
import { Markdown, md } from "../../core/escape.js";
import { SECTION_CONTROLS } from "./controls.js";
import { auditLines, firstDetectionLine, type Table, tablesOf } from "./format.js";
import { type FactGroup, narrativeGroups, narrativeTables } from "./format-narrative.js";
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

function group(g: FactGroup): Markdown {
  const out: Markdown[] = [md`### ${g.title}`, md``];
  if (g.note) out.push(md`_${g.note}_`, md``);
  for (const f of g.facts)
    out.push(
      f.value !== null
        ? md`- **${f.label}:** ${f.value}`
        : md`- **${f.label}:** **GAP**${f.gap ? md` (fill with: ${f.gap})` : md``}`,
    );
  return lines(out);
}

function narrative(report: Report): Markdown {
  const gaps = report.narrative.gaps;
  const out: Markdown[] = [md`## Narrative and decisions`, md``];
  out.push(
    gaps.length === 0
      ? md`Every field the report asks for is entered.`
      : md`**${gaps.length} ${gaps.length === 1 ? "field is" : "fields are"} missing** (each below with the command that fills it):`,
  );
  if (gaps.length > 0) out.push(md``, ...gaps.map((g) => md`- ${g.what}: ${g.command}`));
  for (const g of narrativeGroups(report)) out.push(md``, group(g));
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
    md`- Earliest anomalous evidence in the mirror (offered, not imposed): ${anomaly ? md`**${anomaly.at}** (${anomaly.basis})` : md`none above the look-back's normal`}`,
    md`- First detection (offered, not imposed): ${firstDetectionLine(report)}`,
    md`- Opened ${i.opened}; closed ${i.closed ?? "not yet"}`,
    md`- Data classes: ${i.dataClasses.length > 0 ? i.dataClasses.join(", ") : "none entered"}`,
    md`- Legal roles: HIPAA ${i.hipaaRole ?? "not set"}; GDPR ${i.gdprRole ?? "not set"}`,
    md`- Affected individuals (responder input): ${i.individuals ?? "GAP, see Narrative and decisions"}`,
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
  const decisions = narrativeTables(report).map((t) => table(t, false));
  const audit = [
    md`## Audit chain`,
    md``,
    ...auditLines(report).map((line) => md`- ${line}`),
    md``,
    controlsLine("Audit chain"),
  ];
  return `${[lines(head), narrative(report), ...decisions, ...sections, lines(audit)].map((part) => part.text).join("\n\n")}\n`;
}
