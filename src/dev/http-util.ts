/**
 * Small HTTP helpers shared by the local stand-ins (Edge Config server, Upstash bridge).
 * They exist so each server file only contains its protocol, not socket bookkeeping.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { HEADER_PARSER_LIMIT } from "./platform-limits.js";

/** Upper bound on request bodies: the stand-ins serve tests, not uploads. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface Listening {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `handler` on 127.0.0.1, and only there: the stand-ins hold a real Redis and the dev
 * store, so no other interface may reach them (local-guard.ts refuses what a page can send).
 * A handler that throws answers 500 instead of killing the process.
 */
export async function listen(handler: Handler, port = 0): Promise<Listening> {
  const host = "127.0.0.1";
  // Accepts what the platform forwards (up to 32 KB of headers); Node's default stops at 16 KB.
  const server = createServer({ maxHeaderSize: HEADER_PARSER_LIMIT }, (req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendJson(res, 500, { error: `internal error: ${errorMessage(error)}` });
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    port: address.port,
    url: `http://${host}:${address.port}`,
    close: () => closeServer(server),
  };
}

/**
 * Closes the server and every open socket: fetch keeps connections alive, and a plain
 * `server.close()` would wait for them (hanging test teardown).
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large");
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1];
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
