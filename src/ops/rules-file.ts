/**
 * Reading a rules document from disk, shared by `containment rules validate` and `containment dev`.
 * Kept apart from the dev server so commands that only read rules load neither workerd nor esbuild.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { ConfigInvalid, type ContainmentError, RulesInvalid, type RulesIssue } from "../core/errors.js";
import type { Json } from "../model/json.js";
import { checkDocument } from "../rules/check.js";

export function configError(message: string, issues?: readonly RulesIssue[]): ContainmentError {
  return new ConfigInvalid(message, issues === undefined ? undefined : { issues });
}

export function formatIssues(issues: readonly RulesIssue[]): string {
  return issues.map((issue) => `  ${issue.path}: ${issue.message}`).join("\n");
}

/** Reads and validates a rules file; throws ERR_CONFIG / ERR_RULES_INVALID naming the file and each fault's JSON path. */
export function readRulesFile(file: string): Json {
  if (!existsSync(file) || !statSync(file).isFile()) throw configError(`rules file not found: ${file}`);
  let value: Json;
  try {
    value = JSON.parse(readFileSync(file, "utf8")) as Json;
  } catch (error) {
    throw configError(`${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const result = checkDocument(value);
  if (!result.ok) {
    throw new RulesInvalid(
      result.issues,
      `${file} is not a valid rules document:\n${formatIssues(result.issues)}`,
    );
  }
  return value;
}
