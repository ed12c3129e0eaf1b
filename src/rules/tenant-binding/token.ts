/**
 * Finds the bearer token of a request without decoding it. Everything here is string scanning with
 * length checks first, so an oversized or hostile header costs no base64 decoding and no crypto.
 */

export type TokenSource = "authorization" | "cookie" | "authorization-or-cookie";

export type TokenFailure = "token-missing" | "token-malformed" | "token-ambiguous" | "token-too-large";

export type Extracted = { ok: true; token: string } | { ok: false; reason: TokenFailure };

export interface TokenLocation {
  from: TokenSource;
  cookie: string | undefined;
  maxBytes: number;
}

/** Compact JWS syntax: three base64url parts. An empty signature is let through so `alg: none` is reported as such. */
const COMPACT_JWS = /^[\w-]+\.[\w-]*\.[\w-]*$/;
const BEARER = /^bearer +/i;

type Found = { ok: true; token: string | undefined } | { ok: false; reason: TokenFailure };

function fromAuthorization(value: string | null, maxBytes: number): Found {
  if (value === null) return { ok: true, token: undefined };
  // Header values are byte strings, so length is bytes. Checked before any regex or split.
  if (value.length > maxBytes + 64) return { ok: false, reason: "token-too-large" };
  // Fetch's Headers joins repeated Authorization headers with ", "; neither a scheme nor a token68 has a comma.
  if (value.includes(",")) return { ok: false, reason: "token-ambiguous" };
  const scheme = BEARER.exec(value);
  if (!scheme) return { ok: false, reason: "token-malformed" };
  const token = value.slice(scheme[0].length);
  if (token.length > maxBytes) return { ok: false, reason: "token-too-large" };
  return COMPACT_JWS.test(token) ? { ok: true, token } : { ok: false, reason: "token-malformed" };
}

function fromCookie(header: string | null, name: string, maxBytes: number): Found {
  if (header === null) return { ok: true, token: undefined };
  let found: string | undefined;
  // Several Cookie headers arrive joined with "; " or ", " depending on the runtime; a cookie value
  // can contain neither, so splitting on both is safe.
  for (const pair of header.split(/[;,]/)) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length > maxBytes + 2) return { ok: false, reason: "token-too-large" };
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    // The same cookie twice (a parent-domain cookie shadowing the host's) is ambiguous unless equal.
    if (found !== undefined && found !== value) return { ok: false, reason: "token-ambiguous" };
    found = value;
  }
  if (found === undefined || found === "") return { ok: true, token: undefined };
  return COMPACT_JWS.test(found) ? { ok: true, token: found } : { ok: false, reason: "token-malformed" };
}

/**
 * The request's token: from `Authorization: Bearer`, a named cookie, or either. Two different
 * tokens are rejected rather than one preferred, because which one a downstream handler reads is
 * not ours to know.
 */
export function extractToken(headers: Headers, location: TokenLocation): Extracted {
  const header =
    location.from !== "cookie"
      ? fromAuthorization(headers.get("authorization"), location.maxBytes)
      : ({ ok: true, token: undefined } as const);
  if (!header.ok) return header;
  const cookie =
    location.from !== "authorization" && location.cookie !== undefined
      ? fromCookie(headers.get("cookie"), location.cookie, location.maxBytes)
      : ({ ok: true, token: undefined } as const);
  if (!cookie.ok) return cookie;
  if (header.token !== undefined && cookie.token !== undefined && header.token !== cookie.token)
    return { ok: false, reason: "token-ambiguous" };
  const token = header.token ?? cookie.token;
  return token === undefined ? { ok: false, reason: "token-missing" } : { ok: true, token };
}
