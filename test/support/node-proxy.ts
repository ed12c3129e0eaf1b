/**
 * A harness running the Node `proxy.ts` adapter (`createNextProxy`, what a Next 16 proxy.ts
 * exports) the way Next's Node runtime does: each request becomes a real `NextRequest` (from the
 * example app's Next install, so `nextUrl` knows basePath exactly as Next builds it), the proxy's
 * answer is applied like Next applies it (`x-middleware-next` passes on to the origin with the
 * proxy's headers, `x-middleware-rewrite` serves the destination, anything else is the answer).
 *
 * Same contract as harness.ts (`fetch`, `upstreamHits`, `close`), plus a real HTTP server (`url`)
 * so fault and load suites can send traffic over sockets. Without the example's Next install
 * (`npm ci` in examples/next-app; `npm test` does it) requests are plain `Request`s with a `nextUrl` built
 * from `basePath`, and `usesNextRequest` says so.
 *
 * @example
 * const proxy = await startNodeProxyHarness({ rules, redis: { url, token } });
 * const response = await proxy.fetch("/api/patients/1/export");
 * await proxy.close();
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createNextProxy } from "../../src/adapters/next.js";
import { applyMiddlewareAnswer } from "../../src/dev/forward.js";
import { optionsFromJson } from "../../src/dev/worker-options.js";
import { startEchoUpstream } from "./echo-upstream.js";
import { BASE_URL, DEFAULT_CLIENT_IP, type HarnessOptions } from "./harness.js";
import { APP, nextInstalled } from "./next-app.js";

export interface NodeProxyOptions extends HarnessOptions {
  /** The app's basePath, as next.config would set it; `nextUrl.basePath` carries it. */
  basePath?: string;
}

export interface NodeProxyHarness {
  name: "node-proxy";
  /** Whether requests are real `NextRequest`s (Next installed in examples/next-app). */
  usesNextRequest: boolean;
  /** The HTTP server in front of the proxy, e.g. `http://127.0.0.1:PORT`. */
  url: string;
  fetch(input: string | Request, init?: RequestInit): Promise<Response>;
  upstreamHits(): number;
  /** Waits for every `waitUntil` promise (mirror flushes, refreshes) started so far. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

type NextRequestClass = new (input: Request, init?: { nextConfig?: { basePath?: string } }) => Request;

function loadNextRequest(): NextRequestClass | undefined {
  if (!nextInstalled()) return undefined;
  const require = createRequire(join(APP, "package.json"));
  return (require("next/server") as { NextRequest: NextRequestClass }).NextRequest;
}

function withClientIp(request: Request): Request {
  if (request.headers.has("x-real-ip")) return request;
  const headers = new Headers(request.headers);
  headers.set("x-real-ip", DEFAULT_CLIENT_IP);
  return new Request(request, { headers });
}

async function fromNode(req: IncomingMessage, origin: string): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  const method = req.method ?? "GET";
  const chunks: Buffer[] = [];
  if (method !== "GET" && method !== "HEAD") for await (const chunk of req) chunks.push(chunk as Buffer);
  return new Request(`${origin}${req.url ?? "/"}`, {
    method,
    headers,
    ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
  });
}

async function toNode(response: Response, res: ServerResponse): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

export async function startNodeProxyHarness(options: NodeProxyOptions = {}): Promise<NodeProxyHarness> {
  const upstream = await startEchoUpstream();
  const NextRequest = loadNextRequest();
  const env = {
    ...options.env,
    ...(options.edgeConfig === undefined ? {} : { EDGE_CONFIG: options.edgeConfig }),
  };
  const proxy = createNextProxy({
    ...optionsFromJson({
      ...options.options,
      ...(options.rules === undefined ? {} : { rules: options.rules }),
      ...(options.redis === undefined ? {} : { redis: options.redis }),
    }),
    env,
  });
  const pending = new Set<Promise<unknown>>();
  const context = {
    waitUntil(promise: Promise<unknown>) {
      const tracked = promise.catch(() => {}).finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
  };
  const nextRequest = (request: Request): Request => {
    if (NextRequest) return new NextRequest(request, { nextConfig: { basePath: options.basePath ?? "" } });
    return Object.assign(request, { nextUrl: { basePath: options.basePath ?? "", locale: "" } });
  };

  async function handle(input: Request): Promise<Response> {
    const request = nextRequest(withClientIp(input));
    const answer = await proxy(request, context);
    const rewrite = answer.headers.get("x-middleware-rewrite");
    if (rewrite) {
      const target = new URL(rewrite, request.url);
      const headers = new Headers(answer.headers);
      headers.set("x-middleware-next", "1");
      const forwarded = new Request(new URL(`${target.pathname}${target.search}`, request.url), input);
      return applyMiddlewareAnswer(forwarded, new Response(null, { headers }), { upstream: upstream.url });
    }
    return applyMiddlewareAnswer(request, answer, { upstream: upstream.url });
  }

  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host ?? "127.0.0.1"}`;
    fromNode(req, origin)
      .then(handle)
      .then((response) => toNode(response, res))
      .catch(() => {
        // A crash of the adapter is a test failure, answered as Next would answer it.
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
  const { port } = server.address() as AddressInfo;

  return {
    name: "node-proxy",
    usesNextRequest: NextRequest !== undefined,
    url: `http://127.0.0.1:${port}`,
    fetch(input, init) {
      const url = typeof input === "string" && input.startsWith("/") ? `${BASE_URL}${input}` : input;
      return handle(new Request(url, init));
    },
    upstreamHits: () => upstream.hits(),
    settle: async () => {
      await Promise.all([...pending]);
    },
    async close() {
      await new Promise<void>((res) => server.close(() => res()));
      await Promise.all([...pending]);
      await upstream.close();
    },
  };
}
