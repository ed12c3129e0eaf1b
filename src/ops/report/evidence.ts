/**
 * The incident's evidence bundle (format in ../evidence-bundle.ts): what `incident close` and
 * `evidence export` write, and the whole check `evidence verify` makes (every file against the
 * manifest's SHA-256, then the audit chain inside against the manifest's head).
 */
import { type AuditRecord, verifyAudit } from "../audit/index.js";
import type { KeySet, Signer } from "../audit/sign.js";
import {
  type BundleCheck,
  buildBundle,
  checkBundle,
  MANIFEST,
  MANIFEST_SIG,
  parseJsonl,
} from "../evidence-bundle.js";
import { checkSignatures, SIGNOFFS, signManifest } from "../evidence-signatures.js";
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

/** The report's timeline as NDJSON: one event per line, for incident tools and GRC platforms. */
export function timelineNdjson(report: Report): string {
  return report.timeline.map((t) => `${JSON.stringify({ incident: report.incident.id, ...t })}\n`).join("");
}

/**
 * name → text of every file of the bundle, manifest included: the report in every format, and with
 * `signer` the manifest's signature (`manifest.sig.json`).
 */
export async function evidenceFiles(
  gathered: Gathered,
  report: Report,
  rendered: { markdown: string; html: string },
  signer?: Signer | undefined,
): Promise<Map<string, string>> {
  const { inputs } = gathered;
  const files = await buildBundle({
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
      versions: [...(inputs.preserved?.versions ?? [])],
      tampering: [...(inputs.preserved?.tampering ?? [])],
    },
    documents: {
      report,
      "report.md": rendered.markdown,
      "report.html": rendered.html,
      "timeline.ndjson": timelineNdjson(report),
      [SIGNOFFS]: inputs.incident.signoffs ?? [],
    },
  });
  if (signer !== undefined) {
    const signature = await signManifest(
      files.get(MANIFEST) ?? "",
      inputs.incident.id,
      signer,
      inputs.generatedAt,
    );
    files.set(MANIFEST_SIG, `${JSON.stringify(signature, null, 2)}\n`);
  }
  return files;
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
      for (const m of records<MinuteFields>(files, "shapes") ?? []) put(m.minute, "shapes", m.fields);
      for (const m of records<MinuteFields>(files, "traffic") ?? []) put(m.minute, "traffic", m.fields);
      for (const t of records<Gathered["top"][number]>(files, "top") ?? [])
        put(t.minute, `top:${t.dimension}` as CopyKind, t.members);
      if ((await contentHash(content)) !== last.hash)
        problems.push(
          `counts, shapes, traffic and top do not hash to version ${last.n} of the preserved copy (${last.hash})`,
        );
    }
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  return problems;
}

export interface EvidenceCheck extends BundleCheck {
  audit?: { ok: boolean; head: string; count: number; firstBreak?: string };
  /** What was and was not signed, said plainly (an unsigned manifest is a note, not a failure, without --keys). */
  notes: string[];
  manifestSignedAt: string | null;
  signoffs: number;
}

/** @example const check = await verifyEvidence(readBundle(dir)); if (!check.ok) console.error(check.problems); */
export async function verifyEvidence(
  files: ReadonlyMap<string, string>,
  options: { keys?: KeySet | undefined } = {},
): Promise<EvidenceCheck> {
  const bundle = await checkBundle(files);
  if (!bundle.manifest) return { ...bundle, notes: [], manifestSignedAt: null, signoffs: 0 };
  const signatures = await checkSignatures(files, options.keys);
  const check = {
    ...bundle,
    manifest: bundle.manifest,
    ok: bundle.ok && signatures.problems.length === 0,
    problems: [...bundle.problems, ...signatures.problems],
    notes: signatures.notes,
    manifestSignedAt: signatures.manifestSignedAt,
    signoffs: signatures.signoffs,
  };
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
