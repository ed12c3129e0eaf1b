/**
 * Turning the items Edge Config serves into what the rules source compiles: the document (if it
 * validates and fits the size limit), the kill-switch items (each keeping its last good version when
 * a new one is invalid), and the fast-lane public key. Pure functions; the source holds the state.
 */
import type { RulesIssue } from "../../core/errors.js";
import { KILL_SWITCH_PREFIX } from "../../model/edge-config-items.js";
import type { RulesDocument } from "../../rules/document.js";
import type { KillSwitchSpec } from "../../rules/kill-switch.js";
import { validateDocument, validateKillSwitchItem } from "../../rules/validate.js";

/** Vercel's largest Edge Config store (Enterprise); no document larger than this can be stored. */
export const DEFAULT_MAX_DOCUMENT_BYTES = 512 * 1024;

export interface SwitchEntry {
  key: string;
  spec: KillSwitchSpec;
}

const encoder = new TextEncoder();

/**
 * The JSON size of a document in bytes, or undefined when it is within `limit`. Measured on the
 * parsed value (what the client gave us); cheap next to validating a document of that size.
 */
export function oversize(raw: unknown, limit: number): number | undefined {
  const text = JSON.stringify(raw) ?? "";
  // A UTF-16 unit is one to three UTF-8 bytes: skip the encode when the length alone decides.
  if (text.length * 3 <= limit) return undefined;
  const bytes = encoder.encode(text).length;
  return bytes > limit ? bytes : undefined;
}

export type DocumentResult =
  | { kind: "absent" }
  | { kind: "valid"; document: RulesDocument }
  | { kind: "invalid"; issues: RulesIssue[] };

/** Validates the rules document item, refusing one larger than `maxBytes` before any other work. */
export function readDocument(raw: unknown, maxBytes: number): DocumentResult {
  if (raw === undefined) return { kind: "absent" };
  const size = oversize(raw, maxBytes);
  if (size !== undefined) {
    return {
      kind: "invalid",
      issues: [
        {
          path: "$",
          message: `is ${size} bytes, over the ${maxBytes}-byte limit (maxDocumentBytes; Edge Config's largest store holds 512 KB): not compiled`,
        },
      ],
    };
  }
  const result = validateDocument(raw);
  return result.ok ? { kind: "valid", document: result.value } : { kind: "invalid", issues: result.issues };
}

/**
 * The kill-switch items in force after this answer: new valid versions replace old ones, an invalid
 * item keeps its last good version, a deleted item stops blocking. Sorted by key (a stable digest).
 */
export function readSwitches(
  items: Readonly<Record<string, unknown>>,
  previous: ReadonlyMap<string, KillSwitchSpec>,
): { switches: Map<string, KillSwitchSpec>; issues: RulesIssue[] } {
  const switches = new Map<string, KillSwitchSpec>();
  const issues: RulesIssue[] = [];
  for (const [key, value] of Object.entries(items)) {
    if (!key.startsWith(KILL_SWITCH_PREFIX)) continue;
    const result = validateKillSwitchItem(key, value);
    if (result.ok) switches.set(key, result.value);
    else {
      issues.push(...result.issues);
      const kept = previous.get(key);
      if (kept) switches.set(key, kept);
    }
  }
  return { switches, issues };
}

export function sortedSwitches(switches: ReadonlyMap<string, KillSwitchSpec>): SwitchEntry[] {
  return [...switches].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, spec]) => ({ key, spec }));
}

/** `id@version` of a kill switch (docs/contracts.md: version absent → 0). */
export function switchName(spec: KillSwitchSpec): string {
  const version = (spec as { version?: unknown }).version;
  return `${spec.id}@${typeof version === "number" ? version : 0}`;
}

export function switchVersion(spec: KillSwitchSpec): number {
  const version = (spec as { version?: unknown }).version;
  return typeof version === "number" ? version : 0;
}
