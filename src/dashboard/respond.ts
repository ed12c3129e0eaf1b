/** Responses of the dashboard: one set of security headers, JSON errors without internals. */

/**
 * Scripts and styles only from the dashboard itself (uPlot is served from the package: no CDN), no
 * framing, no form posts, no referrer (the local dashboard's first URL carries its token).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export function securityHeaders(extra: Record<string, string> = {}): Headers {
  return new Headers({
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-store",
    ...extra,
  });
}

export function json(status: number, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: securityHeaders({ "content-type": "application/json; charset=utf-8", ...extra }),
  });
}

/** `{ error: { code, message } }`: a stable code for tools, one sentence for people. */
export function problem(
  status: number,
  code: string,
  message: string,
  extra: Record<string, string> = {},
): Response {
  return json(status, { error: { code, message } }, extra);
}
