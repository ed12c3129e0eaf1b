/**
 * Running your own Next.js middleware after the firewall. Returning your own `NextResponse.next()`
 * when the firewall passes would drop the firewall's response headers (`cache-control: private,
 * no-store` from a `headers` rule), and a rewrite your middleware returns would land on a route the
 * firewall never looked at. `compose` keeps both safe.
 */
import { detachedBody } from "../core/detached-body.js";
import type { NextEventLike, NextMiddleware } from "./next-types.js";
import { passThrough } from "./pass-through.js";

type Awaitable<T> = T | Promise<T>;

/** What a Next.js middleware may return (Next's `NextMiddlewareResult`): nothing means continue. */
// biome-ignore lint/suspicious/noConfusingVoidType: Next's own result type includes void (a handler that returns nothing)
export type MiddlewareResult = Response | null | undefined | void;

/**
 * The second argument of a middleware. At run time it is always the `NextFetchEvent` Next passes
 * (`waitUntil`); the libraries type it differently: Next's `NextMiddleware` and Clerk as
 * `NextFetchEvent`, Auth.js's `auth(handler)` as a route handler's `{ params }`. Left open so each
 * documented wrapper composes as published, without casts (test/adapters/compose-types.test.ts).
 */
// biome-ignore lint/suspicious/noExplicitAny: the one argument three libraries type three ways (see above)
export type MiddlewareEvent = any;

/**
 * Your middleware: may answer, rewrite, redirect, or return nothing (= continue). Next's own
 * `NextMiddleware`, next-intl's `createMiddleware(routing)`, Auth.js's `auth(handler)` and Clerk's
 * `clerkMiddleware(handler)` all are one.
 */
export type ComposableMiddleware<R extends Request = Request> = (
  request: R,
  event: MiddlewareEvent,
) => Awaitable<MiddlewareResult>;

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

/**
 * `NextResponse.next()`: "continue", not an answer. Auth.js's `auth(handler)` always answers, with
 * this when your handler returns nothing (and the session's cookies on it), so it is read as
 * nothing and the next middleware runs; its headers are carried onto what answers.
 */
function isPassThrough(answer: Response): boolean {
  return (
    answer.headers.get("x-middleware-next") === "1" &&
    !answer.headers.has("x-middleware-rewrite") &&
    !answer.headers.has("location")
  );
}

/**
 * The headers of the pass-through answers before `answer`, added to it: cookies appended, the
 * request headers Next overrides (`x-middleware-override-headers`) joined, anything else only where
 * `answer` has none of its own.
 */
function withCarried(answer: Response, carried: Headers): Response {
  const out = new Response(detachedBody(answer), answer);
  for (const cookie of carried.getSetCookie()) out.headers.append("set-cookie", cookie);
  for (const [name, value] of carried) {
    if (name === "set-cookie" || name === "x-middleware-next") continue;
    if (name === "x-middleware-override-headers" && out.headers.has(name)) {
      const names = new Set([...(out.headers.get(name) as string).split(","), ...value.split(",")]);
      out.headers.set(
        name,
        [...names]
          .map((n) => n.trim())
          .filter(Boolean)
          .join(","),
      );
    } else if (!out.headers.has(name)) out.headers.set(name, value);
  }
  return out;
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
 * response wins; `NextResponse.next()` goes on to the next, its headers kept). The firewall's
 * response headers are added to whatever is returned, and a same-origin rewrite is decided again
 * on its destination, so a blocked route cannot be reached through your rewrite either.
 *
 * To run one of them on part of the app only (an i18n middleware off `/api`), wrap it in `only`
 * or `except` (path-scope.ts).
 *
 * @example
 * // proxy.ts (middleware.ts before Next 16)
 * import { compose, createNextMiddleware, except } from "edge-containment/next";
 * import createMiddleware from "next-intl/middleware";
 * import { routing } from "./i18n/routing";
 * export default compose(createNextMiddleware(), except("/api/**", createMiddleware(routing)));
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
    let carried: Response | undefined;
    for (const middleware of middlewares) {
      const result = await middleware(request, event ?? NOOP_EVENT);
      // `void` is "nothing" too (a handler that returns nothing continues).
      answer = (result as Response | null | undefined) ?? undefined;
      if (answer && isPassThrough(answer)) {
        carried = carried ? withCarried(answer, carried.headers) : answer;
        answer = undefined;
      }
      if (answer) break;
    }
    if (answer && carried) answer = withCarried(answer, carried.headers);
    answer ??= carried;
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
