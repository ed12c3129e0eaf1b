/**
 * A TCP proxy in front of a port that adds latency or black-holes traffic: "Redis slowed by a
 * delaying proxy" and "Redis unreachable but connections hang" without touching Redis itself.
 */
import { connect, createServer, type Socket } from "node:net";

export interface DelayProxyOptions {
  targetPort: number;
  targetHost?: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Latency added to every chunk, in each direction. */
  delayMs?: number;
}

export interface DelayProxy {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`, for proxies in front of Redis. */
  readonly url: string;
  /** Open client connections. */
  readonly connections: number;
  /** Applies to data sent from now on; data already queued keeps its time. */
  setDelay(ms: number): void;
  /**
   * While on, data in both directions is dropped and new connections are accepted but never
   * reach the target, so clients hang until their own timeouts. Turning it off closes the
   * connections that lost data (their byte streams are broken), so clients reconnect cleanly.
   */
  setBlackhole(on: boolean): void;
  /** Closes every client connection (a network reset). */
  dropConnections(): void;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  tainted: boolean;
}

/**
 * @example
 * const proxy = await startDelayProxy({ targetPort: redis.port, delayMs: 200 });
 * const bridge = await startUpstashBridge({ redisUrl: proxy.url });
 */
export async function startDelayProxy(options: DelayProxyOptions): Promise<DelayProxy> {
  const targetHost = options.targetHost ?? "127.0.0.1";
  let delayMs = options.delayMs ?? 0;
  let blackhole = false;
  const links = new Set<Link>();

  const server = createServer((client) => {
    const link: Link = { client, upstream: undefined, tainted: blackhole };
    links.add(link);
    const closeBoth = () => {
      links.delete(link);
      client.destroy();
      link.upstream?.destroy();
    };
    client.on("error", closeBoth);
    client.on("close", closeBoth);
    if (blackhole) {
      client.on("data", () => {}); // swallowed
      return;
    }
    const upstream = connect(options.targetPort, targetHost);
    link.upstream = upstream;
    upstream.on("error", closeBoth);
    upstream.on("close", closeBoth);
    forward(client, upstream, link);
    forward(upstream, client, link);
  });

  /** Relays chunks in order, each no earlier than `delayMs` after it arrived. */
  const forward = (from: Socket, to: Socket, link: Link) => {
    const queue: Array<{ chunk: Buffer; due: number }> = [];
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      timer = undefined;
      const now = Date.now();
      for (let head = queue[0]; head !== undefined && head.due <= now; head = queue[0]) {
        queue.shift();
        // Data still queued when the hole opens is lost too.
        if (blackhole) link.tainted = true;
        else if (!to.destroyed) to.write(head.chunk);
      }
      const next = queue[0];
      if (next) timer = setTimeout(pump, next.due - now);
    };
    from.on("data", (chunk: Buffer) => {
      if (blackhole) {
        link.tainted = true;
        return;
      }
      const last = queue[queue.length - 1];
      queue.push({ chunk, due: Math.max(Date.now() + delayMs, last?.due ?? 0) });
      if (!timer) pump();
    });
    from.on("close", () => {
      if (timer) clearTimeout(timer);
    });
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  const dropConnections = () => {
    for (const link of [...links]) {
      link.client.destroy();
      link.upstream?.destroy();
    }
  };

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get connections() {
      return links.size;
    },
    setDelay: (ms) => {
      delayMs = Math.max(0, ms);
    },
    setBlackhole: (on) => {
      blackhole = on;
      if (on) return;
      for (const link of [...links]) {
        if (link.tainted) {
          link.client.destroy();
          link.upstream?.destroy();
        }
      }
    },
    dropConnections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        dropConnections();
      }),
  };
}
