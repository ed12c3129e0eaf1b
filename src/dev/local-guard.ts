/**
 * What a local stand-in (the Upstash bridge, the Edge Config and Vercel API stand-ins) refuses
 * before its protocol sees the request: anything a web page or another local user can cause.
 * They hold a real Redis and the dev store's kill switches, on 127.0.0.1 (docs/security.md).
 *
 *   - a Host other than 127.0.0.1, localhost or [::1] with the listener's port: a page that
 *     rebinds its own name to 127.0.0.1 (DNS rebinding) sends its own name;
 *   - an Origin other than the listener's own: a page's fetch;
 *   - a body that is not `application/json` (text/plain, forms, none): the requests a page can
 *     send cross-site without a preflight; a preflight (OPTIONS) is refused, and no answer carries
 *     CORS headers, so no page reads an answer either.
 * Each server then requires its per-run random Bearer token on every request.
 */
import type { IncomingMessage } from "node:http";

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];

function hostsOf(port: number): Set<string> {
  return new Set(LOOPBACK_NAMES.map((name) => `${name}:${port}`));
}

/** `application/json`, with or without parameters (`; charset=utf-8`). */
function isJson(contentType: string | undefined): boolean {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() === "application/json";
}

export function localRefusal(req: IncomingMessage, port: number): Refusal | undefined {
  const hosts = hostsOf(port);
  if (!hosts.has((req.headers.host ?? "").toLowerCase()))
    return {
      status: 403,
      code: "wrong_host",
      message: `this local stand-in answers only to Host 127.0.0.1:${port}, localhost:${port} or [::1]:${port}`,
    };
  const origin = req.headers.origin;
  if (origin !== undefined && !hosts.has(origin.toLowerCase().replace(/^http:\/\//, "")))
    return {
      status: 403,
      code: "cross_origin",
      message: "this local stand-in refuses cross-origin requests",
    };
  const method = req.method ?? "GET";
  if (method === "OPTIONS")
    return { status: 405, code: "method_not_allowed", message: "no cross-origin requests (no CORS)" };
  // POST is the one simple method that carries a body; any body at all must be JSON.
  const hasBody =
    Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
  if ((method === "POST" || hasBody) && !isJson(req.headers["content-type"]))
    return { status: 415, code: "unsupported_media_type", message: "send the body as application/json" };
  return undefined;
}
