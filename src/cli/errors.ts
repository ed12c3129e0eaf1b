import { isContainmentError } from "../core/errors.js";

/**
 * Ends a command with a clear message: our own errors are meant for the user and print as they are;
 * anything else is a bug and keeps its stack.
 */
export function fail(error: unknown): never {
  if (isContainmentError(error)) console.error(error.message);
  else console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
}
