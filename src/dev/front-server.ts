/**
 * The front door of `containment dev`: a Node HTTP server that does what Vercel's edge does before
 * middleware runs. Client-sent `x-real-ip`, `x-forwarded-for` and `x-vercel-*` headers are dropped
 * and `x-real-ip` is set from the socket, so nobody can claim a break-glass address by sending a
 * header. The request is then handed to the edge runtime (workerd) with its path and headers as
 * sent (edge-runtime.ts carries the headers past the transport's rewrites).
 *
 * What it answers itself, as a platform in front of middleware does (never with internal detail):
 * - two or more Host headers, or a Host that is not `host[:port]` (e.g. `a@b`): 400 (RFC 9112 §3.2);
 * - a request target that is neither origin-form (`/path`) nor absolute-form (`http://host/path`,
 *   which servers must accept, RFC 9112 §3.2.2: its authority replaces Host): 400;
 * - TRACE, TRACK and CONNECT: 405 with `Allow` (fetch cannot even express them, and no app behind
 *   a firewall needs a proxy tunnel or a request echo);
 * - an edge runtime that fails: 502 "Service temporarily unavailable." (the detail goes to the log).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { Readable } from "node:stream";
import { ConfigInvalid } from "../core/errors.js";
import { DASHBOARD_COOKIE_PREFIX } from "../dashboard/local/session.js";
import type { EdgeRuntime } from "./edge-runtime.js";
import { ENVELOPE_HEADER } from "./edge-runtime-envelope.js";
import { closeServer, sendJson } from "./http-util.js";
import { HEADER_PARSER_LIMIT, HEADER_TOO_LARGE_BODY } from "./platform-limits.js";

export interface FrontServerOptions {
  host: string;
  port: number;
  /**
   * Resolves once the edge runtime is up; requests arriving earlier wait for it. A function is asked
   * on every request: `containment dev` swaps in a rebuilt runtime when the project's middleware changes.
   */
  runtime: Promise<EdgeRuntime> | (() => Promise<EdgeRuntime>);
}

export interface FrontServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Headers the platform owns (set below) or that describe one hop only. */
function dropped(name: string): boolean {
  return (
    name === "x-real-ip" ||
    name === ENVELOPE_HEADER ||
    name === "x-forwarded-for" ||
    name.startsWith("x-vercel-") ||
    name === "connection" ||
    name === "keep-alive" ||
    name === "transfer-encoding" ||
    name === "upgrade" ||
    name === "content-length" ||
    name === "proxy-connection"
  );
}

/**
 * The Cookie header without the local dashboards' session cookies. Browsers send cookies to every
 * port of a host, so the dashboard's (on a port of its own) would otherwise reach the app behind
 * the firewall, whose server could act with it. Only `containment dev` does this; the edge never
 * sees such a cookie.
 */
function withoutDashboardCookies(value: string): string {
  if (!value.includes(DASHBOARD_COOKIE_PREFIX)) return value;
  return value
    .split(";")
    .filter((part) => !part.trim().startsWith(DASHBOARD_COOKIE_PREFIX))
    .join(";")
    .trim();
}

/** `::ffff:127.0.0.1` → `127.0.0.1`: what a dual-stack socket reports for an IPv4 client. */
function clientAddress(req: IncomingMessage): string {
  const raw = req.socket.remoteAddress ?? "127.0.0.1";
  return raw.startsWith("::ffff:") && raw.includes(".") ? raw.slice("::ffff:".length) : raw;
}

async function readBytes(req: IncomingMessage): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const BAD_REQUEST = { error: "Bad request." };
const REFUSED_METHODS = new Set(["TRACE", "TRACK", "CONNECT"]);
const ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
/** RFC 9110 §7.2: a reg-name or IPv4, or a bracketed IPv6, then an optional port. No userinfo. */
const AUTHORITY = /^(?:[a-z0-9._~-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::\d{0,5})?$/i;

/** The Host header values as sent (Node keeps only the first in `req.headers`). */
function hostValues(req: IncomingMessage): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    if ((req.rawHeaders[i] ?? "").toLowerCase() === "host") values.push(req.rawHeaders[i + 1] ?? "");
  return values;
}

