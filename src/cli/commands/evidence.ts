/**
 * `containment evidence export --incident ID [--out DIR]` and `containment evidence verify DIR`:
 * the incident's evidence as JSON Lines plus a manifest of SHA-256 sums and the audit head, kept
 * beyond the mirror's retention (SOC 2 Type II periods, HIPAA's six years).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Command } from "commander";
import type { KeySet } from "../../ops/audit/sign.js";
import { configError, EXIT, usageError } from "../../ops/errors.js";
import { buildReport } from "../../ops/report/build.js";
import { evidenceFiles, verifyEvidence } from "../../ops/report/evidence.js";
import { gatherReport } from "../../ops/report/gather.js";
import { renderHtml } from "../../ops/report/html.js";
import { renderMarkdown } from "../../ops/report/markdown.js";
import {
  action,
  auditEvidenceVersion,
  emit,
  type GlobalFlags,
  type Opened,
  report,
  withOpsOptions,
} from "../ops.js";
import { loadChartAssets, readBundle, writeBundle } from "../report-inputs.js";

export function readKeys(file: string | undefined): KeySet | undefined {
  if (file === undefined) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as KeySet;
  } catch (error) {
    throw usageError(
      `--keys ${file} must be a JWK set file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Gathers, builds and writes the bundle of one incident; the summary for the command's output. */
export async function exportEvidence(opened: Opened, id: string, dir: string) {
  const redis = opened.ctx.redis;
  if (redis === undefined)
    throw configError("evidence comes from Redis: set UPSTASH_REDIS_REST_URL/TOKEN or --redis");
  const gathered = await gatherReport(
    { redis, prefix: opened.config.prefix, now: opened.ctx.now, api: opened.ctx.api },
    id,
    { onVersion: auditEvidenceVersion(opened.ctx) },
  );
  const built = buildReport(gathered.inputs);
  const signer = opened.ctx.audit.signer;
  const files = await evidenceFiles(
    gathered,
    built,
    { markdown: renderMarkdown(built), html: renderHtml(built, loadChartAssets()) },
    signer,
  );
  writeBundle(dir, files);
  return {
    dir,
    files: files.size,
    signedBy: signer?.kid ?? null,
    auditHead: gathered.inputs.verification.head ?? "",
    auditVerified: gathered.inputs.verification.ok,
    evidenceIntact: built.evidence.intact,
  };
}

function exportCommand(): Command {
  return withOpsOptions(
    new Command("export")
      .description(
        "write the incident's evidence bundle: the report in every format, JSONL, NDJSON timeline, sign-offs, and a manifest with SHA-256 and the audit head (signed with --sign-key)",
      )
      .requiredOption("--incident <id>", "incident id")
      .option("--out <dir>", "directory (default .containment/evidence/<id>)")
      .addHelpText(
        "after",
        "\nExample:\n  containment evidence export --incident INC-2041 --out evidence/INC-2041",
      )
      .action(
        action(async (opened, flags) => {
          const { incident, out } = flags as GlobalFlags & { incident: string; out?: string };
          const summary = await exportEvidence(
            opened,
            incident,
            out ?? join(opened.config.cwd, ".containment", "evidence", incident),
          );
          emit(flags, { evidence: summary }, [
            `wrote ${summary.files} files to ${summary.dir}`,
            `audit head ${summary.auditHead || "(empty)"}: ${summary.auditVerified ? "verified" : "BROKEN"}`,
            ...(summary.evidenceIntact
              ? []
              : ["EVIDENCE TAMPERING: the live mirror keys contradict the preserved copy (tampering.jsonl)"]),
            summary.signedBy === null
              ? "manifest not signed: pass --sign-key (the audit signing key) to sign it"
              : `manifest signed with key ${summary.signedBy}`,
          ]);
          return summary.auditVerified && summary.evidenceIntact ? 0 : EXIT.tampered;
        }),
      ),
  );
}

function verifyCommand(): Command {
  return new Command("verify")
    .description(
      "check an evidence bundle: every file against the manifest, the manifest's and sign-offs' signatures, the audit chain against its head (exit 8 on any edit after signing)",
    )
    .argument("<dir>", "directory written by `evidence export` or `incident close`")
    .option(
      "--keys <file>",
      "JWK set whose keys must have signed every audit entry, the manifest and the sign-offs",
    )
    .option("--json", "print one machine-readable JSON object")
    .addHelpText(
      "after",
      "\nExample:\n  containment evidence verify evidence/INC-2041 --keys responders.jwks.json",
    )
    .action(async (dir: string, flags: GlobalFlags & { keys?: string }) => {
      try {
        const check = await verifyEvidence(readBundle(dir), { keys: readKeys(flags.keys) });
        if (flags.json)
          process.stdout.write(
            `${JSON.stringify({
              ok: check.ok,
              problems: check.problems,
              notes: check.notes,
              manifestSignedAt: check.manifestSignedAt,
              signoffs: check.signoffs,
              audit: check.audit,
            })}\n`,
          );
        else if (check.ok) {
          console.log(
            `ok: ${check.manifest?.files.length ?? 0} files match the manifest${check.manifestSignedAt ? ` signed at ${check.manifestSignedAt}` : ""}; ${check.signoffs} sign-off signature(s) verify; audit chain verifies to ${check.audit?.head || "(empty)"}`,
          );
          for (const note of check.notes) console.log(`note: ${note}`);
        } else for (const problem of check.problems) console.error(`edge-containment: ${dir}: ${problem}`);
        process.exitCode = check.ok ? 0 : EXIT.tampered;
      } catch (error) {
        report(flags, error);
      }
    });
}

export function evidenceCommand(): Command {
  return new Command("evidence")
    .description("incident evidence that outlives the mirror's retention")
    .addHelpText(
      "after",
      "\nExample:\n  $ containment evidence export --incident INC-2041 --out evidence/INC-2041",
    )
    .addCommand(exportCommand())
    .addCommand(verifyCommand());
}
