/**
 * RFC 8785 JSON Canonicalization Scheme (JCS) for the values audit entries hold (JSON from
 * `JSON.parse` or built in code). Hand-written rather than a dependency because for these inputs
 * JCS *is* ECMAScript: numbers serialize as `Number.prototype.toString` (what JSON.stringify does,
 * RFC 8785 §3.2.2.3), strings escape exactly as JSON.stringify does (§3.2.2.2), and object members
 * sort by UTF-16 code units, which is what the default `Array.prototype.sort` compares (§3.2.3).
 * What remains is rejecting what JCS forbids: non-finite numbers and lone surrogates.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(`edge-containment: cannot canonicalize: ${message}`);
    this.name = "CanonicalJsonError";
  }
}

/**
 * @example
 * canonicalJson({ b: 1, a: [true, "x"] }); // '{"a":[true,"x"],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} is not a JSON number`);
    return JSON.stringify(value);
  }
  if (typeof value === "string") {
    if (LONE_SURROGATE.test(value)) throw new CanonicalJsonError("a string holds a lone surrogate");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(",")}]`;
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${canonicalJson(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(",")}}`;
  }
  throw new CanonicalJsonError(`a ${typeof value} is not JSON`);
}
