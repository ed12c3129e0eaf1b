/**
 * Whose requests the local dashboard answers (docs/security.md, "Local listeners"): only those
 * sent to the Host it printed (a DNS-rebinding page sends its own name), and, for anything that
 * changes state, only those from its own page (Origin and fetch metadata; a cross-site form or
 * fetch carries another). One module so the responder-side attack suite can show each is needed.
 */
import type { IncomingMessage } from "node:http";

/** The request names the dashboard's own `host:port`. */
export function ownHost(req: IncomingMessage, host: string): boolean {
  return req.headers.host === host;
}

/** The request came from the dashboard's own page: its Origin, and no cross-site fetch metadata. */
export function fromOwnPage(req: IncomingMessage, origin: string): boolean {
  return req.headers.origin === origin && (req.headers["sec-fetch-site"] ?? "same-origin") === "same-origin";
}
