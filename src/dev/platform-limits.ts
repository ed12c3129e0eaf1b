/**
 * The request-header limits Vercel applies before Routing Middleware runs, so the local edge
 * refuses what the real one refuses, the same way: each header at most 16 KB and all of them
 * (names included) at most 32 KB, else 431 REQUEST_HEADER_TOO_LARGE
 * (https://vercel.com/docs/errors/REQUEST_HEADER_TOO_LARGE).
 *
 * Checked here, before the request is handed to workerd, for a second reason: workerd's HTTP
 * server closes the connection on a header far over its own limit while the client may still be
 * writing, so the caller saw either a status or a connection reset depending on timing. A defined
 * 431 is what a client of the platform gets.
 */

export const HEADER_FIELD_LIMIT = 16 * 1024;
export const HEADER_TOTAL_LIMIT = 32 * 1024;
/**
 * What the dev server's Node parser accepts: above the platform's total, so the exact check is
 * `headerOverflow` (one rule for the dev server and the test harness); past it Node refuses first.
 */
export const HEADER_PARSER_LIMIT = 64 * 1024;

/** Which limit the headers break, if any. Sizes are bytes of name plus value (values are byte strings). */
export function headerOverflow(headers: Iterable<[string, string]>): "field" | "total" | undefined {
  let total = 0;
  for (const [name, value] of headers) {
    const size = name.length + value.length;
    if (size > HEADER_FIELD_LIMIT) return "field";
    total += size;
  }
  return total > HEADER_TOTAL_LIMIT ? "total" : undefined;
}

/** The platform's answer: its error code as text, nothing from the request echoed back. */
export const HEADER_TOO_LARGE_BODY = "Request Header Fields Too Large\n\nREQUEST_HEADER_TOO_LARGE\n";

export function headerTooLarge(): Response {
  return new Response(HEADER_TOO_LARGE_BODY, {
    status: 431,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
