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
 * All string bindings become the firewall's `env`, as environment variables do on Vercel (except
 * the envelope token, which is the harness's own).
 *
 * Responses of the harness itself never carry internal detail: a broken setup or a failing origin
 * answers a generic JSON error, and the detail goes to the runtime's log.
 */
import { createMiddleware, type VercelMiddleware } from "../adapters/vercel.js";
import type { WaitUntilContext } from "../engine/firewall.js";
import type { ContainmentOptions } from "../engine/options.js";
import { ENVELOPE_BINDING, ENVELOPE_HEADER } from "./edge-runtime-envelope.js";
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
  for (const [name, value] of Object.entries(env))
    if (typeof value === "string" && name !== ENVELOPE_BINDING) out[name] = value;
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

function decodeEnvelope(text: string): { token?: unknown; headers?: unknown } | undefined {
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return parsed !== null && typeof parsed === "object" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * The request as the client sent it: the headers from the envelope (see edge-runtime.ts) when it
 * carries this runtime's token, else the request as delivered. Miniflare's dispatchFetch delivers
 * the client's URL but its own loopback socket as Host; on Vercel the two agree, and host-scoped
 * rules read the header, so a request without a client Host gets the URL's host.
 */
function clientRequest(request: Request, env: WorkerEnv): Request | undefined {
  const sealed = request.headers.get(ENVELOPE_HEADER);
  let headers: Headers;
  if (sealed === null) {
    headers = new Headers(request.headers);
  } else {
    const envelope = decodeEnvelope(sealed);
    const token = env[ENVELOPE_BINDING];
    if (!envelope || typeof token !== "string" || typeof envelope.token !== "string") return undefined;
    if (!sameToken(envelope.token, token) || !Array.isArray(envelope.headers)) return undefined;
    headers = new Headers();
    for (const pair of envelope.headers as unknown[]) {
      if (!Array.isArray(pair) || typeof pair[0] !== "string" || typeof pair[1] !== "string")
        return undefined;
      headers.append(pair[0], pair[1]);
    }
  }
  if (!headers.has("host")) headers.set("host", new URL(request.url).host);
  const method = request.method.toUpperCase();
  const body = method === "GET" || method === "HEAD" ? null : request.body;
  return new Request(request.url, { method, headers, body, redirect: "manual" });
}

/** The harness's own failure: logged with its detail, answered without it. */
function harnessError(detail: string, status = 500): Response {
  console.error(`edge-containment worker: ${detail}`);
  return new Response(JSON.stringify({ error: "Service temporarily unavailable." }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

function badRequest(): Response {
  return new Response(JSON.stringify({ error: "Bad request." }), {
    status: 400,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: WaitUntilContext): Promise<Response> {
    isolate ??= setup(env);
    if ("error" in isolate) return harnessError(isolate.error);
    let platformRequest: Request | undefined;
    try {
      platformRequest = clientRequest(request, env);
    } catch {
      platformRequest = undefined;
    }
    if (platformRequest === undefined) return badRequest();
    const answer = await isolate.middleware(platformRequest, ctx);
    if (isolate.upstream === undefined) {
      return answer.headers.has("x-middleware-next") ? harnessError("no UPSTREAM_URL to forward to") : answer;
    }
    try {
      return await applyMiddlewareAnswer(platformRequest, answer, { upstream: isolate.upstream });
    } catch (error) {
      return harnessError(
        `origin unreachable: ${error instanceof Error ? error.message : String(error)}`,
        502,
      );
    }
  },
};
