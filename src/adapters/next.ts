import { type ContainmentOptions, createContainment } from "../engine/firewall.js";
import { passThrough } from "./pass-through.js";

/** The parts of Next.js's `NextFetchEvent` the firewall uses. */
export interface NextEventLike {
  waitUntil(promise: Promise<unknown>): void;
}

export type NextMiddleware = (request: Request, event?: NextEventLike) => Promise<Response>;

/**
 * Next.js middleware (`middleware.ts`, edge runtime) and Next 16 `proxy.ts` (Node runtime). The
 * pass-through answer is what `NextResponse.next()` returns, so it composes with other middleware:
 * call it first and return its response when `response.headers.get("x-middleware-next")` is absent.
 *
 * @example
 * // middleware.ts (or proxy.ts on Next 16)
 * import { createNextMiddleware } from "edge-containment/next";
 * export default createNextMiddleware();
 * export const config = { matcher: "/:path*" };
 */
export function createNextMiddleware(options: ContainmentOptions = {}): NextMiddleware {
  const containment = createContainment(options);
  return async (request, event) => {
    const { response, headers } = await containment.decide(request, event);
    return response ?? passThrough(headers);
  };
}

/** Next 16 renamed middleware to proxy; the same handler serves both. */
export const createNextProxy = createNextMiddleware;
