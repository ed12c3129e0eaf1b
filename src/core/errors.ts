/*
 * Every error the library throws on purpose, in the style of jose's `util/errors.ts`: one subclass
 * per code, the code both on the class (`RulesInvalid.code`, to compare without an instance) and on
 * each instance (`error.code`, what operators and scripts match on; never the message text).
 * Messages start with `edge-containment:` so they are findable in a log stream that mixes sources.
 */

/** Where in a rules document (or a config file) a fault is, as a JSON path like `$.rules[2].window`. */
export interface RulesIssue {
  path: string;
  message: string;
}

/** The stable codes: one per subclass below. */
export type ContainmentErrorCode =
  | "ERR_RULES_INVALID"
  | "ERR_RULES_SOURCE"
  | "ERR_CONFIG"
  | "ERR_DEADLINE"
  | "ERR_STORE_UNAVAILABLE"
  | "ERR_JWKS_UNAVAILABLE";

/** The base class: `instanceof ContainmentError` (or `isContainmentError`) catches all of them. */
export abstract class ContainmentError extends Error {
  abstract readonly code: ContainmentErrorCode;
  /** JSON paths of the faults, for the codes that have them (rules, config files); else empty. */
  readonly issues: readonly RulesIssue[];

  constructor(message: string, options?: { cause?: unknown; issues?: readonly RulesIssue[] }) {
    super(
      `edge-containment: ${message}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = new.target.name;
    this.issues = options?.issues ?? [];
  }
}

/**
 * An error's text for a report or a log line: its message, never `String(error)`, whose class name
 * a minified bundle mangles (`Oe: edge-containment: …`).
 */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const strip = (message: string): string => message.replace(/^edge-containment: /, "");

function summary(issues: readonly RulesIssue[]): string {
  const first = issues[0];
  const at = first ? `${first.path}: ${first.message}` : "unknown fault";
  return `invalid rules document at ${at}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ""}`;
}

/** A rules document (or kill-switch item) that failed validation or compilation. */
export class RulesInvalid extends ContainmentError {
  static readonly code = "ERR_RULES_INVALID";
  readonly code = "ERR_RULES_INVALID";

  constructor(issues: readonly RulesIssue[], message = summary(issues)) {
    super(message, { issues });
  }
}

/** Bad options or setup (a store without databases, a port in use, an unreadable file). */
export class ConfigInvalid extends ContainmentError {
  static readonly code = "ERR_CONFIG";
  readonly code = "ERR_CONFIG";

  constructor(message: string, options?: { cause?: unknown; issues?: readonly RulesIssue[] }) {
    super(message, options);
  }
}

/** A dependency call (Redis, Edge Config, a JWKS) ran past its deadline. */
export class DeadlineExceeded extends ContainmentError {
  static readonly code = "ERR_DEADLINE";
  readonly code = "ERR_DEADLINE";

  constructor(
    readonly label: string,
    readonly ms: number,
  ) {
    super(`${label} exceeded its ${ms} ms deadline`);
  }
}

/** The rate-limit store (Redis) answered with an error, too few replies, or not at all. */
export class StoreUnavailable extends ContainmentError {
  static readonly code = "ERR_STORE_UNAVAILABLE";
  readonly code = "ERR_STORE_UNAVAILABLE";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A tenant-binding rule's key set could not be fetched (network, timeout, status, body). */
export class JwksUnavailable extends ContainmentError {
  static readonly code = "ERR_JWKS_UNAVAILABLE";
  readonly code = "ERR_JWKS_UNAVAILABLE";

  constructor(message: string, options?: { cause?: unknown }) {
    super(`JWKS unavailable: ${message}`, options);
  }
}

/**
 * Why the rules source failed, in terms an operator can act on: a wrong token (`unauthorized`) is
 * a misconfiguration to fix, not an outage to wait out.
 */
export type SourceFailureCause = "unauthorized" | "not-found" | "status" | "timeout" | "network" | "error";

/** Edge Config (the rules source) refused or failed a read; `status` is the HTTP status when there was one. */
export class RulesSourceUnavailable extends ContainmentError {
  static readonly code = "ERR_RULES_SOURCE";
  readonly code = "ERR_RULES_SOURCE";
  readonly reason: SourceFailureCause;
  readonly status: number | undefined;

  constructor(
    reason: SourceFailureCause,
    status: number | undefined,
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ?? RulesSourceUnavailable.describe(reason, status), options);
    this.reason = reason;
    this.status = status;
  }

  private static describe(reason: SourceFailureCause, status: number | undefined): string {
    switch (reason) {
      case "unauthorized":
        return "edge config refused the token (401): check the token in EDGE_CONFIG";
      case "not-found":
        return "edge config not found (404): check the id in EDGE_CONFIG";
      case "status":
        return `edge config answered ${status}`;
      case "timeout":
        return "edge config did not answer within its deadline";
      case "network":
        return "edge config unreachable (network error)";
      case "error":
        return "edge config read failed";
    }
  }

  /**
   * Classifies what an Edge Config client threw. `@vercel/edge-config` 1.x throws plain Errors
   * ("Unauthorized", "Edge Config not found", "…status code 503") and a TypeError from fetch.
   */
  static from(error: unknown): RulesSourceUnavailable {
    if (error instanceof RulesSourceUnavailable) return error;
    const options = { cause: error };
    if (error instanceof DeadlineExceeded)
      return new RulesSourceUnavailable("timeout", undefined, { ...options, message: strip(error.message) });
    // Our own checks on what Edge Config served (a document over the size limit) keep their words.
    if (error instanceof ContainmentError)
      return new RulesSourceUnavailable("error", undefined, { ...options, message: strip(error.message) });
    const message = errorText(error);
    if (/\bunauthori[sz]ed\b/i.test(message)) return new RulesSourceUnavailable("unauthorized", 401, options);
    if (/\bnot found\b/i.test(message)) return new RulesSourceUnavailable("not-found", 404, options);
    const status = /\bstatus(?: code)? (\d{3})\b/i.exec(message)?.[1];
    if (status !== undefined) {
      const code = Number(status);
      if (code === 401 || code === 403) return new RulesSourceUnavailable("unauthorized", code, options);
      if (code === 404) return new RulesSourceUnavailable("not-found", code, options);
      return new RulesSourceUnavailable("status", code, options);
    }
    if (error instanceof TypeError) return new RulesSourceUnavailable("network", undefined, options);
    return new RulesSourceUnavailable("error", undefined, options);
  }
}

export function isContainmentError(value: unknown): value is ContainmentError {
  return value instanceof ContainmentError;
}
