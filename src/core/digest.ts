/**
 * The ruleset digest: the one identifier of "which rules" that decisions, the mirror's enforcing
 * records and isolate reports carry, and that `containment rules validate` prints, so a responder can
 * match a validated file to what a region enforces (`--wait` compares them).
 *
 * It hashes canonical JSON (object keys sorted) of the document and of the kill-switch items sorted
 * by key: the same rules give the same digest however a file or Edge Config orders its keys, and
 * whether the text was hashed before or after validation. Not a security boundary (the audit chain
 * and isolate-report MACs are), so a fast synchronous hash is enough: FNV-1a, 2×32 bits, 16 hex.
 */

function fnv1a64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code ^ (a >>> 24), 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}

/**
 * JSON with object keys sorted at every level; `undefined` members are left out, as JSON.stringify does.
 * Isolate reports are MAC'd over it too (src/stores/mirror/isolate-report.ts): a change here changes
 * every digest and every report MAC, so it must not change.
 * Built by appending to one string (no entries, filter, map and join arrays per object): the digest
 * of a 3,000-rule document is most of what compiling it costs otherwise (cold start).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ",";
      // A hole stays empty, as Array.prototype.map + join left it.
      if (i in value) out += canonicalJson(value[i] ?? null);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  // Default sort: UTF-16 code units, the order `<` gives.
  const keys = Object.keys(record).sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (!first) out += ",";
    first = false;
    out += `${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${out}}`;
}

/** A kill switch as Edge Config holds it: the item key (`containment_kill_<id>`) and its value. */
export interface DigestedSwitch {
  readonly key: string;
  readonly spec: unknown;
}

/**
 * The digest of a rules document plus the kill-switch items in force. Without items (a file being
 * validated, static rules) it is the digest of the document alone with an empty switch list.
 *
 * @example
 * rulesetDigest(document, [{ key: "containment_kill_exports", spec: item }]) // "3f0c…" (16 hex)
 */
export function rulesetDigest(document: unknown, killSwitches: readonly DigestedSwitch[] = []): string {
  const switches = [...killSwitches]
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0))
    .map(({ key, spec }) => [key, spec]);
  return fnv1a64(canonicalJson([document, switches]));
}
