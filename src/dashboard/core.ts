/**
 * The read side of the dashboard as one fetch-style function: page, assets, JSON API, SSE. Used by
 * the mountable handler (behind the team's `authorize`) and by the local dashboard (behind its
 * token cookie). Web APIs only, so it runs in Node, the Next.js edge runtime and workerd alike.
 * It answers GET and HEAD; every other method is 405 here: actions live in local/actions-route.ts,
 * which only the local dashboard wires in.
 */
import { withDeadline } from "../core/deadline.js";
import type { ResponderRedis } from "../model/responder-redis.js";
import { mirrorReader } from "../stores/mirror/reader.js";
import { API_INDEX } from "./api.js";
import { ASSETS } from "./assets.gen.js";
import { auditReader } from "./incident-and-audit.js";
import { renderPage } from "./page.js";
import { json, problem, securityHeaders } from "./respond.js";
import { buildSnapshot, eventOf, type SnapshotSource } from "./snapshot.js";
import { snapshotStream } from "./stream.js";

export interface CoreOptions {
  redis: ResponderRedis;
  prefix: string;
  edgeConfig?: string | undefined;
  /** The deployment's CONTAINMENT_REPORT_SECRET: isolate reports are shown verified only with it. */
  reportSecret?: string | undefined;
  /** Mount point, e.g. `/containment`; `""` for the root. */
  basePath: string;
  refreshMs: number;
  streamMs: number;
  timeoutMs: number;
  now: () => number;
  title?: string | undefined;
  fetch?: typeof fetch;
}

export interface PageContext {
  actions: boolean;
  csrf?: string | undefined;
}

export type CoreHandler = (request: Request, page: PageContext) => Promise<Response>;

export function normalizeBasePath(basePath: string | undefined, fallback: string): string {
  const value = (basePath ?? fallback).replace(/\/+$/, "");
  if (value !== "" && !/^(\/[\w.~-]+)+$/.test(value))
    throw new TypeError(
      `edge-containment: basePath must look like /containment, got ${JSON.stringify(basePath)}`,
    );
  return value;
}

export function createCore(options: CoreOptions): CoreHandler {
  const source: SnapshotSource = {
    redis: options.redis,
    reader: mirrorReader({
      client: options.redis,
      prefix: options.prefix,
      ...(options.reportSecret ? { reportSecret: options.reportSecret } : {}),
    }),
    prefix: options.prefix,
    edgeConfig: options.edgeConfig,
    now: options.now,
    timeoutMs: options.timeoutMs,
    minutes: 30,
    topMinutes: 15,
    events: 50,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    audit: auditReader(options.redis, options.prefix),
  };
  return async (request, page) => {
    const url = new URL(request.url);
    // Next.js hands route handlers `request.url` without next.config's basePath, and says it in
    // `request.nextUrl.basePath`: the browser's URLs need it, the route match does not.
    const appBase = (request as Request & { nextUrl?: { basePath?: string } }).nextUrl?.basePath || "";
    const pathname =
      appBase !== "" && url.pathname.startsWith(`${appBase}${options.basePath}`)
        ? url.pathname.slice(appBase.length)
        : url.pathname;
    if (!pathname.startsWith(options.basePath)) return problem(404, "not_found", "No such dashboard path.");
    const path = pathname.slice(options.basePath.length);
    if (request.method !== "GET" && request.method !== "HEAD")
      return problem(405, "method_not_allowed", "This endpoint only answers GET.", { allow: "GET, HEAD" });
    // With and without the trailing slash: Next.js (trailingSlash: false) redirects `/containment/`
    // to `/containment`, so redirecting back would loop. The page builds its URLs on `base`.
    if (path === "" || path === "/")
      return html(renderPage({ ...page, title: options.title, base: `${appBase}${options.basePath}/` }));
    if (path.startsWith("/assets/")) return asset(path.slice("/assets/".length));
    if (path === "/api/v1" || path === "/api/v1/") return json(200, API_INDEX);
    if (path === "/api/v1/snapshot") return snapshotResponse(source);
    if (path === "/api/v1/events") return eventsResponse(source, url);
    if (path === "/api/v1/stream")
      return new Response(snapshotStream(source, options.refreshMs, options.streamMs, request.signal), {
        headers: securityHeaders({
          "content-type": "text/event-stream; charset=utf-8",
          "x-accel-buffering": "no",
        }),
      });
    return problem(404, "not_found", "No such dashboard path; the API index is at api/v1.");
  };
}

function html(body: string): Response {
  return new Response(body, { headers: securityHeaders({ "content-type": "text/html; charset=utf-8" }) });
}

function asset(name: string): Response {
  const found = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!found) return problem(404, "not_found", "No such asset.");
  // Names carry a content hash, so a cached copy is never stale.
  return new Response(found.body, {
    headers: securityHeaders({
      "content-type": found.type,
      "cache-control": "public, max-age=31536000, immutable",
    }),
  });
}

async function snapshotResponse(source: SnapshotSource): Promise<Response> {
  try {
    return json(200, await buildSnapshot(source));
  } catch {
    return problem(
      503,
      "mirror_unavailable",
      "The decision mirror (Redis) did not answer in time; try again.",
    );
  }
}

async function eventsResponse(source: SnapshotSource, url: URL): Promise<Response> {
  const limitText = url.searchParams.get("limit") ?? "100";
  if (!/^\d{1,3}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 500)
    return problem(400, "bad_limit", "limit must be a whole number from 1 to 500.");
  try {
    const events = await withDeadline(
      source.reader.events({ limit: Number(limitText) * 2 }),
      source.timeoutMs,
      "events",
    );
    const decisions = events.filter((e) => e.fields.kind !== "source").slice(0, Number(limitText));
    return json(200, { v: 1, events: decisions.map(eventOf) });
  } catch {
    return problem(
      503,
      "mirror_unavailable",
      "The decision mirror (Redis) did not answer in time; try again.",
    );
  }
}
