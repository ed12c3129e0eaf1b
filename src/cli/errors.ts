import { isContainmentError } from "../core/errors.js";
import { redactOutput } from "./secrets.js";

/**
 * Ends a command with a clear message: our own errors are meant for the user and print as they are;
 * anything else is a bug and keeps its stack. Secrets are masked either way (src/core/redact.ts).
 */
export function fail(error: unknown): never {
  const text = isContainmentError(error)
    ? error.message
    : error instanceof Error
      ? (error.stack ?? error.message)
      : String(error);
  console.error(redactOutput(text, {}));
  process.exit(1);
}
