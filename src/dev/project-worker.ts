/**
 * The workerd harness of `containment dev` in a user's project: runs the project's OWN
 * middleware.ts / proxy.ts (so its options, e.g. `normalize`, are what runs), then does what the
 * platform does with the answer: a block goes to the client, a pass (`x-middleware-next`) or a
 * rewrite (`x-middleware-rewrite`) goes on to the upstream. In a Next.js project the upstream is
 * `next dev`, which runs the same middleware again (the banner says so): a rewrite is then left to
 * it, and the path goes on as the client sent it.
 *
 * bundle.ts builds it with the project's module as `containment:project` and an env module that
 * runs first, so the middleware's factory (`createNextMiddleware()` at module level) reads
 * EDGE_CONFIG and the Redis variables as it would on Vercel.
 */
import { toPlatformRequest, upstreamRunsMiddleware } from "containment:request";
import type { WaitUntilContext } from "../engine/firewall.js";
import { applyMiddlewareAnswer } from "./forward.js";

type Handler = (
  request: Request,
  context: WaitUntilContext,
) => Response | Promise<Response | undefined> | undefined;

/**
 * Loaded on the first request: the middleware's factory runs at its module's top level, and workerd
 * (unlike Vercel's edge) forbids random values and I/O at global scope. esbuild bundles the dynamic
 * import into this file and evaluates it lazily.
 */
let handler: Promise<Handler | undefined> | undefined;
function loadHandler(): Promise<Handler | undefined> {
  handler ??= import("containment:project").then(
    (project) => (project.default ?? project.middleware ?? project.proxy) as Handler | undefined,
  );
  return handler;
}

function harnessError(message: string): Response {
  return new Response(JSON.stringify({ error: `edge-containment dev: ${message}` }), {
    status: 500,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

/** Same origin rewrite: the upstream serves the destination path; the client's URL is unchanged. */
function rewriteTarget(request: Request, answer: Response): Request | undefined {
  const header = answer.headers.get("x-middleware-rewrite");
  if (!header) return undefined;
  const target = new URL(header, request.url);
  return new Request(new URL(`${target.pathname}${target.search}`, request.url), request);
}

export default {
  async fetch(request: Request, env: Record<string, unknown>, ctx: WaitUntilContext): Promise<Response> {
    const middleware = await loadHandler();
    if (typeof middleware !== "function")
      return harnessError("the project's middleware exports no default, `middleware` or `proxy` function");
    const upstream = typeof env.UPSTREAM_URL === "string" ? env.UPSTREAM_URL : undefined;
    const answer =
      (await middleware(toPlatformRequest(request), ctx)) ??
      new Response(null, { headers: { "x-middleware-next": "1" } });
    if (!upstream) return answer;
    // Next's own server runs the middleware again and redoes the rewrite: sending it the destination
    // would make it rewrite or redirect a second time (next-intl's default locale redirects back,
    // a loop). The firewall already decided on the destination (compose checks it).
    if (upstreamRunsMiddleware && answer.headers.has("x-middleware-rewrite")) {
      const headers = new Headers(answer.headers);
      headers.delete("x-middleware-rewrite");
      headers.set("x-middleware-next", "1");
      return applyMiddlewareAnswer(request, new Response(null, { headers }), { upstream });
    }
    const rewritten = rewriteTarget(request, answer);
    if (rewritten) {
      const headers = new Headers(answer.headers);
      headers.delete("x-middleware-rewrite");
      headers.set("x-middleware-next", "1");
      return applyMiddlewareAnswer(rewritten, new Response(null, { headers }), { upstream });
    }
    return applyMiddlewareAnswer(request, answer, { upstream });
  },
};
