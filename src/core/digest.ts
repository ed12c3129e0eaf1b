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

/**
 * FNV-1a over the UTF-16 code units of a text, fed in pieces: the digest of a document is the hash
 * of its canonical JSON (below) without that text ever being built. Building it was most of what
 * compiling a 3,000-rule document cost (a half-megabyte string and its garbage: cold start in
 * BENCHMARKS.md); feeding the same characters in the same order gives the same 16 hex digits.
 */
class Fnv1a64 {
  #a = 0x811c9dc5;
  #b = 0xcbf29ce4;

  feed(text: string): void {
    let a = this.#a;
    let b = this.#b;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      a = Math.imul(a ^ code, 0x01000193) >>> 0;
      b = Math.imul(b ^ code ^ (a >>> 24), 0x01000193) >>> 0;
    }
    this.#a = a;
    this.#b = b;
  }

  hex(): string {
    return this.#a.toString(16).padStart(8, "0") + this.#b.toString(16).padStart(8, "0");
  }
}

/** What JSON.stringify escapes in a string: quotes, backslashes, controls and (lone) surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: controls are what JSON escapes
const ESCAPED_IN_JSON = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as JSON.stringify writes it; most rule text needs no escape, so no new string is made. */
function writeString(text: string, sink: (text: string) => void): void {
  if (ESCAPED_IN_JSON.test(text)) {
    sink(JSON.stringify(text));
    return;
  }
  sink('"');
  sink(text);
  sink('"');
}

/**
 * Feeds the canonical JSON of `value` to `sink`: object keys sorted (UTF-16 code units, the order
 * `<` gives) at every level, `undefined` members left out and array holes left empty, as
 * JSON.stringify and Array.prototype.join leave them. Isolate reports are MAC'd over the same text
 * (src/stores/mirror/isolate-report.ts): a change here changes every digest and every report MAC,
 * so it must not change.
 */
function writeCanonical(value: unknown, sink: (text: string) => void): void {
  if (typeof value === "string") {
    writeString(value, sink);
    return;
  }
  if (value === null || typeof value !== "object") {
    sink(JSON.stringify(value) ?? "null");
    return;
  }
  if (Array.isArray(value)) {
    sink("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) sink(",");
      if (i in value) writeCanonical(value[i] ?? null, sink);
    }
    sink("]");
    return;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  sink("{");
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (!first) sink(",");
    first = false;
    writeString(key, sink);
    sink(":");
    writeCanonical(member, sink);
  }
  sink("}");
}

/** JSON with object keys sorted at every level (the text the digest hashes). */
export function canonicalJson(value: unknown): string {
  let out = "";
  writeCanonical(value, (text) => {
    out += text;
  });
  return out;
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
  const hash = new Fnv1a64();
  writeCanonical([document, switches], (text) => hash.feed(text));
  return hash.hex();
}
