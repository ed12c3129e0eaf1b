/** Stable error codes: operators and scripts match on these, never on message text. */
export type ContainmentErrorCode =
  | "ERR_RULES_INVALID"
  | "ERR_RULES_SOURCE"
  | "ERR_CONFIG"
  | "ERR_DEADLINE"
  | "ERR_STORE_UNAVAILABLE";

/** Where in a rules document a fault is, as a JSON path like `$.rules[2].window`. */
export interface RulesIssue {
  path: string;
  message: string;
}

/**
 * Every error the library throws on purpose. Messages start with `edge-containment:` so they are
 * findable in a log stream that mixes many sources.
 */
export class ContainmentError extends Error {
  readonly code: ContainmentErrorCode;
  readonly issues: readonly RulesIssue[];

  constructor(code: ContainmentErrorCode, message: string, issues: readonly RulesIssue[] = []) {
    super(`edge-containment: ${message}`);
    this.name = "ContainmentError";
    this.code = code;
    this.issues = issues;
  }
}

/** A rules document that failed validation or compilation; `issues` names each fault's JSON path. */
export function rulesInvalid(issues: readonly RulesIssue[]): ContainmentError {
  const first = issues[0];
  const summary = first ? `${first.path}: ${first.message}` : "unknown fault";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new ContainmentError("ERR_RULES_INVALID", `invalid rules document at ${summary}${more}`, issues);
}

export function isContainmentError(value: unknown): value is ContainmentError {
  return value instanceof ContainmentError;
}
