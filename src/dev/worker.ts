/**
 * The workerd harness: a module Worker that runs the real drop-in (`createMiddleware`, what
 * `middleware.ts` exports) and then does what Vercel does with its answer, forwarding passed
 * requests to `UPSTREAM_URL`. Bundled by bundle.ts and run in Miniflare by the tests and by
 * `containment dev`.
 *
 * Bindings:
 *   CONTAINMENT_OPTIONS  JSON of extra ContainmentOptions (rules, normalize, refreshMs, redis, …)
 *   EDGE_CONFIG          Edge Config connection string (read by the firewall from its env)
 *   UPSTREAM_URL         the origin behind the firewall
 * All string bindings become the firewall's `env`, as environment variables do on Vercel.
 */
import { createMiddleware, type VercelMiddleware } from "../adapters/vercel.js";
import type { ContainmentOptions, WaitUntilContext } from "../engine/firewall.js";
import { applyMiddlewareAnswer } from "./forward.js";
import { optionsFromJson } from "./worker-options.js";

export type WorkerEnv = Record<string, unknown>;

interface Isolate {
  middleware: VercelMiddleware;
  upstream: string | undefined;
}

// Built on the first request: bindings arrive with it, and the firewall's setup (Edge Config
// client, compiled fallback) must be done once per isolate, not per request.
let isolate: Isolate | { error: string } | undefined;

function stringBindings(env: WorkerEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (typeof value === "string") out[name] = value;
  return out;
}

function setup(env: WorkerEnv): Isolate | { error: string } {
  const strings = stringBindings(env);
  let extra: Record<string, unknown> = {};
  if (strings.CONTAINMENT_OPTIONS !== undefined) {
    try {
      const parsed: unknown = JSON.parse(strings.CONTAINMENT_OPTIONS);
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
        return { error: "CONTAINMENT_OPTIONS must be a JSON object" };
      extra = parsed as Record<string, unknown>;
    } catch {
      return { error: "CONTAINMENT_OPTIONS is not valid JSON" };
    }
  }
  // A harness for tests and local development: the JSON is trusted as given, like code passing options.
  const options: ContainmentOptions = { ...optionsFromJson(extra), env: strings };
  return { middleware: createMiddleware(options), upstream: strings.UPSTREAM_URL };
}

/**
 * Miniflare's dispatchFetch delivers the client's URL but the Host header of its own loopback
 * socket (`127.0.0.1:PORT`). On Vercel the two always agree, and host-scoped rules read the header,
 * so put the URL's host back.
 */
function withUrlHost(request: Request): Request {
  const host = new URL(request.url).host;
  if (request.headers.get("host") === host) return request;
  const headers = new Headers(request.headers);
  headers.set("host", host);
  return new Request(request, { headers });
}

function harnessError(message: string): Response {
  return new Response(JSON.stringify({ error: `edge-containment worker: ${message}` }), {
    status: 500,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: WaitUntilContext): Promise<Response> {
    isolate ??= setup(env);
    if ("error" in isolate) return harnessError(isolate.error);
    const platformRequest = withUrlHost(request);
    const answer = await isolate.middleware(platformRequest, ctx);
    if (isolate.upstream === undefined) {
      return answer.headers.has("x-middleware-next") ? harnessError("no UPSTREAM_URL to forward to") : answer;
    }
    return applyMiddlewareAnswer(platformRequest, answer, { upstream: isolate.upstream });
  },
};
