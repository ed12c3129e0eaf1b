import * as v from "valibot";
import { RulesInvalid, type RulesIssue } from "../core/errors.js";
import { KILL_SWITCH_PREFIX } from "../model/edge-config-items.js";
import { RULES_DOCUMENT, type RulesDocument } from "./document.js";
import { KILL_SWITCH_ITEM, type KillSwitchSpec } from "./kill-switch.js";

function jsonPath(root: string, issue: v.BaseIssue<unknown>): string {
  let out = root;
  for (const item of issue.path ?? []) {
    const key = item.key;
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

/** Valibot's names of JSON types, as a rules file's reader would say them. */
const TYPE_WORDS: Readonly<Record<string, string>> = {
  Array: "a list",
  Object: "an object",
  string: "a string",
  number: "a number",
  boolean: "true or false",
};

/**
 * The message of one issue in the words of the rules docs. Schemas give their own messages for
 * values; valibot's defaults remain for a missing key ("Invalid key: Expected "origins" but received
 * undefined") and a wrong type ("Invalid type: Expected Array but received "x""), said plainly here.
 */
function messageOf(issue: v.BaseIssue<unknown>): string {
  if (issue.type === "strict_object" && issue.expected === "never") return "is not a known field";
  if ((issue.type === "strict_object" || issue.type === "object") && issue.received === "undefined")
    return "is required";
  const wanted = issue.kind === "schema" && issue.expected !== null ? TYPE_WORDS[issue.expected] : undefined;
  if (wanted !== undefined && issue.message.startsWith("Invalid type:"))
    return `must be ${wanted}, not ${issue.received}`;
  return issue.message;
}

/**
 * Valibot reports a failed `variant` or `union` together with the reason of each option; keep the
 * deepest issue per path, which is the one that names the actual field.
 */
function toIssues(root: string, issues: readonly v.BaseIssue<unknown>[]): RulesIssue[] {
  const out: RulesIssue[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    const path = jsonPath(root, issue);
    const message = messageOf(issue);
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: RulesIssue[] };

/** Validates a rules document; issues name the JSON path of each fault (`$.rules[2].window`). */
export function validateDocument(input: unknown): Validated<RulesDocument> {
  const result = v.safeParse(RULES_DOCUMENT, input, { abortPipeEarly: true });
  return result.success
    ? { ok: true, value: result.output }
    : { ok: false, issues: toIssues("$", result.issues) };
}

/** Validates the value of a kill-switch item; its `id` defaults to (and must equal) the key's suffix. */
export function validateKillSwitchItem(key: string, input: unknown): Validated<KillSwitchSpec> {
  const root = `$[${JSON.stringify(key)}]`;
  const suffix = key.slice(KILL_SWITCH_PREFIX.length);
  const withId =
    input !== null && typeof input === "object" && !("id" in input) ? { ...input, id: suffix } : input;
  const result = v.safeParse(KILL_SWITCH_ITEM, withId, { abortPipeEarly: true });
  if (!result.success) return { ok: false, issues: toIssues(root, result.issues) };
  if (result.output.id !== suffix) {
    return {
      ok: false,
      issues: [{ path: `${root}.id`, message: `must equal the key's suffix ${JSON.stringify(suffix)}` }],
    };
  }
  return { ok: true, value: result.output };
}

/** Like validateDocument, but throws ERR_RULES_INVALID: for code that has no previous rules to keep. */
export function parseDocument(input: unknown): RulesDocument {
  const result = validateDocument(input);
  if (!result.ok) throw new RulesInvalid(result.issues);
  return result.value;
}
