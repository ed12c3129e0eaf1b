/**
 * The incident's evidence bundle (format in ../evidence-bundle.ts): what `incident close` and
 * `evidence export` write, and the whole check `evidence verify` makes (every file against the
 * manifest's SHA-256, then the audit chain inside against the manifest's head).
 */
import { type AuditRecord, verifyAudit } from "../audit/index.js";
import type { KeySet } from "../audit/sign.js";
import { type BundleCheck, buildBundle, checkBundle, parseJsonl } from "../evidence-bundle.js";
import {
  type CopyKind,
  type CopyVersion,
  contentHash,
  findingLine,
  type MinuteContent,
  type TamperFinding,
} from "../incident-versions.js";
import { isoSeconds } from "./clocks.js";
import type { Gathered } from "./gather.js";
import type { MinuteFields, Report } from "./model.js";

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
      traffic: inputs.traffic,
      top: gathered.top,
      events: gathered.events,
      confirmations: inputs.confirmations,
      quarantines: inputs.quarantines,
      versions: [...(inputs.preserved?.versions ?? [])],
      tampering: [...(inputs.preserved?.tampering ?? [])],
    },
    documents: { report, "report.md": markdown },
  });
}

function records<T>(files: ReadonlyMap<string, string>, name: string): T[] | undefined {
  const text = files.get(`${name}.jsonl`);
  return text === undefined ? undefined : (parseJsonl(`${name}.jsonl`, text) as T[]);
}

/**
 * What the bundle says about its preserved copy: every tampering finding, a version whose content
 * hash is not in the audit chain, and aggregates that are not the latest version's content.
 * Bundles written before versions existed have no versions.jsonl and are not checked here.
 */
async function preservedProblems(
  files: ReadonlyMap<string, string>,
  chain: readonly AuditRecord[],
): Promise<string[]> {
  const problems: string[] = [];
  try {
    const versions = records<CopyVersion>(files, "versions");
    if (versions === undefined) return problems;
    for (const finding of records<TamperFinding>(files, "tampering") ?? [])
      problems.push(`EVIDENCE TAMPERING: ${findingLine(finding)}`);
    const chained = new Set(
      chain
        .filter((r) => r.entry?.action === "evidence-version")
        .map((r) => (r.entry.after as { hash?: unknown } | null)?.hash),
    );
    for (const version of versions)
      if (!chained.has(version.hash))
        problems.push(`versions.jsonl: version ${version.n} (${version.hash}) is not in the audit chain`);
    const last = versions.at(-1);
    if (last !== undefined) {
      const content = new Map<number, MinuteContent>();
      const put = (minute: number, kind: CopyKind, fields: Record<string, number>) =>
        content.set(minute, { ...content.get(minute), [kind]: fields });
      for (const m of records<MinuteFields>(files, "counts") ?? []) put(m.minute, "counts", m.fields);
      for (const m of records<MinuteFields>(files, "traffic") ?? []) put(m.minute, "traffic", m.fields);
      for (const t of records<Gathered["top"][number]>(files, "top") ?? [])
        put(t.minute, `top:${t.dimension}` as CopyKind, t.members);
      if ((await contentHash(content)) !== last.hash)
        problems.push(
          `counts, traffic and top do not hash to version ${last.n} of the preserved copy (${last.hash})`,
        );
    }
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  return problems;
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
  const problems = [...check.problems, ...(await preservedProblems(files, records))];
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
