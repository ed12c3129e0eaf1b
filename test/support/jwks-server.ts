/**
 * A real JWKS endpoint on loopback for tenant-binding tests: serves a key set that a test can
 * rotate, counts every fetch (per path), and can be made slow or broken. Each path is its own key
 * set URL, so tests sharing one server never share the firewall's module-level JWKS cache entry.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { JWK } from "jose";
import { closeServer } from "../../src/dev/http-util.js";

export interface JwksServer {
  readonly origin: string;
  /** The URL of a key set; `name` separates cache entries (default "jwks"). */
  url(name?: string): string;
  setKeys(keys: readonly JWK[]): void;
  /** Fetches of a key set so far (all key sets when `name` is left out). */
  hits(name?: string): number;
  /** Delays every answer by `ms` (0: answer at once). */
  setDelay(ms: number): void;
  /** Answers with this status and no key set (undefined: serve normally). */
  setFailure(status: number | undefined): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly JWK[] = []): Promise<JwksServer> {
  let current = [...keys];
  let delay = 0;
  let failure: number | undefined;
  const hits = new Map<string, number>();
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const server = createServer((req, res) => {
    const name = (req.url ?? "/").slice(1).replace(/\.json$/, "");
    hits.set(name, (hits.get(name) ?? 0) + 1);
    const answer = () => {
      if (res.destroyed) return;
      if (failure !== undefined) {
        res.writeHead(failure, { "content-type": "text/plain" });
        res.end("unavailable");
        return;
      }
      res.writeHead(200, { "content-type": "application/jwk-set+json" });
      res.end(JSON.stringify({ keys: current }));
    };
    if (delay === 0) answer();
    else {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer();
      }, delay);
      timers.add(timer);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (name = "jwks") => `${origin}/${name}.json`,
    setKeys(next) {
      current = [...next];
    },
    hits(name) {
      if (name !== undefined) return hits.get(name) ?? 0;
      let total = 0;
      for (const n of hits.values()) total += n;
      return total;
    },
    setDelay(ms) {
      delay = ms;
    },
    setFailure(status) {
      failure = status;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await closeServer(server);
    },
  };
}

/** A loopback URL nothing listens on: connections are refused at once. */
export async function unreachableUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await closeServer(server);
  return `http://127.0.0.1:${port}/jwks.json`;
}
