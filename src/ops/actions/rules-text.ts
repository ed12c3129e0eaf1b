/**
 * A rules document as text: parse it, check it with the firewall's own `checkDocument`, and give
 * every fault its JSON path AND line:column in the file (so an editor jumps to it). jsonc-parser
 * keeps offsets; strict JSON is still required (comments and trailing commas are faults).
 */
import { findNodeAtLocation, type ParseError, parseTree, printParseErrorCode } from "jsonc-parser";
import type { RulesIssue } from "../../core/errors.js";
import { checkDocument } from "../../rules/check.js";
import type { RulesDocument } from "../../rules/document.js";

export interface LocatedIssue extends RulesIssue {
  line: number;
  column: number;
}

export type ParsedRules =
  | { ok: true; document: RulesDocument; text: string }
  | { ok: false; issues: LocatedIssue[] };

function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: offset - last };
}

/** `$.rules[2].match["x-y"]` → `["rules", 2, "match", "x-y"]`. */
export function pathSegments(path: string): Array<string | number> {
  const out: Array<string | number> = [];
  const pattern = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const match of path.replace(/^\$/, "").matchAll(pattern)) {
    if (match[1] !== undefined) out.push(match[1]);
    else if (match[2] !== undefined) out.push(Number(match[2]));
    else if (match[3] !== undefined) out.push(JSON.parse(match[3]) as string);
  }
  return out;
}

/** The deepest node that exists on the way to `path` (a missing field points at its object). */
function locate(
  text: string,
  root: ReturnType<typeof parseTree>,
  path: string,
): { line: number; column: number } {
  if (root === undefined) return { line: 1, column: 1 };
  const segments = pathSegments(path);
  for (let length = segments.length; length >= 0; length--) {
    const node = findNodeAtLocation(root, segments.slice(0, length));
    if (node !== undefined) {
      // For an object member, point at its key: that is what a reader looks for.
      const offset = node.parent?.type === "property" ? node.parent.offset : node.offset;
      return position(text, offset);
    }
  }
  return { line: 1, column: 1 };
}

export function parseRulesText(text: string): ParsedRules {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  if (errors.length > 0 || root === undefined) {
    const error = errors[0];
    const where = position(text, error?.offset ?? 0);
    return {
      ok: false,
      issues: [
        {
          path: "$",
          message: `is not valid JSON (${error ? printParseErrorCode(error.error) : "empty"})`,
          ...where,
        },
      ],
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      ok: false,
      issues: [{ path: "$", message: `is not valid JSON (${(error as Error).message})`, line: 1, column: 1 }],
    };
  }
  const checked = checkDocument(value);
  if (!checked.ok)
    return {
      ok: false,
      issues: checked.issues.map((issue) => ({ ...issue, ...locate(text, root, issue.path) })),
    };
  return { ok: true, document: checked.value, text };
}

export function formatLocated(file: string, issues: readonly LocatedIssue[]): string {
  return issues
    .map((issue) => `${file}:${issue.line}:${issue.column}: ${issue.path}: ${issue.message}`)
    .join("\n");
}
