/**
 * The report as one self-contained HTML file: no network at all (uPlot's script and stylesheet are
 * inlined, the data is embedded as JSON), tables rendered as HTML so the file reads and prints
 * without scripts, and the per-minute chart drawn by uPlot, the dashboard's charting library.
 */
import { escapeHtml } from "../../core/escape.js";
import { CHART_SCRIPT } from "./chart-script.js";
import { SECTION_CONTROLS } from "./controls.js";
import { auditLines, firstDetectionLine, type Table, tablesOf } from "./format.js";
import { type FactGroup, narrativeGroups, narrativeTables } from "./format-narrative.js";
import type { Report } from "./model.js";

export interface ChartAssets {
  /** `uplot/dist/uPlot.iife.min.js` */
  script: string;
  /** `uplot/dist/uPlot.min.css` */
  css: string;
}

/** JSON inside <script>: `</script>`, `<!--` and U+2028/9 must not end or break the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** A script text must not contain `</script` (uPlot's does not; checked so a future version cannot break out). */
function inlineScript(text: string): string {
  if (/<\/script/i.test(text)) throw new Error("edge-containment: chart script contains </script>");
  return text;
}

const STYLE = `
:root{color-scheme:light;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bad:#b42318;--ok:#1a7f37}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);margin:2rem auto;max-width:70rem;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}
.meta{color:var(--muted)}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{color:var(--muted)}dd{margin:0}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td:first-child{white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}.controls{color:var(--muted);font-size:.85rem}
.broken{color:var(--bad);font-weight:600}.ok{color:var(--ok);font-weight:600}code{font-family:ui-monospace,monospace;word-break:break-all}
#chart{min-height:340px}.gap{color:var(--bad);font-weight:600}.gap code{font-weight:400;color:var(--fg);background:#fff1f0;padding:0 .2rem}
.missing{border:1px solid #f4c7c3;background:#fff8f7;padding:.5rem 1rem;border-radius:4px}h3{font-size:1rem;margin:1.25rem 0 .35rem}.note{color:var(--muted);margin:.2rem 0 .4rem}.cols{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}table,tr,#chart{break-inside:avoid}}
`;

function tableHtml(t: Table, withControls: boolean): string {
  const numeric = t.head.map((h) =>
    /^(Requests|Blocked|Admitted|Rate-limited|Monitored|Allowed|Errors)$/.test(h),
  );
  const body =
    t.rows.length === 0
      ? `<p>${escapeHtml(t.empty)}</p>`
      : `<table><thead><tr>${t.head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${t.rows
          .map(
            (row) =>
              `<tr>${row.map((c, i) => `<td${numeric[i] ? ' class="n"' : ""}>${escapeHtml(c)}</td>`).join("")}</tr>`,
          )
          .join("")}</tbody></table>`;
  return `<section><h2>${escapeHtml(t.title)}</h2>${t.note ? `<p>${escapeHtml(t.note)}</p>` : ""}${body}${withControls ? controlsHtml(t.section) : ""}</section>`;
}

function controlsHtml(section: string): string {
  const controls = SECTION_CONTROLS.find((c) => c.section === section)?.controls ?? [];
  return controls.length > 0 ? `<p class="controls">Evidences: ${escapeHtml(controls.join("; "))}</p>` : "";
}

function factGroupHtml(g: FactGroup): string {
  const value = (f: FactGroup["facts"][number]) =>
    f.value !== null
      ? escapeHtml(f.value)
      : `<span class="gap">GAP</span>${f.gap ? `<span class="gap">: fill with <code>${escapeHtml(f.gap)}</code></span>` : ""}`;
  return `<h3>${escapeHtml(g.title)}</h3>${g.note ? `<p class="note">${escapeHtml(g.note)}</p>` : ""}<dl>${g.facts
    .map((f) => `<dt>${escapeHtml(f.label)}</dt><dd>${value(f)}</dd>`)
    .join("")}</dl>`;
}

function narrativeHtml(report: Report): string {
  const gaps = report.narrative.gaps;
  const missing =
    gaps.length === 0
      ? "<p>Every field the report asks for is entered.</p>"
      : `<div class="missing"><p><strong>${gaps.length} ${gaps.length === 1 ? "field is" : "fields are"} missing</strong>, each with the command that fills it:</p><ul>${gaps
          .map((g) => `<li>${escapeHtml(g.what)}: <code>${escapeHtml(g.command)}</code></li>`)
          .join("")}</ul></div>`;
  const tables = narrativeTables(report).map((t) => tableHtml(t, false));
  return `<section><h2>Narrative and decisions</h2>${missing}${narrativeGroups(report).map(factGroupHtml).join("")}</section>\n${tables.join("\n")}`;
}

