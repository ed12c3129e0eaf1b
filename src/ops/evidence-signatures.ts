/**
 * Signatures of an evidence bundle (docs/report.md, evidence bundle): the responder's signature over
 * manifest.json (which holds every other file's SHA-256), timestamped, and the approvers' sign-offs
 * of the incident record. Both use the audit chain's Ed25519 keys (src/ops/audit/sign.ts). Any edit
 * after signing fails: a file edited no longer matches the manifest, an edited manifest no longer
 * matches its signature, an incident record edited in place no longer matches its version's sign-off.
 */
import type { JWK } from "jose";
import { sha256Hex } from "../core/hash.js";
import { canonicalJson } from "./audit/canonical.js";
import { type KeySet, type Signer, signatureVerifier } from "./audit/sign.js";
import { MANIFEST, MANIFEST_SIG } from "./evidence-bundle.js";
import { signedContent, signOffPayload } from "./incident-narrative.js";
import { isoSeconds } from "./report/clocks.js";
import type { IncidentRecord } from "./report/model.js";
import type { SignOff } from "./report/narrative.js";

export const SIGNOFFS = "signoffs.json";

export interface ManifestSignature {
  /** Canonical JSON `{type, incident, sha256 (of manifest.json), signedAt}`: what `jws` signs. */
  payload: string;
  jws: string;
  kid: string;
  publicJwk: JWK | null;
}

/** @example files.set(MANIFEST_SIG, JSON.stringify(await signManifest(files.get(MANIFEST), "INC-1", signer, Date.now()))) */
export async function signManifest(
  manifestText: string,
  incident: string,
  signer: Signer,
  now: number,
): Promise<ManifestSignature> {
  const payload = canonicalJson({
    type: "edge-containment-manifest",
    incident,
    sha256: await sha256Hex(manifestText),
    signedAt: isoSeconds(now),
  });
  return { payload, jws: await signer.sign(payload), kid: signer.kid, publicJwk: signer.publicJwk ?? null };
}

export interface SignatureCheck {
  /** Each one fails `evidence verify` (exit 8). */
  problems: string[];
  /** What was checked, or not, said plainly. */
  notes: string[];
  manifestSignedAt: string | null;
  signoffs: number;
}

function parse<T>(name: string, text: string, problems: string[]): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    problems.push(`${name} is not JSON`);
    return undefined;
  }
}

function keysFor(given: KeySet | undefined, embedded: unknown): KeySet | undefined {
  if (given !== undefined) return given;
  return embedded && typeof embedded === "object" ? { keys: [embedded as JWK] } : undefined;
}

async function checkManifest(
  files: ReadonlyMap<string, string>,
  keys: KeySet | undefined,
  out: SignatureCheck,
): Promise<void> {
  const text = files.get(MANIFEST_SIG);
  if (text === undefined) {
    if (keys !== undefined)
      out.problems.push(`${MANIFEST_SIG} is missing: --keys requires a signed manifest`);
    else out.notes.push("the manifest is not signed (export with --sign-key to sign it)");
    return;
  }
  const sig = parse<ManifestSignature>(MANIFEST_SIG, text, out.problems);
  if (!sig || typeof sig.payload !== "string" || typeof sig.jws !== "string") {
    if (sig) out.problems.push(`${MANIFEST_SIG} is not {payload, jws, kid, publicJwk}`);
    return;
  }
  const payload = parse<{ sha256?: string; signedAt?: string }>(
    `${MANIFEST_SIG} payload`,
    sig.payload,
    out.problems,
  );
  if (!payload) return;
  const actual = await sha256Hex(files.get(MANIFEST) ?? "");
  if (payload.sha256 !== actual)
    out.problems.push(`${MANIFEST} was changed after it was signed at ${payload.signedAt ?? "?"}`);
  const against = keysFor(keys, sig.publicJwk);
  const verdict = against ? await signatureVerifier(against)(sig.payload, sig.jws) : "missing";
  if (verdict !== "ok")
    out.problems.push(
      `${MANIFEST_SIG}: the signature is ${verdict === "missing" ? "missing" : "not valid"} for key ${sig.kid}`,
    );
  else {
    out.manifestSignedAt = payload.signedAt ?? null;
    if (keys === undefined)
      out.notes.push(
        `manifest signature checked against the key inside the bundle (${sig.kid}); pass --keys to check who signed`,
      );
  }
}

async function checkSignOffs(
  files: ReadonlyMap<string, string>,
  keys: KeySet | undefined,
  out: SignatureCheck,
): Promise<void> {
  const text = files.get(SIGNOFFS);
  const incidentText = files.get("incident.json");
  if (text === undefined || incidentText === undefined) return;
  const signoffs = parse<SignOff[]>(SIGNOFFS, text, out.problems);
  const incident = parse<IncidentRecord>("incident.json", incidentText, out.problems);
  if (!Array.isArray(signoffs) || !incident) return;
  for (const s of signoffs) {
    const name = `${SIGNOFFS}: version ${s.version} by ${s.approver}`;
    if ((await sha256Hex(s.content ?? "")) !== s.sha256) {
      out.problems.push(`${name}: the signed content does not match its SHA-256`);
      continue;
    }
    const against = keysFor(keys, s.publicJwk);
    const verdict = against
      ? await signatureVerifier(against)(signOffPayload(incident.id, s), s.jws)
      : "missing";
    if (verdict !== "ok")
      out.problems.push(`${name}: the signature is ${verdict === "missing" ? "missing" : "not valid"}`);
    else out.signoffs++;
  }
  const version = incident.version ?? 1;
  const current = signoffs.filter((s) => s.version === version);
  if (current.length > 0) {
    const now = await sha256Hex(signedContent(incident));
    if (current.some((s) => s.sha256 !== now))
      out.problems.push(
        `incident.json was edited after version ${version} was signed off, without a new version (an edit through \`containment incident set\` starts one)`,
      );
  } else if (signoffs.length > 0)
    out.notes.push(
      `version ${version} of the incident record is not signed off (it replaces ${incident.replaces ?? "?"})`,
    );
}

/** @example const { problems } = await checkSignatures(readBundle(dir), keys); */
export async function checkSignatures(
  files: ReadonlyMap<string, string>,
  keys: KeySet | undefined,
): Promise<SignatureCheck> {
  const out: SignatureCheck = { problems: [], notes: [], manifestSignedAt: null, signoffs: 0 };
  await checkManifest(files, keys, out);
  await checkSignOffs(files, keys, out);
  return out;
}
