/**
 * FNV-1a, 2×32 bits, as 16 hex characters. Identifies a ruleset version in decisions and in the
 * `enforcing` hash: not a security boundary, so a fast synchronous hash is enough.
 */
export function fnv1a64(text: string): string {
  let a = 0x811c9dc5;
  let b = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    a = Math.imul(a ^ code, 0x01000193) >>> 0;
    b = Math.imul(b ^ code ^ (a >>> 24), 0x01000193) >>> 0;
  }
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}
