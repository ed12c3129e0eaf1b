/*
 * Paths go to Redis and logs as evidence, but a path can carry a patient number, an email or an
 * account id. Segments that look like identifiers are replaced with `:id` before a path leaves the
 * request; the route template a rule matched is kept separately and is always safe.
 */
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const LONG_HEX = /^[0-9a-f]{8,}$/i;
const MANY_DIGITS = /\d.*\d.*\d/;

// `%` too: text still percent-encoded after the one decode (`jane%2540example.com` arrives as
// `jane%40example.com`) is an encoded value, and the redaction must not depend on its spelling.
const DIGIT_OR_AT = /[\d@%]/;

function looksLikeIdentifier(segment: string): boolean {
  // Most segments are short words: one cheap test clears them before the specific patterns.
  if (segment.length <= 32 && !DIGIT_OR_AT.test(segment))
    return segment.length >= 8 && LONG_HEX.test(segment);
  return (
    segment.length > 32 ||
    segment.includes("@") ||
    segment.includes("%") ||
    UUID.test(segment) ||
    LONG_HEX.test(segment) ||
    MANY_DIGITS.test(segment) ||
    /^\d+$/.test(segment)
  );
}

/** `/api/patients/12345/export` → `/api/patients/:id/export`. Never includes a query string. */
export function redactPath(segments: readonly string[]): string {
  return `/${segments.map((segment) => (looksLikeIdentifier(segment) ? ":id" : segment)).join("/")}`;
}
