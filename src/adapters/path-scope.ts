/**
 * Path-scoped middleware for `compose`: `only(paths, middleware)` runs it on those paths alone,
 * `except(paths, middleware)` everywhere else. The firewall itself still sees every path the matcher
 * admits; this scopes only your middleware, so an i18n middleware stays off `/api` (it would
 * rewrite an API route under a locale, which then answers 404) without a hand-written check and
 * without narrowing the matcher (which would open a hole: docs/rules.md, "The matcher check").
 *
 * Paths use the rules' pattern syntax (`/api/**`, `/orgs/*`, docs/rules.md), matched the way rules
 * are: case-insensitive, on the path as Next routes it (`nextUrl.pathname`, without basePath),
 * decoded once, any of its readings. `only` also reads a path under a locale-shaped prefix without
 * it, as kill switches do (docs/rules.md, "Locale prefixes"): a guard on `/dashboard/**` also runs
 * on `/de/dashboard`, which next-intl serves with no locale configured here. `except` skips only
 * on the path itself, so each errs toward running your middleware.
 */
import { normalizePath } from "../core/path.js";
import { matchPattern, type PatternSegment, parsePattern } from "../rules/pattern.js";
import type { ComposableMiddleware, MiddlewareEvent } from "./compose.js";

/** The part of `NextRequest.nextUrl` read here: the pathname Next routes (basePath removed). */
interface NextUrlPath {
  pathname?: string;
}

function compiled(paths: string | readonly string[], helper: string): Array<readonly PatternSegment[]> {
  const list = typeof paths === "string" ? [paths] : paths;
  if (!Array.isArray(list) || list.length === 0)
    throw new TypeError(
      `edge-containment: ${helper}(paths, middleware) takes a path pattern or a list of them`,
    );
  return list.map((pattern, index) => {
    const parsed = typeof pattern === "string" ? parsePattern(pattern) : "is not a string";
    if (typeof parsed === "string")
      throw new TypeError(`edge-containment: ${helper} path ${index} (${JSON.stringify(pattern)}) ${parsed}`);
    return parsed;
  });
}

function pathnameOf(request: Request): string {
  const nextUrl = (request as Request & { nextUrl?: NextUrlPath }).nextUrl;
  if (typeof nextUrl?.pathname === "string") return nextUrl.pathname;
  const url = request.url;
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const end = url.slice(start).search(/[?#]/);
  return end === -1 ? url.slice(start) : url.slice(start, start + end);
}

/** Whether a reading of the request's path matches one of the patterns (a guessed-locale one only when `guesses`). */
function matches(
  patterns: ReadonlyArray<readonly PatternSegment[]>,
  request: Request,
  guesses: boolean,
): boolean {
  const result = normalizePath(pathnameOf(request));
  if (!result.ok) return false;
  for (const candidate of result.candidates) {
    if (candidate.localeGuess && !guesses) continue;
    for (const pattern of patterns)
      if (matchPattern(pattern, candidate.segments, candidate.lower) !== undefined) return true;
  }
  return false;
}

function scoped<R extends Request>(
  helper: "only" | "except",
  paths: string | readonly string[],
  middleware: ComposableMiddleware<R>,
): ComposableMiddleware<R> {
  const patterns = compiled(paths, helper);
  if (typeof middleware !== "function")
    throw new TypeError(`edge-containment: ${helper}(paths, middleware) takes a middleware function`);
  const runsOn = helper === "only";
  return (request: R, event: MiddlewareEvent) =>
    matches(patterns, request, runsOn) === runsOn ? middleware(request, event) : undefined;
}

/**
 * Runs `middleware` only on the given paths (rules' pattern syntax); elsewhere it continues.
 *
 * @example
 * compose(createNextMiddleware(), only(["/dashboard/**", "/account/**"], auth((req) => …)))
 */
export function only<R extends Request>(
  paths: string | readonly string[],
  middleware: ComposableMiddleware<R>,
): ComposableMiddleware<R> {
  return scoped("only", paths, middleware);
}

/**
 * Runs `middleware` everywhere but the given paths (rules' pattern syntax).
 *
 * @example
 * compose(createNextMiddleware(), except("/api/**", createMiddleware(routing)))
 */
export function except<R extends Request>(
  paths: string | readonly string[],
  middleware: ComposableMiddleware<R>,
): ComposableMiddleware<R> {
  return scoped("except", paths, middleware);
}
