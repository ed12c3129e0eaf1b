/**
 * An HTTP reverse proxy in front of a stand-in (the Vercel API, the Upstash bridge) that lets a
 * test act at an exact point of one request: `answer` replaces the upstream's answer (a 500 for a
 * PATCH), `after` runs once the upstream answered and before that answer goes back. So a test can
 * stop Redis right after Edge Config accepted a kill switch, with no sleep and no race.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { closeServer } from "../../src/dev/http-util.js";

export interface GateRequest {
  method: string;
  /** Path and query, e.g. `/v1/edge-config/ecfg_local/items`. */
  path: string;
  body: string;
}

export interface GateHooks {
  /** Answers instead of the upstream (status and JSON body), or undefined to forward. */
  answer?: (request: GateRequest) => { status: number; body: unknown } | undefined;
  /** Runs after the upstream answered `status`, before the answer is sent on. */
  after?: (request: GateRequest, status: number) => Promise<void> | void;
}

export interface HttpGate {
  readonly url: string;
  /** Replaces the hooks (none: a plain proxy). */
  set(hooks: GateHooks): void;
  close(): Promise<void>;
}

const HOP = new Set(["connection", "content-length", "transfer-encoding", "keep-alive", "content-encoding"]);

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** @example const gate = await startHttpGate(ec.apiUrl); gate.set({ after: … }); */
export async function startHttpGate(target: string): Promise<HttpGate> {
  let hooks: GateHooks = {};
  const base = target.replace(/\/+$/, "");
  const server = createServer((req, res) => {
    void (async () => {
      const request: GateRequest = {
        method: req.method ?? "GET",
        path: req.url ?? "/",
        body: await bodyOf(req),
      };
      const replaced = hooks.answer?.(request);
      if (replaced !== undefined) {
        res.writeHead(replaced.status, { "content-type": "application/json" });
        res.end(JSON.stringify(replaced.body));
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === "string" && !HOP.has(name) && name !== "host") headers[name] = value;
      let status = 502;
      let text = JSON.stringify({ error: "gate: upstream unreachable" });
      const answerHeaders: Record<string, string> = { "content-type": "application/json" };
      try {
        const upstream = await fetch(`${base}${request.path}`, {
          method: request.method,
          headers,
          ...(request.method === "GET" || request.method === "HEAD" ? {} : { body: request.body }),
        });
        status = upstream.status;
        text = await upstream.text();
        upstream.headers.forEach((value, name) => {
          if (!HOP.has(name)) answerHeaders[name] = value;
        });
      } catch {
        // Answered as a 502 below: the stand-in behind the gate is down.
      }
      await hooks.after?.(request, status);
      res.writeHead(status, answerHeaders);
      res.end(text);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    set: (next) => {
      hooks = next;
    },
    close: () => closeServer(server),
  };
}
