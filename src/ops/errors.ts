/**
 * Errors of the responder's side. Each carries a stable `code` and the process exit code the CLI
 * ends with, so scripts can tell "nothing changed, fix your input" from "changed, but unconfirmed".
 * Messages are one line saying what to do; they start with `edge-containment:` like the library's.
 */

/**
 * Exit codes of `containment`. docs/cli.md's table is generated from this object and its comments
 * (`npm run docs`), so each comment is what a responder reads there.
 */
export const EXIT = {
  /** Done: the change was made (and confirmed, with `--wait`), or the command read what it was asked. */
  ok: 0,
  /**
   * Unexpected failure (a bug): one line on stderr, the stack with `CONTAINMENT_DEBUG=1`. Also
   * `rules test --fail-on-new-blocks` when something admitted would now be blocked. Never once a
   * change was written: that ends with 0, 5, 9, 10 or 11.
   */
  internal: 1,
  /** Bad flags, arguments or input file: nothing was changed. */
  usage: 2,
  /**
   * Configuration missing or refused (token, store id, Redis, the signing key, the rules file of
   * `dev`), or this command needs Redis and none is configured: nothing was changed.
   */
  config: 3,
  /**
   * The Vercel API or Redis could not be reached, refused the write or rate-limited us before
   * anything was written: nothing was changed.
   */
  unavailable: 4,
  /**
   * The change was made and audited, but `--wait` could not confirm it everywhere: `--timeout`
   * passed, Redis could not be read (the isolates report there), or Ctrl-C ended the wait.
   */
  unconfirmed: 5,
  /** Declined at the prompt, or a prompt was needed without a terminal and no `--yes`: nothing was changed. */
  declined: 6,
  /** The change conflicts with the item as it is now (lifted meanwhile, exists already): nothing was changed. */
  conflict: 7,
  /**
   * `audit verify` (or `evidence verify`, `report`, `audit anchor`) found a broken chain, a bad
   * signature, an anchor that disagrees, is malformed or is missing (without `--allow-unanchored`),
   * or more entries after the anchor than one change leaves (review them, then `audit anchor`);
   * or (`report`, `evidence export`, `evidence verify`) the live mirror keys contradicted the
   * incident's preserved copy, or a bundle's aggregates do not hash to its last chained version.
   */
  tampered: 8,
  /**
   * The change was made (and confirmed, with `--wait`), but its audit entries went to the local
   * journal (Redis unreachable): run `containment audit sync`. From `audit verify`: the chain
   * verifies, but entries wait in this machine's journal.
   */
  journaled: 9,
  /**
   * The change was made, but Redis could not be reached: its audit entries went to the local
   * journal AND `--wait` could not confirm it. Run `containment audit sync`, and `containment status` for
   * the regions, once Redis answers.
   */
  journaledUnconfirmed: 10,
  /**
   * The change was made, audited (and confirmed, with `--wait`), but a step after it failed: a
   * webhook notification, the fast-lane publish or withdrawal, moving the audit anchor, recording
   * `--wait`'s confirmations with the incident, the evidence bundle of `incident close`, or some
   * switches of `lift --incident`. A warning line names each.
   */
  incomplete: 11,
  /**
   * The incident, kill switch, quarantine, detection or audit anchor named does not exist (`lift`,
   * `extend`, `quarantine release`, `detections release|approve`, `incident close|set|decide|notified|sign-off`,
   * `report`, `evidence export`, `rules pull`), or `pseudonym resolve` matched none of the
   * candidates: nothing was changed. `containment list`,
   * `quarantine list`, `detections list` and `incident list` show what exists.
   */
  notFound: 12,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** What went wrong after a write landed; each is also one warning line. */
export interface AfterWrite {
  /** Audit entries went to the local journal instead of Redis. */
  journaled: boolean;
  /** `--wait` was asked for and could not confirm the change everywhere. */
  unconfirmed: boolean;
  /** Another step after the write failed (webhook, fast lane, anchor, confirmations record, …). */
  incomplete: boolean;
}

/**
 * The exit code of a command whose change was written: never 1, whatever failed afterwards. When
 * several things failed, the first that applies of 10, 5, 9, 11 (docs/runbook.md, "When a
 * dependency fails"); the warning lines name every one.
 */
export function writtenExit(after: AfterWrite): ExitCode {
  if (after.journaled && after.unconfirmed) return EXIT.journaledUnconfirmed;
  if (after.unconfirmed) return EXIT.unconfirmed;
  if (after.journaled) return EXIT.journaled;
  if (after.incomplete) return EXIT.incomplete;
  return EXIT.ok;
}

/** The name of an exit code (`journaled`, …), as `--json` gives it in `outcome`. */
export function exitName(code: number): string {
  return Object.entries(EXIT).find(([, value]) => value === code)?.[0] ?? "internal";
}

export type OpsErrorCode =
  | "ERR_USAGE"
  | "ERR_CONFIG"
  | "ERR_AUTH"
  | "ERR_NOT_FOUND"
  | "ERR_RATE_LIMITED"
  | "ERR_UNAVAILABLE"
  | "ERR_CONFLICT"
  | "ERR_REJECTED"
  | "ERR_DECLINED"
  | "ERR_AUDIT";

const EXIT_OF: Record<OpsErrorCode, ExitCode> = {
  ERR_USAGE: EXIT.usage,
  ERR_CONFIG: EXIT.config,
  ERR_AUTH: EXIT.config,
  ERR_NOT_FOUND: EXIT.notFound,
  ERR_RATE_LIMITED: EXIT.unavailable,
  ERR_UNAVAILABLE: EXIT.unavailable,
  ERR_CONFLICT: EXIT.conflict,
  ERR_REJECTED: EXIT.usage,
  ERR_DECLINED: EXIT.declined,
  ERR_AUDIT: EXIT.unavailable,
};

export class OpsError extends Error {
  readonly code: OpsErrorCode;
  readonly exitCode: ExitCode;
  /** Extra facts for `--json` output (HTTP status, JSON paths of faults…). */
  readonly details: Record<string, unknown>;

  constructor(code: OpsErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(`edge-containment: ${message}`);
    this.name = "OpsError";
    this.code = code;
    this.exitCode = EXIT_OF[code];
    this.details = details;
  }
}

export function isOpsError(value: unknown): value is OpsError {
  return value instanceof OpsError;
}

export function usageError(message: string, details?: Record<string, unknown>): OpsError {
  return new OpsError("ERR_USAGE", message, details);
}

export function configError(message: string, details?: Record<string, unknown>): OpsError {
  return new OpsError("ERR_CONFIG", message, details);
}

/** `redis://user:password@host`, `https://…?token=…`: the secret parts of URLs in `text`, masked. */
export function maskCredentials(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, "$1***@")
    .replace(/([?&](?:_?token|key|secret|password|sig)=)[^\s&#"']+/gi, "$1***");
}

const UNREACHABLE =
  /\b(?:ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|ETIMEDOUT)\b|fetch failed|unavailable|isn't writeable|connection is closed|socket hang up|other side closed/i;

/** An API error's cause without its advice ("nothing was changed" is not true of a step after a write). */
function opsCause(error: OpsError): string {
  if (error.details.timedOut === true) return "did not answer in time";
  switch (error.code) {
    case "ERR_AUTH":
      return "refused the token";
    case "ERR_RATE_LIMITED":
      return "rate-limited the request";
    case "ERR_CONFLICT":
      return "refused it: the item changed meanwhile";
    case "ERR_UNAVAILABLE":
      return typeof error.details.status === "number" ? `answered ${error.details.status}` : "is unreachable";
    default:
      return typeof error.details.status === "number" ? `answered ${error.details.status}` : "failed";
  }
}

/** Whether an OpsError is a failed Redis call (ops/redis-failure.ts names the endpoint and the command). */
function isRedisFailure(error: OpsError): boolean {
  return typeof error.details.endpoint === "string" && typeof error.details.command === "string";
}

/** A failed Redis call's cause: what went wrong in a few words, never the command's arguments. */
function redisCause(error: OpsError): string {
  const reason = String(error.details.reason ?? "");
  const command = String(error.details.command);
  if (error.code === "ERR_AUTH")
    return /^NOPERM\b/.test(reason) ? `refused ${command} to this user (NOPERM)` : "refused the credentials";
  if (error.message.startsWith("edge-containment: cannot reach Redis"))
    return reason === "" ? "is unreachable" : `is unreachable (${reason})`;
  if (UNREACHABLE.test(reason)) return "is unreachable";
  const code = /^([A-Z][A-Z_]{2,})\b/.exec(reason)?.[1];
  return code !== undefined && code !== "ERR"
    ? `refused ${command} (${code})`
    : `answered ${command} with an error`;
}

/**
 * Why a call to a dependency failed, in words a responder can act on, to follow its name: "Redis
 * is unreachable (connection refused)", "the Vercel API answered 503". Never a client's own
 * message, which carries the command it sent (a Lua script's source, values), an address with its
 * password, or a stack. Our own errors (`edge-containment: …`) keep their words.
 */
export function failureCause(error: unknown): string {
  if (isOpsError(error)) return isRedisFailure(error) ? redisCause(error) : opsCause(error);
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  const deadline = /exceeded its (\d+) ms deadline/.exec(message);
  if (deadline) return `did not answer within ${deadline[1]} ms`;
  if (name === "TimeoutError" || name === "AbortError") return "did not answer in time";
  if (message.startsWith("edge-containment: "))
    return `failed: ${maskCredentials(message.slice("edge-containment: ".length).split("\n")[0] ?? "")}`;
  if (UNREACHABLE.test(message)) return "is unreachable";
  return `failed (${name})`;
}

/** What failed, with its subject when known: "Redis is unreachable (…)", "the Vercel API answered 503". */
export function describeFailure(error: unknown): string {
  if (isOpsError(error) && isRedisFailure(error)) return `Redis ${redisCause(error)}`;
  if (isOpsError(error) && (error.details.status !== undefined || error.details.method !== undefined))
    return `the Vercel API ${opsCause(error)}`;
  if (isOpsError(error)) return error.message.replace(/^edge-containment: /, "");
  return failureCause(error);
}
