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

/*
 * Secrets in messages. An error or log line can carry a credential the responder configured: the
 * password in `redis://user:password@host`, an Edge Config connection string's `?token=`, an
 * `Authorization: Bearer …` a client echoed, or a value of VERCEL_TOKEN quoted by a config check.
 * Every line that leaves the process (CLI output, `--json`, warnings, dashboard answers) passes
 * through `redactSecrets` once, at the edge of the process (docs/security.md).
 */
const MASK = "***";
// Greedy up to the last `@` of the authority: a password with an unencoded `@` is still all masked.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>]*)@/gi;
const SECRET_PARAM =
  /([?&;][\w.-]*(?:token|secret|password|passwd|pwd|key|sig|signature|auth|credential)[\w.-]*=)[^&#\s"'<>]*/gi;
const BEARER = /\b(Bearer\s+)[^\s"',;]+/gi;
// Only credential-shaped: "Basic plan" in a sentence stays.
const BASIC = /\b(Basic\s+)[A-Za-z0-9+/]{8,}={0,2}/g;
const SECRET_FIELD = /("[\w-]*(?:token|secret|password|privateKey)[\w-]*"\s*:\s*")[^"]*"/gi;
/** Shorter known values are not searched for: masking every "abc" would garble the message. */
const MIN_KNOWN = 6;

/**
 * `scheme://user:password@` → `scheme://user:***@` (the ACL user name says which credential
 * failed); a lone `scheme://secret@` → `scheme://***@` (some providers put the password there).
 */
function maskUserinfo(_match: string, scheme: string, userinfo: string): string {
  const colon = userinfo.indexOf(":");
  return colon === -1 ? `${scheme}${MASK}@` : `${scheme}${userinfo.slice(0, colon)}:${MASK}@`;
}

/**
 * Masks credentials in `text`: URL userinfo, credential-named query parameters and JSON fields,
 * `Bearer`/`Basic` values, and every occurrence of each `known` secret (raw or URL-encoded).
 *
 * @example
 * redactSecrets("cannot reach redis://ops:hunter22@10.0.0.5:6379") // "cannot reach redis://ops:***@10.0.0.5:6379"
 */
export function redactSecrets(text: string, known: Iterable<string> = []): string {
  let out = text;
  for (const secret of known) {
    if (secret.length < MIN_KNOWN) continue;
    out = out.split(secret).join(MASK);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join(MASK);
  }
  return out
    .replace(URL_USERINFO, maskUserinfo)
    .replace(SECRET_PARAM, `$1${MASK}`)
    .replace(BEARER, `$1${MASK}`)
    .replace(BASIC, `$1${MASK}`)
    .replace(SECRET_FIELD, `$1${MASK}"`);
}

/**
 * The secret parts of a configured value, for `redactSecrets`' `known`: a URL's password (or lone
 * user) and credential query parameters; a value that is not a URL counts whole.
 */
export function secretsOf(value: string | undefined): string[] {
  if (value === undefined || value === "") return [];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [value];
  }
  const out: string[] = [];
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  if (url.password !== "") out.push(decode(url.password));
  else if (url.username !== "") out.push(decode(url.username));
  for (const [name, param] of url.searchParams)
    if (/token|secret|password|passwd|pwd|key|sig|auth|credential/i.test(name) && param !== "")
      out.push(param);
  return out;
}
