/**
 * `createDashboardHandler`: the dashboard mounted in a team's own app, behind its own auth, with the
 * read-only Redis credential. Read-only by construction: this module does not import the actions,
 * and it answers nothing but GET and HEAD. Writing Edge Config needs a team-wide Vercel token that
 * must not live inside the app being contained, so acting is the local dashboard's job.
 */
import { Redis } from "@upstash/redis/cloudflare";
import { DEFAULT_REDIS_PREFIX } from "../model/defaults.js";
import type { ResponderRedis } from "../model/responder-redis.js";
import { restRedis } from "../ops/redis-rest.js";
import { createCore, normalizeBasePath } from "./core.js";
import { problem } from "./respond.js";

/** What `authorize` may answer: allow (`true`), refuse with 403 (`false`), or answer itself (e.g. a 401). */
export type AuthorizeResult = boolean | Response;

export interface DashboardHandlerOptions {
  /**
   * Upstash REST URL + token (use the read-only token), or an `@upstash/redis` client made with
   * `automaticDeserialization: false`.
   */
  redis: { url: string; token: string } | Redis;
  /**
   * Called for every request before anything is read. Return `true` to serve it; `false` answers 403;
   * a Response (e.g. 401 with `WWW-Authenticate`, or a redirect to your login) is sent as is.
   * Required: a dashboard without auth would show every responder's view to anyone.
   */
  authorize: (request: Request) => AuthorizeResult | Promise<AuthorizeResult>;
  /** Where the route is mounted. Default `/containment` (`app/containment/[[...path]]/route.ts`). */
  basePath?: string;
  /** Redis key prefix of the mirror. Default `containment:`. */
  prefix?: string;
  /** Edge Config connection string (read access) to show kill switches in full. Default: none (the switches isolates report). */
  edgeConfig?: string;
  /** The deployment's `CONTAINMENT_REPORT_SECRET`, so enforcement reports show as verified. */
  reportSecret?: string;
  /** Seconds between live updates. Default 5 (each update is ~130 read commands). */
  refreshSeconds?: number;
  /** Lifetime of one event-stream response before the browser reconnects; default 50 s (under serverless limits). */
  streamSeconds?: number;
  /** Deadline of each Redis / Edge Config read. Default 3 000 ms. */
  timeoutMs?: number;
  title?: string;
  /** Clock (tests). */
  now?: () => number;
}

export type DashboardHandler = (request: Request) => Promise<Response>;

export function redisOf(option: DashboardHandlerOptions["redis"], timeoutMs?: number): ResponderRedis {
  const deadlines = timeoutMs === undefined ? {} : { commandTimeoutMs: timeoutMs };
  if (option instanceof Redis) return restRedis(option, deadlines);
  if (!option || typeof option.url !== "string" || typeof option.token !== "string")
    throw new TypeError(
      "edge-containment: createDashboardHandler needs redis: { url, token } or an @upstash/redis client",
    );
  return restRedis({ url: option.url, token: option.token }, deadlines);
}

function seconds(value: number | undefined, fallback: number, name: string): number {
  const s = value ?? fallback;
  if (!Number.isFinite(s) || s <= 0)
    throw new TypeError(`edge-containment: ${name} must be a positive number of seconds`);
  return s * 1000;
}

/**
 * @example
 * // app/containment/[[...path]]/route.ts
 * import { createDashboardHandler } from "edge-containment/dashboard";
 * export const runtime = "edge"; // or "nodejs"
 * export const GET = createDashboardHandler({
 *   redis: { url: process.env.UPSTASH_REDIS_REST_URL!, token: process.env.DASHBOARD_REDIS_READONLY_TOKEN! },
 *   authorize: async (request) => (await auth(request))?.role === "responder",
 * });
 */
export function createDashboardHandler(options: DashboardHandlerOptions): DashboardHandler {
  if (typeof options?.authorize !== "function")
    throw new TypeError(
      "edge-containment: createDashboardHandler needs authorize(request) (your app's auth check)",
    );
  const core = createCore({
    redis: redisOf(options.redis, options.timeoutMs),
    prefix: options.prefix ?? DEFAULT_REDIS_PREFIX,
    edgeConfig: options.edgeConfig,
    basePath: normalizeBasePath(options.basePath, "/containment"),
    refreshMs: seconds(options.refreshSeconds, 5, "refreshSeconds"),
    reportSecret: options.reportSecret,
    streamMs: seconds(options.streamSeconds, 50, "streamSeconds"),
    timeoutMs: options.timeoutMs ?? 3_000,
    now: options.now ?? Date.now,
    title: options.title,
  });
  const authorize = options.authorize;
  return async (request) => {
    let verdict: AuthorizeResult;
    try {
      verdict = await authorize(request);
    } catch {
      return problem(500, "authorize_failed", "The authorization check failed; nothing was served.");
    }
    if (verdict instanceof Response) return verdict;
    if (verdict !== true) return problem(403, "forbidden", "Not allowed.");
    try {
      return await core(request, { actions: false });
    } catch {
      return problem(500, "internal", "The dashboard could not answer this request.");
    }
  };
}
