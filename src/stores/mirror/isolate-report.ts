/**
 * The per-isolate enforcement report (docs/contracts.md, the isolate report): which ruleset and which kill switches
 * one isolate enforces, at which decision sequence number. Written by the mirror with its flushes,
 * read by `containment status --wait`, the dashboard and the report through the mirror reader.
 *
 * The record is MAC'd (HMAC-SHA256, base64url) over its canonical JSON without `mac`, keyed by the
 * deployment secret `CONTAINMENT_REPORT_SECRET`: the edge's Redis token alone cannot forge a
 * confirmation that a switch is enforced. Without a secret the report carries no `mac`, and readers
 * treat it as unverified, never as a confirmation.
 *
 * The MAC key is bound to the deployment environment (`VERCEL_ENV`, production when unset): it is
 * HMAC-SHA256(secret, "edge-containment report <environment>"), so a preview deployment that was
 * given the production secret still writes reports production's readers reject (docs/security.md,
 * "Preview deployments"). Readers check for production unless told otherwise.
 *
 * The canonical JSON is the ruleset digest's (src/core/digest.ts): for what a report holds (strings,
 * integers, lists of strings, one flat object) it is RFC 8785's, keys sorted by UTF-16 code unit.
 */
import { canonicalJson } from "../../core/digest.js";
import { hmacSha256, hmacSha256Key, timingSafeEqual } from "../../core/hash.js";

export interface IsolateReport {
  readonly v: 1;
  readonly region: string;
  readonly isolate: string;
  /** The isolate's decision sequence number when the report was made. */
  readonly seq: number;
  /** Isolate clock, ms. */
  readonly at: number;
  /** Ruleset digest in force. */
  readonly digest: string;
  /** Kill switches in force from Edge Config and the document, `id@version`. */
  readonly switches: readonly string[];
  /** Kill switches enforced only through the fast lane, `id@version`. */
  readonly fast: readonly string[];
  readonly mac?: string;
}

function base64url(bytes: ArrayBuffer): string {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The environment a report is bound to when none is named: what `--wait` confirms. */
export const PRODUCTION_ENVIRONMENT = "production";

/** The edge's environment: `VERCEL_ENV`, production when unset (local runs, other hosts). */
export function reportEnvironment(env: Readonly<Record<string, string | undefined>>): string {
  return env.VERCEL_ENV || PRODUCTION_ENVIRONMENT;
}

const keys = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string, environment: string): Promise<CryptoKey> {
  const id = `${environment}\u0000${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = hmacSha256(secret, `edge-containment report ${environment}`).then(hmacSha256Key);
    // One deployment has one secret; a second entry only appears in tests.
    if (keys.size > 8) keys.clear();
    keys.set(id, key);
  }
  return key;
}

/** base64url HMAC-SHA256 of the canonical JSON of `report` without its `mac`, keyed for `environment`. */
export async function reportMac(
  report: IsolateReport,
  secret: string,
  environment = PRODUCTION_ENVIRONMENT,
): Promise<string> {
  const { mac: _mac, ...body } = report;
  return base64url(await hmacSha256(await hmacKey(secret, environment), canonicalJson(body)));
}

/** The report as stored: canonical JSON, with a `mac` when a secret is configured. */
export async function serializeReport(
  report: IsolateReport,
  secret: string | undefined,
  environment = PRODUCTION_ENVIRONMENT,
): Promise<string> {
  const { mac: _mac, ...body } = report;
  if (!secret) return canonicalJson(body);
  return canonicalJson({ ...body, mac: await reportMac(body as IsolateReport, secret, environment) });
}

export type ReportTrust = "verified" | "unsigned" | "bad-mac" | "no-secret";

/**
 * How far a stored report can be trusted: `verified` only when the reader holds the secret and the
 * MAC matches; `unsigned` when the edge wrote no MAC; `no-secret` when the reader cannot check one.
 */
export async function verifyReport(
  report: IsolateReport,
  secret: string | undefined,
  environment = PRODUCTION_ENVIRONMENT,
): Promise<ReportTrust> {
  if (report.mac === undefined) return "unsigned";
  if (!secret) return "no-secret";
  return timingSafeEqual(await reportMac(report, secret, environment), report.mac) ? "verified" : "bad-mac";
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === "string");

/** Parses a stored report; undefined when it is not one (malformed JSON or fields). */
export function parseReport(text: string): IsolateReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== "object") return undefined;
  const r = value as Record<string, unknown>;
  if (r.v !== 1 || typeof r.region !== "string" || typeof r.isolate !== "string") return undefined;
  if (!Number.isSafeInteger(r.seq) || !Number.isFinite(r.at) || typeof r.digest !== "string")
    return undefined;
  if (!isStringArray(r.switches) || !isStringArray(r.fast)) return undefined;
  if (r.mac !== undefined && typeof r.mac !== "string") return undefined;
  return {
    v: 1,
    region: r.region,
    isolate: r.isolate,
    seq: r.seq as number,
    at: r.at as number,
    digest: r.digest,
    switches: r.switches,
    fast: r.fast,
    ...(typeof r.mac === "string" ? { mac: r.mac } : {}),
  };
}

/** The facts of a ruleset a report names (the compiled ruleset satisfies it). */
export interface EnforcedRuleset {
  readonly digest: string;
  readonly rules: readonly {
    readonly id: string;
    readonly kind: string;
    readonly source: string;
    readonly version?: number;
  }[];
}

/**
 * Kill switches in force as `id@version` (docs/contracts.md: no version → 0), split into those
 * Edge Config (or the document) holds and those enforced only through the fast lane (a rule whose
 * `source` starts with `fastlane`).
 */
export function enforcementOf(ruleset: EnforcedRuleset): {
  digest: string;
  switches: string[];
  fast: string[];
} {
  const switches: string[] = [];
  const fast: string[] = [];
  for (const rule of ruleset.rules) {
    if (rule.kind !== "kill-switch") continue;
    const version = rule.version ?? 0;
    (rule.source.startsWith("fastlane") ? fast : switches).push(`${rule.id}@${version}`);
  }
  return { digest: ruleset.digest, switches: switches.sort(), fast: fast.sort() };
}
