/**
 * Running your own Next.js middleware after the firewall. Returning your own `NextResponse.next()`
 * when the firewall passes would drop the firewall's response headers (`cache-control: private,
 * no-store` from a `headers` rule), and a rewrite your middleware returns would land on a route the
 * firewall never looked at. `compose` keeps both safe.
 */
import { detachedBody } from "../core/detached-body.js";
import type { NextEventLike, NextMiddleware } from "./next-types.js";
import { passThrough } from "./pass-through.js";

/** Your middleware: may answer, rewrite, redirect, or return nothing (= continue). */
export type ComposableMiddleware<R extends Request = Request> = (
  request: R,
  event: NextEventLike,
) => Response | null | undefined | Promise<Response | null | undefined>;

const NOOP_EVENT: NextEventLike = { waitUntil: () => {} };

/** The same-origin destination of `NextResponse.rewrite(...)`, or undefined. */
function rewriteDestination(request: Request, answer: Response): string | undefined {
  const header = answer.headers.get("x-middleware-rewrite");
  if (!header) return undefined;
  let url: URL;
  try {
    url = new URL(header, request.url);
  } catch {
    return undefined;
  }
  // Another origin is proxied as is: the firewall's rules are about this app's routes.
  return url.origin === new URL(request.url).origin ? url.href : undefined;
}

/** Adds the firewall's headers; they win over your middleware's, since they are security headers. */
function withHeaders(answer: Response, headers: Readonly<Record<string, string>>): Response {
  const names = Object.keys(headers);
  if (names.length === 0) return answer;
  // Responses from Response.redirect() (and some NextResponse helpers) have immutable headers.
  const out = new Response(detachedBody(answer), answer);
  for (const name of names) out.headers.set(name, headers[name] as string);
  return out;
}

/**
 * The firewall first; when it passes, each of your middlewares in turn (the first that returns a
 * response wins). The firewall's response headers are added to whatever is returned, and a
 * same-origin rewrite is decided again on its destination, so a blocked route cannot be reached
 * through your rewrite either.
 *
 * @example
 * // middleware.ts
 * import { compose, createNextMiddleware } from "edge-containment/next";
 * import { NextResponse, type NextRequest } from "next/server";
 * export default compose(createNextMiddleware(), (request: NextRequest) => NextResponse.next());
 * export const config = { matcher: "/:path*" };
 */
export function compose<R extends Request>(
  firewall: NextMiddleware,
  ...middlewares: ReadonlyArray<ComposableMiddleware<R>>
): (request: R, event?: NextEventLike) => Promise<Response> {
  if (typeof firewall?.evaluate !== "function")
    throw new TypeError("edge-containment: compose(firewall, …) takes the result of createNextMiddleware()");
  for (const middleware of middlewares)
    if (typeof middleware !== "function") throw new TypeError("edge-containment: compose takes functions");
  return async (request, event) => {
    const first = await firewall.evaluate(request, event);
    if (first.response) return first.response;
    let answer: Response | undefined;
    for (const middleware of middlewares) {
      answer = (await middleware(request, event ?? NOOP_EVENT)) ?? undefined;
      if (answer) break;
    }
    if (!answer) return passThrough(first.headers);
    const destination = rewriteDestination(request, answer);
    if (destination !== undefined) {
      const rewritten = new Request(destination, { method: request.method, headers: request.headers });
      const second = await firewall.evaluate(rewritten, event, { nextUrlOf: request, recordAllow: false });
      if (second.response) return second.response;
      return withHeaders(answer, { ...first.headers, ...second.headers });
    }
    return withHeaders(answer, first.headers);
  };
}
