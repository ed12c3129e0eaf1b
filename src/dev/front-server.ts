/**
 * The front door of `containment dev`: a Node HTTP server that does what Vercel's edge does before
 * middleware runs. Client-sent `x-real-ip`, `x-forwarded-for` and `x-vercel-*` headers are dropped
 * and `x-real-ip` is set from the socket, so nobody can claim a break-glass address by sending a
 * header. The request is then handed to the edge runtime (workerd) with its path as sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { ConfigInvalid } from "../core/errors.js";
import type { EdgeRuntime } from "./edge-runtime.js";
import { closeServer, sendJson } from "./http-util.js";

export interface FrontServerOptions {
  host: string;
  port: number;
  /** Resolves once the edge runtime is up; requests arriving earlier wait for it. */
  runtime: Promise<EdgeRuntime>;
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

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: FrontServerOptions,
  self: string,
): Promise<void> {
  const target = req.url ?? "/";
  // Origin-form only: an absolute-form target would let the client pick the URL's host.
  if (!target.startsWith("/")) {
    sendJson(res, 400, { error: "Bad request." });
    return;
  }
  const host = req.headers.host ?? self;
  // Concatenated, not resolved: `new URL("//x", base)` would turn a doubled slash into a host.
  const url = `http://${host}${target}`;
  if (!URL.canParse(url)) {
    sendJson(res, 400, { error: "Bad request." });
    return;
  }
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? "").toLowerCase();
    if (!dropped(name)) headers.push([name, req.rawHeaders[i + 1] ?? ""]);
  }
  const ip = clientAddress(req);
  headers.push(["x-real-ip", ip], ["x-forwarded-for", ip]);
  const method = (req.method ?? "GET").toUpperCase();
  const body = method === "GET" || method === "HEAD" ? null : await readBytes(req);

  const runtime = await options.runtime;
  const response = await runtime.dispatch(url, { method, headers, body });
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  res.writeHead(response.status, response.statusText);
  if (!response.body) {
    res.end();
    return;
  }
  Readable.fromWeb(response.body as import("node:stream/web").ReadableStream).pipe(res);
}

/**
 * Listens on `host:port`; rejects with ERR_CONFIG when the port is taken.
 *
 * @example
 * const front = await startFrontServer({ host: "127.0.0.1", port: 3000, runtime });
 */
export async function startFrontServer(options: FrontServerOptions): Promise<FrontServer> {
  let self = `${options.host}:${options.port}`;
  const server: Server = createServer((req, res) => {
    handle(req, res, options, self).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 502, {
          error: "edge runtime error",
          detail: error instanceof Error ? error.message : String(error),
        });
      else res.destroy();
    });
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
