/**
 * The origin behind the firewall in behaviour tests: a real HTTP server on loopback that answers
 * every request with 200 JSON `{ upstream: true, method, path }` (the path exactly as it arrived,
 * query excluded) and counts what reached it. A test asserts "passed" by seeing this body.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { closeServer } from "../../src/dev/http-util.js";
import { HEADER_PARSER_LIMIT } from "../../src/dev/platform-limits.js";

export interface EchoUpstream {
  readonly url: string;
  hits(): number;
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  let hits = 0;
  // An origin on the platform gets up to 32 KB of headers; Node's default parser stops at 16 KB.
  const server = createServer({ maxHeaderSize: HEADER_PARSER_LIMIT }, (req, res) => {
    hits++;
    const raw = req.url ?? "/";
    const query = raw.indexOf("?");
    const body = JSON.stringify({
      upstream: true,
      method: req.method,
      path: query === -1 ? raw : raw.slice(0, query),
    });
    res.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "public, max-age=60",
    });
    // Drain any request body before answering so keep-alive connections stay usable.
    req.resume();
    req.on("end", () => res.end(req.method === "HEAD" ? undefined : body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => closeServer(server) };
}
