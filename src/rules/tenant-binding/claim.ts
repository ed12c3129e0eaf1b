/**
 * The tenant claim of a verified token. A claim path is a list of object keys; `"org.id"` is
 * `["org", "id"]`. Only own properties of plain objects are followed, so `__proto__`, `constructor`
 * or an array index can never stand in for a claim.
 */
export function parseClaimPath(claim: string | readonly string[]): readonly string[] {
  return typeof claim === "string" ? claim.split(".") : [...claim];
}

export function claimAt(payload: unknown, path: readonly string[]): unknown {
  let current: unknown = payload;
  for (const key of path) {
    if (
      current === null ||
      typeof current !== "object" ||
      Array.isArray(current) ||
      !Object.hasOwn(current, key)
    )
      return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/**
 * Exact comparison of code units after a type check. No trimming, case folding or Unicode
 * normalization: each of those would let a token issued for `acme\u200b`, `ACME` or a Cyrillic
 * look-alike open tenant `acme`. An array of tenants never matches, even with one member, because
 * a token naming several tenants does not say which one this request is for.
 */
export function claimMatches(value: unknown, tenant: string): boolean {
  return typeof value === "string" && value === tenant;
}
