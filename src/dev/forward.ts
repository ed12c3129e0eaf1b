/**
 * What Vercel does with a Routing Middleware's answer, for the local harnesses (workerd worker and
 * the Node test harness share this file so both behave alike): a response without
 * `x-middleware-next` is sent to the client as is; with it, the request goes on to the origin and
 * the middleware's other headers are set on the origin's response.
 */
import { detachedBody } from "../core/detached-body.js";

/** Request headers that describe one hop, not the request; fetch sets its own. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-connection",
  "host",
  "content-length",
]);

/**
 * The path and query exactly as the client spelled them. `new URL(path, base)` would read a path
 * starting with `//` as a host, so the origin's URL is built by concatenation.
 */
function pathAndQuery(url: string): string {
  const afterScheme = url.indexOf("//");
  const start = url.indexOf("/", afterScheme === -1 ? 0 : afterScheme + 2);
  if (start === -1) return "/";
  const hash = url.indexOf("#", start);
  return hash === -1 ? url.slice(start) : url.slice(start, hash);
}

/** Where the request goes at the origin: the origin's scheme, host and base path, then the client's path. */
function upstreamUrl(requestUrl: string, upstream: string): string {
  const base = new URL(upstream);
  const prefix = base.pathname.replace(/\/+$/, "");
  return `${base.origin}${prefix}${pathAndQuery(requestUrl)}`;
}

/**
 * The origin's response headers with its own address replaced by the one the client used. The
 * origin sees the request at its internal address (fetch sets Host), so absolute URLs it builds
 * (`location` of a redirect, next-intl's alternate `link` header, `content-location`, `refresh`)
 * name it; on Vercel the client never learns an internal address, and locally it must not either.
 */
function originHeaders(headers: Headers, internal: string, external: string): Headers {
  const out = new Headers();
  for (const [name, value] of headers) {
    if (name === "set-cookie") continue;
    out.append(name, value.includes(internal) ? value.replaceAll(internal, external) : value);
  }
  for (const cookie of headers.getSetCookie()) out.append("set-cookie", cookie);
  return out;
}

export interface ForwardOptions {
  upstream: string;
  fetch?: typeof fetch;
}

/**
 * Applies the middleware's answer: returns a block response untouched, or fetches the origin and
 * adds the middleware's headers (except the `x-middleware-*` control headers) to its response.
 */
export async function applyMiddlewareAnswer(
  request: Request,
  answer: Response,
  options: ForwardOptions,
): Promise<Response> {
  if (answer.headers.get("x-middleware-next") === null) return answer;
  const headers = new Headers();
  for (const [name, value] of request.headers) if (!HOP_BY_HOP.has(name)) headers.append(name, value);
  const method = request.method.toUpperCase();
  // Buffered: these harnesses serve tests and local development, and a buffer needs no `duplex`.
  const body = method === "GET" || method === "HEAD" ? null : await request.arrayBuffer();
  const doFetch = options.fetch ?? fetch;
  const origin = await doFetch(upstreamUrl(request.url, options.upstream), {
    method,
    headers,
    body,
    redirect: "manual",
  });

  const out = originHeaders(origin.headers, new URL(options.upstream).origin, new URL(request.url).origin);
  for (const [name, value] of answer.headers) {
    if (!name.startsWith("x-middleware-")) out.set(name, value);
  }
  return new Response(detachedBody(origin), {
    status: origin.status,
    statusText: origin.statusText,
    headers: out,
  });
}
