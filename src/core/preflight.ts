/**
 * A CORS preflight as the Fetch standard defines it: `OPTIONS` with both `Origin` and
 * `Access-Control-Request-Method`. One definition for every rule kind: tenant binding answers it
 * (it carries no token), rate limits never count it (it carries no data, and a refused preflight
 * would fail the real request in the browser). An OPTIONS without Origin is not one: it reaches
 * rules like any other request.
 */
export function isPreflight(method: string, headers: Headers): boolean {
  return method === "OPTIONS" && headers.has("origin") && headers.has("access-control-request-method");
}
