/**
 * One contract for behaviour tests, two runtimes: "node" runs `createMiddleware` in this process,
 * "workerd" runs the edge bundle (bundle.ts, the same file `containment dev` serves) in Miniflare
 * without nodejs_compat. Both sit in front of the same real echo upstream and forward passed
 * requests with the same code (src/dev/forward.ts), so a suite written once proves both.
 *
 * Paths: `fetch("/path")` is relative to `http://acme.localhost`; full URLs are taken as given. The
 * path is concatenated, never resolved with `new URL(path, base)`, so `//` stays two slashes. What
 * reaches the firewall is what a WHATWG URL parser makes of the text, in both modes (Node's
 * Request and Miniflare's dispatchFetch both parse it; checked against workerd 1.20260730):
 * `%65`, `//`, `;x=1`, `%252F`, `%2F`, `%00` and letter case arrive exactly as sent; `.`/`..` and
 * `%2e%2e` segments are resolved and `\` becomes `/` before the firewall sees them, as Vercel's
 * own URL handling does. Raw-socket spellings are the dev-server test's business.
 *
 * Headers: in workerd mode dispatchFetch is a real undici fetch, which adds `accept`,
 * `accept-language`, `accept-encoding`, `sec-fetch-mode: cors` and `user-agent` when the caller
 * leaves them out, and the worker sees Miniflare's socket as Host (worker.ts restores the URL's).
 * A test that depends on one of those headers being absent or specific must set it itself.
 */
import { randomBytes } from "node:crypto";
import { createMiddleware } from "../../src/adapters/vercel.js";
import { bundleEdge, type EdgeBundle } from "../../src/dev/bundle.js";
import { startEdgeRuntime } from "../../src/dev/edge-runtime.js";
import { applyMiddlewareAnswer } from "../../src/dev/forward.js";
import { optionsFromJson } from "../../src/dev/worker-options.js";
import { startEchoUpstream } from "./echo-upstream.js";

export interface HarnessOptions {
  /** Fixed rules (no Edge Config). */
  rules?: unknown;
  /** Edge Config connection string (e.g. the stand-in's `connectionString`). */
  edgeConfig?: string;
  redis?: { url: string; token: string } | "memory";
  env?: Record<string, string>;
  /** More ContainmentOptions, as JSON (normalize, refreshMs, fallbackRules, …). */
  options?: Record<string, unknown>;
}

export interface Harness {
  name: "node" | "workerd";
  fetch(input: string | Request, init?: RequestInit): Promise<Response>;
  /** Requests that reached the upstream so far. */
  upstreamHits(): number;
  close(): Promise<void>;
}

export const HARNESSES: ReadonlyArray<"node" | "workerd"> = ["node", "workerd"];

export const BASE_URL = "http://acme.localhost";
/** What Vercel would put in `x-real-ip` for a client (TEST-NET-3). */
export const DEFAULT_CLIENT_IP = "203.0.113.7";

function toRequest(input: string | Request, init?: RequestInit): Request {
  const url = typeof input === "string" && input.startsWith("/") ? `${BASE_URL}${input}` : input;
  const request = new Request(url, init);
  if (request.headers.has("x-real-ip")) return request;
  const headers = new Headers(request.headers);
  headers.set("x-real-ip", DEFAULT_CLIENT_IP);
  return new Request(request, { headers });
}

/** The JSON options both modes hand the firewall: the workerd binding and the Node call agree. */
function containmentOptions(options: HarnessOptions): Record<string, unknown> {
  return {
    ...options.options,
    ...(options.rules === undefined ? {} : { rules: options.rules }),
    ...(options.redis === undefined ? {} : { redis: options.redis }),
  };
}

/**
 * The pseudonym key of this test process, as a deployment sets one (docs/security.md): shared by
 * every harness here, so two isolates on one Redis count together. A test that names its own wins.
 */
const RUN_PSEUDONYM_KEY = randomBytes(24).toString("base64url");

function bindings(options: HarnessOptions, upstream: string): Record<string, string> {
  return {
    CONTAINMENT_SALT: RUN_PSEUDONYM_KEY,
    ...options.env,
    CONTAINMENT_OPTIONS: JSON.stringify(containmentOptions(options)),
    UPSTREAM_URL: upstream,
    ...(options.edgeConfig === undefined ? {} : { EDGE_CONFIG: options.edgeConfig }),
  };
}

let bundle: Promise<EdgeBundle> | undefined;
/** Built once per test process, in memory: test files in other processes never read a half-written file. */
function edgeBundle(): Promise<EdgeBundle> {
  bundle ??= bundleEdge({ write: false });
  return bundle;
}

export async function startHarness(name: "node" | "workerd", options: HarnessOptions): Promise<Harness> {
  const upstream = await startEchoUpstream();
  const env = bindings(options, upstream.url);

  if (name === "node") {
    const pending = new Set<Promise<unknown>>();
    const context = {
      waitUntil(promise: Promise<unknown>) {
        const tracked = promise.catch(() => {}).finally(() => pending.delete(tracked));
        pending.add(tracked);
      },
    };
    // The same JSON object the worker parses from CONTAINMENT_OPTIONS, cast the same way.
    const middleware = createMiddleware({ ...optionsFromJson(containmentOptions(options)), env });
    return {
      name,
      async fetch(input, init) {
        const request = toRequest(input, init);
        const answer = await middleware(request, context);
        return applyMiddlewareAnswer(request, answer, { upstream: upstream.url });
      },
      upstreamHits: () => upstream.hits(),
      async close() {
        await Promise.all(pending);
        await upstream.close();
      },
    };
  }

  const runtime = await startEdgeRuntime({ worker: (await edgeBundle()).worker, bindings: env });
  return {
    name,
    async fetch(input, init) {
      const request = toRequest(input, init);
      const method = request.method.toUpperCase();
      const body = method === "GET" || method === "HEAD" ? null : await request.arrayBuffer();
      return runtime.dispatch(request.url, { method, headers: request.headers, body });
    },
    upstreamHits: () => upstream.hits(),
    async close() {
      await runtime.close();
      await upstream.close();
    },
  };
}