/** The URL the edge sees, or undefined when the target or Host cannot name one. */
function requestUrl(req: IncomingMessage, self: string): string | undefined {
  const target = req.url ?? "/";
  const hosts = hostValues(req);
  if (hosts.length > 1) return undefined;
  let host = hosts[0]?.trim() ?? self;
  let path = target;
  if (!target.startsWith("/")) {
    // Absolute-form: the target's authority is the host, whatever Host says (RFC 9112 §3.2.2).
    const absolute = /^https?:\/\/([^/?#]*)([^#]*)$/i.exec(target);
    if (!absolute) return undefined;
    host = absolute[1] ?? "";
    path = absolute[2] || "/";
    if (!path.startsWith("/")) path = `/${path}`;
  }
  if (!AUTHORITY.test(host)) return undefined;
  // Concatenated, not resolved: `new URL("//x", base)` would turn a doubled slash into a host.
  const url = `http://${host}${path}`;
  return URL.canParse(url) ? url : undefined;
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: FrontServerOptions,
  self: string,
): Promise<void> {
  const method = (req.method ?? "GET").toUpperCase();
  if (REFUSED_METHODS.has(method)) {
    sendJson(res, 405, { error: "Method not allowed." }, { allow: ALLOW });
    return;
  }
  const url = requestUrl(req, self);
  if (url === undefined) {
    sendJson(res, 400, BAD_REQUEST);
    return;
  }
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? "").toLowerCase();
    if (dropped(name)) continue;
    const value =
      name === "cookie" ? withoutDashboardCookies(req.rawHeaders[i + 1] ?? "") : req.rawHeaders[i + 1];
    if (value !== undefined && value !== "") headers.push([name, value]);
  }
  // An absolute-form target names the host; the edge sees it as Host, as a proxy would forward it.
  const host = new URL(url).host;
  const hostIndex = headers.findIndex(([name]) => name === "host");
  if (hostIndex === -1) headers.unshift(["host", host]);
  else headers[hostIndex] = ["host", host];
  const ip = clientAddress(req);
  headers.push(["x-real-ip", ip], ["x-forwarded-for", ip]);
  const body = method === "GET" || method === "HEAD" ? null : await readBytes(req);

  const runtime = await (typeof options.runtime === "function" ? options.runtime() : options.runtime);
  const response = await runtime.dispatch(url, { method, headers, body });
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  // A Response made in the worker often has no status text; Node then supplies the standard one.
  res.writeHead(response.status, response.statusText || undefined);
  if (!response.body) {
    res.end();
    return;
  }
  Readable.fromWeb(response.body as import("node:stream/web").ReadableStream).pipe(res);
}

/** CONNECT never reaches the request handler in Node; answer it on the socket like other refusals. */
function refuseConnect(socket: Duplex): void {
  const body = JSON.stringify({ error: "Method not allowed." });
  socket.end(
    `HTTP/1.1 405 Method Not Allowed\r\nallow: ${ALLOW}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * Listens on `host:port`; rejects with ERR_CONFIG when the port is taken.
 *
 * @example
 * const front = await startFrontServer({ host: "127.0.0.1", port: 3000, runtime });
 */
export async function startFrontServer(options: FrontServerOptions): Promise<FrontServer> {
  let self = `${options.host}:${options.port}`;
  const server: Server = createServer({ maxHeaderSize: HEADER_PARSER_LIMIT }, (req, res) => {
    handle(req, res, options, self).catch((error: unknown) => {
      // The detail is for the operator's terminal, never for the client.
      console.error(`containment dev: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) sendJson(res, 502, { error: "Service temporarily unavailable." });
      else res.destroy();
    });
  });
  server.on("connect", (_req, socket) => refuseConnect(socket));
  // A request Node's parser rejects gets a defined status, not a reset: 431 for oversized headers
  // (what the platform answers, see platform-limits.ts), 400 for anything else (bad bytes).
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return;
    if (error.code === "HPE_HEADER_OVERFLOW") {
      socket.end(
        `HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${HEADER_TOO_LARGE_BODY.length}\r\nconnection: close\r\n\r\n${HEADER_TOO_LARGE_BODY}`,
      );
    } else socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new ConfigInvalid(
            `port ${options.port} on ${options.host} is in use; pass --port N (or --port 0 for any free port)`,
          ),
        );
      } else if (error.code === "EACCES") {
        reject(
          new ConfigInvalid(
            `not allowed to listen on ${options.host}:${options.port}; pick a port above 1023`,
          ),
        );
      } else if (error.code === "EADDRNOTAVAIL" || error.code === "ENOTFOUND") {
        reject(new ConfigInvalid(`cannot listen on host ${options.host}: no such local address`));
      } else reject(error);
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const hostText = options.host.includes(":") ? `[${options.host}]` : options.host;
  self = `${hostText}:${port}`;
  return { url: `http://${self}`, port, close: () => closeServer(server) };
}
