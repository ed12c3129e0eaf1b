import type { NormalizeOptions } from "../core/request.js";
import type { RewritesOption } from "../core/rewrites.js";
import { createContainment, type DecideHints } from "../engine/firewall.js";
import type { ContainmentOptions } from "../engine/options.js";
import { NEXT_BUILD_ENV, parseBuildTable } from "./next-config.js";
import type { NextEvaluateHints, NextEventLike, NextMiddleware } from "./next-types.js";
import { passThrough } from "./pass-through.js";

export {
  type ComposableMiddleware,
  compose,
  type MiddlewareEvent,
  type MiddlewareResult,
} from "./compose.js";
export type { MatcherCheckOptions } from "./next-build-check.js";
export {
  type NextBuildTable,
  type NextConfigLike,
  type WithContainmentOptions,
  withContainment,
} from "./next-config.js";
export type { NextEvaluateHints, NextEventLike, NextMiddleware } from "./next-types.js";
export { except, only } from "./path-scope.js";

/** The part of `NextRequest.nextUrl` the adapter reads: Next builds it from the app's own config. */
interface NextUrlLike {
  basePath?: string;
  locale?: string;
}

/**
 * What `withContainment` inlined at build time. The literal `process.env.EDGE_CONTAINMENT_NEXT`
 * is what Next's `env` replaces; `typeof process` guards bundles built without Next (workerd).
 */
function buildTable() {
  const text = typeof process === "undefined" ? undefined : process.env.EDGE_CONTAINMENT_NEXT;
  return parseBuildTable(text, NEXT_BUILD_ENV);
}

/**
 * basePath and locale from `request.nextUrl` (merged with the build table's locales and any
 * `normalize` option), cached per distinct value so a request allocates nothing.
 */
function nextNormalizer(base: NormalizeOptions | undefined, locales: readonly string[]) {
  const cache = new Map<string, NormalizeOptions>();
  return (request: Request): NormalizeOptions | undefined => {
    const nextUrl = (request as Request & { nextUrl?: NextUrlLike }).nextUrl;
    const basePath = base?.basePath ?? (nextUrl?.basePath || undefined);
    const locale = nextUrl?.locale || undefined;
    if (basePath === undefined && locale === undefined && locales.length === 0) return base;
    const key = `${basePath ?? ""}\n${locale ?? ""}`;
    let options = cache.get(key);
    if (!options) {
      const all = [...new Set([...(base?.locales ?? []), ...locales, ...(locale ? [locale] : [])])];
      options = {
        ...base,
        ...(basePath === undefined ? {} : { basePath }),
        ...(all.length > 0 ? { locales: all } : {}),
      };
      if (cache.size < 16) cache.set(key, options);
    }
    return options;
  };
}

/**
 * Next.js middleware (`middleware.ts`, edge runtime) and Next 16 `proxy.ts` (Node runtime). It reads
 * the app's `basePath` and locale from `request.nextUrl`, and the rewrite table from
 * `withContainment` in next.config, so neither can be forgotten. The pass-through answer is what
 * `NextResponse.next()` returns; to run your own middleware after it, use `compose`.
 *
 * @example
 * // middleware.ts (or proxy.ts on Next 16)
 * import { createNextMiddleware } from "edge-containment/next";
 * export default createNextMiddleware();
 * export const config = { matcher: "/:path*" };
 */
export function createNextMiddleware(options: ContainmentOptions = {}): NextMiddleware {
  const table = buildTable();
  const rewrites: RewritesOption | undefined = options.rewrites ?? table?.rewrites;
  const containment = createContainment({ ...options, ...(rewrites ? { rewrites } : {}) });
  const normalizeFor = nextNormalizer(options.normalize, table?.locales ?? []);
  const evaluate = (request: Request, event?: NextEventLike, hints: NextEvaluateHints = {}) => {
    const normalize = normalizeFor(hints.nextUrlOf ?? request);
    const decideHints: DecideHints = {
      ...(normalize ? { normalize } : {}),
      ...(hints.recordAllow === false ? { recordAllow: false } : {}),
    };
    return containment.decide(request, event, decideHints);
  };
  const middleware = async (request: Request, event?: NextEventLike) => {
    const { response, headers } = await evaluate(request, event);
    return response ?? passThrough(headers);
  };
  return Object.assign(middleware, { evaluate });
}

/** Next 16 renamed middleware to proxy; the same handler serves both. */
export const createNextProxy = createNextMiddleware;
