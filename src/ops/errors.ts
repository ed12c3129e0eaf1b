/**
 * Errors of the responder's side. Each carries a stable `code` and the process exit code the CLI
 * ends with, so scripts can tell "nothing changed, fix your input" from "changed, but unconfirmed".
 * Messages are one line saying what to do; they start with `edge-containment:` like the library's.
 */

/** Exit codes of `containment` (documented in README "CLI reference"). */
export const EXIT = {
  ok: 0,
  /** Unexpected failure (a bug): the message keeps its stack. */
  internal: 1,
  /** Bad flags, arguments or input file: nothing was changed. */
  usage: 2,
  /** Configuration missing or refused (token, store id, Redis): nothing was changed. */
  config: 3,
  /** The Vercel API or Redis could not be reached or refused the write: nothing was changed. */
  unavailable: 4,
  /** The change was made, but `--wait` could not confirm it everywhere before `--timeout`. */
  unconfirmed: 5,
  /** The responder declined at the prompt (or a prompt was needed and none was possible). */
  declined: 6,
  /** The change conflicts with the item as it is now (lifted meanwhile, exists already). */
  conflict: 7,
  /** `audit verify` found a broken chain, bad signature or an anchor that disagrees. */
  tampered: 8,
  /** The change stands but its audit entries went to the local journal (Redis unreachable). */
  journaled: 9,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

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
  ERR_NOT_FOUND: EXIT.config,
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
