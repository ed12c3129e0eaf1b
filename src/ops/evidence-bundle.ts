/**
 * The evidence bundle of an incident: JSON Lines files of the audit entries, aggregates and events
 * of its window, and a manifest naming each file's SHA-256 and the audit chain's head. Built and
 * checked here as name → text maps (no file system: this runs wherever `fetch` does); the CLI writes
 * and reads the directory.
 *
 *   manifest.json        {format, version, incident, createdAt, auditHead, auditVerified, files:[{name, bytes, lines, sha256}]}
 *   incident.json        the incident record
 *   audit.jsonl          the audit records as stored (entry, hash, stream id, signature)
 *   counts.jsonl         {minute, fields}            per minute, `rule|outcome → n`
 *   shapes.jsonl         {minute, fields}            per minute, `host|shape|method|tenant|outcome → n`
 *   traffic.jsonl        {minute, fields}            format 1 minutes, `route|method|tenant|outcome → n`
 *   top.jsonl            {minute, dimension, members}
 *   events.jsonl         {streamId, fields}
 *   confirmations.jsonl  {switchId, version, state, region, at}
 *   quarantines.jsonl    {dimension, id, rule, firstSeen, until}
 *   versions.jsonl       {n, at, hash, through, added, findings}  versions of the incident copy
 *   tampering.jsonl      {minute, kind, field, preserved, live, reason, at}  what the live keys contradicted
 *   report.json          the report (schema docs/report.schema.json), also report.md, report.html
 *   timeline.ndjson      the report's timeline, one JSON object per line (incident tools, GRC platforms)
 *   signoffs.json        the approvers' signed sign-offs of the incident record's versions
 *   manifest.sig.json    the responder's signature over manifest.json, timestamped (with a signing key)
 */
import { sha256Hex } from "../core/hash.js";

export const BUNDLE_FORMAT = "edge-containment-evidence";
export const BUNDLE_VERSION = 1;
export const MANIFEST = "manifest.json";
/** The responder's signature over manifest.json (evidence-signatures.ts); the one file the manifest cannot list. */
export const MANIFEST_SIG = "manifest.sig.json";

export interface BundleFile {
  name: string;
  bytes: number;
  lines: number;
  sha256: string;
}

export interface Manifest {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  incident: string;
  createdAt: string;
  window: { since: string; until: string };
  /** `<seq>:<hash>` of the last audit entry in the bundle ("" for none). */
  auditHead: string;
  auditVerified: boolean;
  files: BundleFile[];
}

export interface BundleContents {
  incident: { id: string } & Record<string, unknown>;
  window: { since: string; until: string };
  createdAt: string;
  auditHead: string;
  auditVerified: boolean;
  /** File name (`audit`, `counts`, …, without `.jsonl`) → the records of that file. */
  records: Readonly<Record<string, readonly unknown[]>>;
  /** Whole JSON documents (`report` → report.json). */
  documents?: Readonly<Record<string, unknown>>;
}

const encoder = new TextEncoder();
const NAME = /^[a-z][a-z0-9-]{0,40}\.(jsonl|ndjson|json|md|html)$/;

function jsonl(records: readonly unknown[]): string {
  return records.map((record) => `${JSON.stringify(record)}\n`).join("");
}

async function describe(name: string, text: string): Promise<BundleFile> {
  const lines = text === "" ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  return { name, bytes: encoder.encode(text).length, lines, sha256: await sha256Hex(text) };
}

/**
 * @example
 * const files = await buildBundle({ incident, window, createdAt, auditHead, auditVerified, records: { audit, counts } });
 * for (const [name, text] of files) writeFileSync(join(dir, name), text);
 */
export async function buildBundle(contents: BundleContents): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  files.set("incident.json", `${JSON.stringify(contents.incident, null, 2)}\n`);
  for (const [name, records] of Object.entries(contents.records)) files.set(`${name}.jsonl`, jsonl(records));
  for (const [name, document] of Object.entries(contents.documents ?? {}))
    files.set(
      name.includes(".") ? name : `${name}.json`,
      typeof document === "string" ? document : `${JSON.stringify(document, null, 2)}\n`,
    );
  const described: BundleFile[] = [];
  for (const [name, text] of [...files].sort(([a], [b]) => a.localeCompare(b)))
    described.push(await describe(name, text));
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    incident: contents.incident.id,
    createdAt: contents.createdAt,
    window: contents.window,
    auditHead: contents.auditHead,
    auditVerified: contents.auditVerified,
    files: described,
  };
  files.set(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
  return files;
}

export interface BundleCheck {
  ok: boolean;
  manifest?: Manifest;
  /** One line per problem: a file changed, missing, unlisted, or a manifest that does not parse. */
  problems: string[];
}

function parseManifest(text: string | undefined): Manifest | string {
  if (text === undefined) return `${MANIFEST} is missing`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return `${MANIFEST} is not JSON: ${error instanceof Error ? error.message : String(error)}`;
  }
  const m = parsed as Partial<Manifest>;
  if (m?.format !== BUNDLE_FORMAT || m.version !== BUNDLE_VERSION || !Array.isArray(m.files))
    return `${MANIFEST} is not an ${BUNDLE_FORMAT} v${BUNDLE_VERSION} manifest`;
  for (const file of m.files)
    if (typeof file?.name !== "string" || !NAME.test(file.name) || typeof file.sha256 !== "string")
      return `${MANIFEST} lists a file entry that is not {name, sha256, bytes, lines}`;
  return m as Manifest;
}

/**
 * Checks every file against the manifest (SHA-256, size), and that no file is missing or unlisted.
 * The audit chain inside is checked by the caller with `verifyAudit` against `manifest.auditHead`.
 */
export async function checkBundle(files: ReadonlyMap<string, string>): Promise<BundleCheck> {
  const manifest = parseManifest(files.get(MANIFEST));
  if (typeof manifest === "string") return { ok: false, problems: [manifest] };
  const problems: string[] = [];
  const listed = new Set<string>();
  for (const expected of manifest.files) {
    listed.add(expected.name);
    const text = files.get(expected.name);
    if (text === undefined) {
      problems.push(`${expected.name} is missing`);
      continue;
    }
    const actual = await describe(expected.name, text);
    if (actual.sha256 !== expected.sha256)
      problems.push(
        `${expected.name} was changed: SHA-256 ${actual.sha256}, manifest says ${expected.sha256}`,
      );
    else if (actual.bytes !== expected.bytes)
      problems.push(`${expected.name} has ${actual.bytes} bytes, manifest says ${expected.bytes}`);
  }
  for (const name of files.keys())
    if (name !== MANIFEST && name !== MANIFEST_SIG && !listed.has(name))
      problems.push(`${name} is not listed in the manifest`);
  return { ok: problems.length === 0, manifest, problems };
}

/** Parses a `.jsonl` file of the bundle; a bad line names its number. */
export function parseJsonl(name: string, text: string): unknown[] {
  const out: unknown[] = [];
  const lines = text.split("\n");
  for (const [index, line] of lines.entries()) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      throw new Error(`edge-containment: ${name}:${index + 1}: not a JSON line`);
    }
  }
  return out;
}
