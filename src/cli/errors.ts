import { isContainmentError } from "../core/errors.js";
import { EXIT, type ExitCode, isOpsError } from "../ops/errors.js";
import { redactOutput } from "./secrets.js";

/**
 * The exit code of an error that ended a command before it wrote anything (docs/cli.md, "Exit
 * codes"): an OpsError carries its own; the library's errors are bad input (a rules document, a
 * flag's value: 2) or a dependency that did not answer (4); anything else is a bug (1).
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (isOpsError(error)) return error.exitCode;
  if (isContainmentError(error))
    return error.code === "ERR_RULES_INVALID" || error.code === "ERR_CONFIG" ? EXIT.usage : EXIT.unavailable;
  return EXIT.internal;
}

/**
 * Ends a command that runs outside `action` (`dev`, `dashboard`) with one line and the code of its
 * cause (`exitCodeOf`). Our own errors are meant for the user and print as they are; anything else
 * is a bug: one line, and its stack with CONTAINMENT_DEBUG=1. Secrets are masked either way.
 */
export function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  const ours = isOpsError(error) || isContainmentError(error) || message.startsWith("edge-containment:");
  console.error(redactOutput(ours ? message : `edge-containment: unexpected error: ${message}`, {}));
  if (!ours && process.env.CONTAINMENT_DEBUG && error instanceof Error)
    console.error(redactOutput(error.stack ?? message, {}));
  process.exit(exitCodeOf(error));
}
