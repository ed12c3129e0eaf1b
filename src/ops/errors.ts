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
   * `rules test --fail-on-new-blocks` when something admitted would now be blocked, and `dev` when
   * it cannot start.
   */
  internal: 1,
  /** Bad flags, arguments or input file: nothing was changed. */
  usage: 2,
  /** Configuration missing or refused (token, store id, Redis): nothing was changed. */
  config: 3,
  /** The Vercel API or Redis could not be reached, refused the write or rate-limited us: nothing was changed. */
  unavailable: 4,
  /** The change was made, but `--wait` could not confirm it everywhere before `--timeout` (or Ctrl-C ended the wait). */
  unconfirmed: 5,
  /** Declined at the prompt, or a prompt was needed without a terminal and no `--yes`: nothing was changed. */
  declined: 6,
  /** The change conflicts with the item as it is now (lifted meanwhile, exists already): nothing was changed. */
  conflict: 7,
  /**
   * `audit verify` (or `evidence verify`, `report`, `audit anchor`) found a broken chain, a bad
   * signature, an anchor that disagrees, is malformed or is missing (without `--allow-unanchored`),
   * or more entries after the anchor than one change leaves (review them, then `audit anchor`).
   */
  tampered: 8,
  /**
   * The change stands but its audit entries went to the local journal (Redis unreachable): run
   * `containment audit sync`. From `audit verify`: the chain verifies, but entries wait in this
   * machine's journal.
   */
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