/** Per-minute totals over all rules, and the flips as markers, for the chart. */
function chartData(report: Report) {
  const minutes = [...new Set(report.decisions.perMinute.map((m) => m.minuteMs))].sort((a, b) => a - b);
  const series = {
    blocked: [] as number[],
    rateLimited: [] as number[],
    monitored: [] as number[],
    allowed: [] as number[],
  };
  for (const minute of minutes) {
    const rows = report.decisions.perMinute.filter((m) => m.minuteMs === minute);
    series.blocked.push(rows.reduce((s, m) => s + m.blocked, 0));
    series.rateLimited.push(rows.reduce((s, m) => s + m.rateLimited, 0));
    series.monitored.push(rows.reduce((s, m) => s + m.monitored, 0));
    series.allowed.push(rows.reduce((s, m) => s + m.allowed, 0));
  }
  const markers = report.containment.flips.map((f) => ({
    at: f.writtenAtMs / 1000,
    action: f.action,
    label: `${f.action} ${f.switchId}@${f.version} ${f.writtenAt.slice(11, 19)}`,
  }));
  // Minutes are bucket starts: plot each at its start so a kill written at 21:48:23 sits inside its minute.
  return { x: minutes.map((m) => m / 1000), ...series, markers, lanes: markers.length };
}

/** @example writeFileSync("report.html", renderHtml(report, loadChartAssets())); */
export function renderHtml(report: Report, assets: ChartAssets): string {
  const i = report.incident;
  const tables = tablesOf(report);
  const facts: Array<[string, string]> = [
    ["Discovered (entered)", i.discovered],
    [
      "Earliest anomalous evidence",
      i.earliestAnomaly
        ? `${i.earliestAnomaly.at} (${i.earliestAnomaly.basis}); offered, not imposed`
        : "none above the look-back's normal",
    ],
    ["First detection (offered, not imposed)", firstDetectionLine(report)],
    ["Opened / closed", `${i.opened} / ${i.closed ?? "not yet"}`],
    ["Data classes", i.dataClasses.join(", ") || "none entered"],
    ["Legal roles", `HIPAA ${i.hipaaRole ?? "not set"}; GDPR ${i.gdprRole ?? "not set"}`],
    [
      "Affected individuals (responder input)",
      i.individuals === null ? "GAP, see Narrative and decisions" : String(i.individuals),
    ],
  ];
  const audit = auditLines(report);
  const sections = tables.map((t, index) => tableHtml(t, tables[index + 1]?.section !== t.section));
  // The chart goes after the containment table, before the per-minute numbers it summarises.
  sections.splice(
    2,
    0,
    '<section><h2>Decisions per minute</h2><div id="chart" role="img" aria-label="Decisions per minute chart"></div></section>',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>Incident report ${escapeHtml(i.id)}</title><style>${assets.css}</style><style>${STYLE}</style></head>
<body data-chart="pending"><header><h1>Incident report ${escapeHtml(i.id)}: ${escapeHtml(i.title)}</h1>
<p class="meta">Generated ${escapeHtml(report.generatedAt)} from the decision mirror and the audit chain; window ${escapeHtml(report.window.since)} – ${escapeHtml(report.window.until)} (UTC). Report schema v${report.schemaVersion}.</p></header>
<section><dl>${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>
<div class="cols"><div><h2>What this report establishes</h2><ul>${report.scope.establishes.map((l) => `<li>${escapeHtml(l)}</li>`).join("")}</ul></div>
<div><h2>What it does not establish</h2><ul>${report.scope.doesNotEstablish.map((l) => `<li>${escapeHtml(l)}</li>`).join("")}</ul></div></div></section>
${narrativeHtml(report)}
${sections.join("\n")}
<section><h2>Audit chain</h2><ul>${audit
    .map(
      (line, index) =>
        `<li${index === 1 ? ` class="${report.audit.verified ? "ok" : "broken"}"` : ""}><code>${escapeHtml(line)}</code></li>`,
    )
    .join("")}</ul>${controlsHtml("Audit chain")}</section>
<script type="application/json" id="chart-data">${scriptJson(chartData(report))}</script>
<script>${inlineScript(assets.script)}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}
