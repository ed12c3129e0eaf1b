/**
 * Responses the firewall sends itself. Bodies carry only what a client may know: a public message,
 * the rule id, the incident id and a request id to quote to support. Never a reason, stack or header.
 */
export interface BlockBody {
  status: number;
  message: string;
  rule: string;
  requestId: string;
  incident?: string;
  retryAfter?: number;
  headers?: Readonly<Record<string, string>>;
}

export function blockResponse(body: BlockBody): Response {
  const headers = new Headers(body.headers);
  headers.set("content-type", "application/json; charset=utf-8");
  headers.set("cache-control", "no-store");
  headers.set("x-containment-request-id", body.requestId);
  headers.set("x-content-type-options", "nosniff");
  if (body.retryAfter !== undefined) headers.set("retry-after", String(body.retryAfter));
  const json = {
    error: body.message,
    rule: body.rule,
    ...(body.incident === undefined ? {} : { incident: body.incident }),
    requestId: body.requestId,
  };
  return new Response(JSON.stringify(json), { status: body.status, headers });
}

/** A direct success answer with no body (CORS preflight). */
export function emptyResponse(
  status: number,
  headers: Readonly<Record<string, string>>,
  requestId: string,
): Response {
  const all = new Headers(headers);
  all.set("x-containment-request-id", requestId);
  return new Response(null, { status, headers: all });
}
