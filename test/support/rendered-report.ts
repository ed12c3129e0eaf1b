/** A report rendered in the formats the evidence bundle holds, as `evidence export` renders them. */
import { loadChartAssets } from "../../src/cli/report-inputs.js";
import { renderHtml } from "../../src/ops/report/html.js";
import { renderMarkdown } from "../../src/ops/report/markdown.js";
import type { Report } from "../../src/ops/report/model.js";

export function renderedReport(report: Report): { markdown: string; html: string } {
  return { markdown: renderMarkdown(report), html: renderHtml(report, loadChartAssets()) };
}
