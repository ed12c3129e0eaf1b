/**
 * `containment pseudonym resolve`: whether a pseudonym a responder holds (a quarantine id, an
 * event's `user`, a detection's key) is the keyed pseudonym of a value they suspect, for
 * notification. It computes with the pseudonym key (`CONTAINMENT_SALT`, the same one the edge
 * keys with: src/core/identity.ts) and reads nothing else; without the key no dictionary can
 * reverse a pseudonym (docs/security.md#credentials-and-secrets).
 */
import { type IdentityDimension, Keyring } from "../core/identity.js";
import { parseIp } from "../core/ip.js";
import { OpsError, usageError } from "./errors.js";

export type PseudonymKind = IdentityDimension | "value";
export const PSEUDONYM_KINDS: readonly PseudonymKind[] = ["tenant", "user", "ip", "value"];

/** What the edge writes: 16 lower-case hex digits (src/core/hash.ts). */
const PSEUDONYM = /^[0-9a-f]{16}$/;
/** The key must be a secret worth the name: a short one is a dictionary's first guess. */
export const MIN_PSEUDONYM_KEY = 16;

export interface ResolveRequest {
  key: string | undefined;
  /** Where the key came from, for the line that says it is missing. */
  keySource: string;
  kind: PseudonymKind;
  pseudonym: string;
  candidates: readonly string[];
  /** IP networks are counted per prefix, as the deployment's `identity` options say (default 32 / 64). */
  ipv4Prefix?: number;
  ipv6Prefix?: number;
}

export interface ResolveResult {
  pseudonym: string;
  kind: PseudonymKind;
  /** Candidates checked. */
  checked: number;
  /** The candidate, as given, whose pseudonym it is; absent when none is. */
  match?: string;
}

/** The value the edge keys for a candidate of `kind`: tenants fold case, addresses become their network. */
function keyedValue(keyring: Keyring, kind: PseudonymKind, candidate: string): string | undefined {
  if (kind === "tenant") return candidate.toLowerCase();
  if (kind !== "ip") return candidate;
  const ip = parseIp(candidate.replace(/\/\d+$/, ""));
  return ip === undefined ? undefined : keyring.bucket(ip);
}

export async function resolvePseudonym(request: ResolveRequest): Promise<ResolveResult> {
  const pseudonym = request.pseudonym.trim().toLowerCase();
  if (!PSEUDONYM.test(pseudonym))
    throw usageError("the pseudonym must be 16 hex digits, as `quarantine list` and events print it");
  if (request.candidates.length === 0)
    throw usageError("give the value you suspect (or --from a file with one per line)");
  if (request.key === undefined || request.key.length < MIN_PSEUDONYM_KEY)
    throw new OpsError(
      "ERR_CONFIG",
      `set ${request.keySource} to the deployment's pseudonym key (at least ${MIN_PSEUDONYM_KEY} characters): only it resolves a pseudonym`,
    );
  const keyring = new Keyring(request.key, {
    ...(request.ipv4Prefix === undefined ? {} : { ipv4Prefix: request.ipv4Prefix }),
    ...(request.ipv6Prefix === undefined ? {} : { ipv6Prefix: request.ipv6Prefix }),
  });
  let checked = 0;
  for (const candidate of request.candidates) {
    const value = keyedValue(keyring, request.kind, candidate);
    if (value === undefined) throw usageError(`candidate ${checked + 1} is not an IP address`);
    checked++;
    if ((await keyring.pseudonym(request.kind, value)) === pseudonym)
      return { pseudonym, kind: request.kind, checked, match: candidate };
  }
  return { pseudonym, kind: request.kind, checked };
}
