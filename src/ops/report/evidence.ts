/**
 * The incident's evidence bundle (format in ../evidence-bundle.ts): what `incident close` and
 * `evidence export` write, and the whole check `evidence verify` makes (every file against the
 * manifest's SHA-256, then the audit chain inside against the manifest's head).
 */
import { type AuditRecord, verifyAudit } from "../audit/index.js";
import type { KeySet } from "../audit/sign.js";
import { type BundleCheck, buildBundle, checkBundle, parseJsonl } from "../evidence-bundle.js";
import { isoSeconds } from "./clocks.js";
import type { Gathered } from "./gather.js";
import type { Report } from "./model.js";

/** name → text of every file of the bundle, manifest included. */
export function evidenceFiles(
  gathered: Gathered,
  report: Report,
  markdown: string,
): Promise<Map<string, string>> {
  const { inputs } = gathered;
  return buildBundle({
    incident: { ...inputs.incident },
    window: { since: isoSeconds(inputs.since), until: isoSeconds(inputs.until) },
    createdAt: isoSeconds(inputs.generatedAt),
    auditHead: inputs.verification.head ?? "",
    auditVerified: inputs.verification.ok,
    records: {
      audit: gathered.chain,
      counts: inputs.counts,
      shapes: inputs.shapes ?? [],
      traffic: inputs.traffic,
      top: gathered.top,
      events: gathered.events,
      confirmations: inputs.confirmations,
      quarantines: inputs.quarantines,
    },
    documents: { report, "report.md": markdown },
  });
}

export interface EvidenceCheck extends BundleCheck {
  audit?: { ok: boolean; head: string; count: number; firstBreak?: string };
}

/** @example const check = await verifyEvidence(readBundle(dir)); if (!check.ok) console.error(check.problems); */
export async function verifyEvidence(
  files: ReadonlyMap<string, string>,
  options: { keys?: KeySet | undefined } = {},
): Promise<EvidenceCheck> {
  const check = await checkBundle(files);
  if (!check.manifest) return check;
  const text = files.get("audit.jsonl");
  if (text === undefined) return check;
  let records: AuditRecord[];
  try {
    records = parseJsonl("audit.jsonl", text) as AuditRecord[];
  } catch (error) {
    return {
      ...check,
      ok: false,
      problems: [...check.problems, error instanceof Error ? error.message : String(error)],
    };
  }
  // The bundle's anchor is its manifest (auditHead, checked below), not Edge Config.
  const verified = await verifyAudit(records, { keys: options.keys, allowUnanchored: true });
  const problems = [...check.problems];
  if (!verified.ok)
    problems.push(`audit.jsonl: ${verified.firstBreak?.reason ?? "the chain does not verify"}`);
  if (verified.head !== check.manifest.auditHead)
    problems.push(
      `audit.jsonl ends at ${verified.head || "(empty)"}, the manifest names ${check.manifest.auditHead || "(empty)"}`,
    );
  return {
    ...check,
    ok: problems.length === 0,
    problems,
    audit: {
      ok: verified.ok,
      head: verified.head,
      count: verified.count,
      ...(verified.firstBreak ? { firstBreak: verified.firstBreak.reason } : {}),
    },
  };
}
