/**
 * `containment report --incident ID [--since] [--until] [--format md|json|html] [--out FILE]`: the
 * incident's evidence report from the mirror's incident-scoped aggregates and the verified audit
 * chain. Exit 8 (tampered) when the chain does not verify: the report is still written, and says so.
 */
import { writeFileSync } from "node:fs";
import { Command, Option } from "commander";
import { configError, EXIT } from "../../ops/errors.js";
import { buildReport } from "../../ops/report/build.js";
import { timelineNdjson } from "../../ops/report/evidence.js";
import { gatherReport } from "../../ops/report/gather.js";
import { renderHtml } from "../../ops/report/html.js";
import { renderMarkdown } from "../../ops/report/markdown.js";
import type { Report } from "../../ops/report/model.js";
import { readRulesFile } from "../../ops/rules-file.js";
import { action, auditEvidenceVersion, type GlobalFlags, withOpsOptions } from "../ops.js";
import { loadChartAssets, parseTime } from "../report-inputs.js";
import { readKeys } from "./evidence.js";

type Format = "md" | "json" | "html" | "ndjson";

interface ReportFlags extends GlobalFlags {
  incident: string;
  since?: string;
  until?: string;
  format?: Format;
  out?: string;
  rules?: string;
  keys?: string;
}

export function renderReport(report: Report, format: Format): string {
  if (format === "json") return `${JSON.stringify(report, null, 2)}\n`;
  if (format === "ndjson") return timelineNdjson(report);
  if (format === "html") return renderHtml(report, loadChartAssets());
  return renderMarkdown(report);
}

function formatOf(flags: ReportFlags): Format {
  if (flags.format) return flags.format;
  if (flags.out?.endsWith(".html")) return "html";
  if (flags.out?.endsWith(".json")) return "json";
  if (flags.out?.endsWith(".ndjson")) return "ndjson";
  return "md";
}

export function reportCommand(): Command {
  return withOpsOptions(
    new Command("report")
      .description(
        "write the incident report: timeline, containment times, decisions, affected tenants, clocks, audit head",
      )
      .requiredOption("--incident <id>", "incident id")
      .option("--since <time>", "window start (ISO 8601 or a duration ago); default the incident's look-back")
      .option("--until <time>", "window end; default the incident's close (or now)")
      .addOption(
        new Option(
          "--format <format>",
          "md, json, html, or ndjson (the timeline, one event per line, for incident tools; default from --out, else md)",
        ).choices(["md", "json", "html", "ndjson"]),
      )
      .option("--out <file>", "write to this file instead of stdout")
      .option("--rules <file>", "rules document whose dataClasses apply (default the live one)")
      .option("--keys <file>", "JWK set: also require every audit entry to be signed")
      .addHelpText(
        "after",
        "\nExamples:\n  containment report --incident INC-2041 --out INC-2041.html\n  containment report --incident INC-2041 --format json | jq .containment",
      )
      .action(
        action(async (opened, globalFlags) => {
          const flags = globalFlags as ReportFlags;
          const redis = opened.ctx.redis;
          if (redis === undefined)
            throw configError(
              "the report reads Redis: set UPSTASH_REDIS_REST_URL/TOKEN or --redis (or use --local)",
            );
          const now = opened.ctx.now();
          const gathered = await gatherReport(
            { redis, prefix: opened.config.prefix, now: opened.ctx.now, api: opened.ctx.api },
            flags.incident,
            {
              since: flags.since === undefined ? undefined : parseTime("--since", flags.since, now),
              until: flags.until === undefined ? undefined : parseTime("--until", flags.until, now),
              document: flags.rules === undefined ? undefined : readRulesFile(flags.rules),
              keys: readKeys(flags.keys),
              onVersion: auditEvidenceVersion(opened.ctx),
            },
          );
          const report = buildReport(gathered.inputs);
          const text = renderReport(report, formatOf(flags));
          if (flags.out === undefined) process.stdout.write(text);
          else {
            writeFileSync(flags.out, text);
            console.error(`wrote ${flags.out}`);
          }
          if (!report.evidence.intact)
            console.error(
              `edge-containment: EVIDENCE TAMPERING: the live mirror keys contradict the preserved copy in ${report.evidence.tampering.length} place(s) (listed in the report; its numbers are the preserved ones)`,
            );
          if (!report.audit.verified) {
            console.error(
              `edge-containment: the audit chain is broken: ${report.audit.firstBreak ?? "unknown"}`,
            );
            return EXIT.tampered;
          }
          return report.evidence.intact ? 0 : EXIT.tampered;
        }),
      ),
  );
}
