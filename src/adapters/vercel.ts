import { createContainment, type WaitUntilContext } from "../engine/firewall.js";
import type { ContainmentOptions } from "../engine/options.js";
import { passThrough } from "./pass-through.js";

export type VercelMiddleware = (request: Request, context?: WaitUntilContext) => Promise<Response>;

/**
 * Vercel Routing Middleware (`middleware.ts` at the project root, any framework): answers blocked
 * requests itself and lets the rest through with the rules' response headers.
 *
 * @example
 * // middleware.ts
 * import { createMiddleware } from "edge-containment/vercel";
 * export default createMiddleware();
 * export const config = { matcher: "/:path*" };
 */
export function createMiddleware(options: ContainmentOptions = {}): VercelMiddleware {
  const containment = createContainment(options);
  return async (request, context) => {
    const { response, headers } = await containment.decide(request, context);
    return response ?? passThrough(headers);
  };
}
