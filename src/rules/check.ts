import { isContainmentError } from "../core/errors.js";
import type { Services } from "../model/services.js";
import type { RulesDocument } from "./document.js";
import { compileRuleset } from "./ruleset.js";
import { type Validated, validateDocument } from "./validate.js";

/** Services for a trial compile: nothing is fetched, read or reported. */
const INERT: Services = {
  now: () => 0,
  fetch: () => Promise.reject(new Error("edge-containment: no network during a rules check")),
  env: {},
  report: () => {},
};

/**
 * Everything the firewall checks before it would enforce a document: the schema, then the
 * cross-field checks the rule kinds make while compiling (a tenant parameter every pattern
 * captures, a quarantine with an identity to key on). `containment rules validate` and the dev
 * server use this, so a document they accept is one Edge Config will not reject.
 */
export function checkDocument(input: unknown): Validated<RulesDocument> {
  const validated = validateDocument(input);
  if (!validated.ok) return validated;
  try {
    compileRuleset(validated.value, [], "static", INERT);
  } catch (error) {
    if (isContainmentError(error) && error.issues.length > 0) return { ok: false, issues: [...error.issues] };
    throw error;
  }
  return validated;
}
