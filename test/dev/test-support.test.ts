import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { startDelayProxy } from "../support/delay-proxy.js";
import { startRedisServer } from "../support/redis-server.js";

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function client(url: string, options: { commandTimeout?: number } = {}): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => 50, ...options });
  redis.on("error", () => {});
  cleanup.push(() => redis.disconnect());
  return redis;
}

async function timed<T>(promise: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await promise;
  return [value, performance.now() - started];
}

describe("the throwaway redis-server", () => {
  it("starts empty on a free port, and restarts on the same port after being killed", async () => {
    const server = await startRedisServer();
    cleanup.push(() => server.stop());
    const redis = client(server.url);
    await redis.set("k", "v");
    expect(await redis.get("k")).toBe("v");

    await server.stop();
    expect(server.running).toBe(false);
    await expect(redis.get("k")).rejects.toThrow();

    await server.start();
    expect(server.running).toBe(true);
    const fresh = client(`redis://127.0.0.1:${server.port}`);
    expect(await fresh.get("k")).toBeNull(); // no persistence: a restart loses the data
  });

  it("freezes while paused and answers again once it resumes", async () => {
    const server = await startRedisServer();
    cleanup.push(() => server.stop());
    const redis = client(server.url);
    expect(await redis.ping()).toBe("PONG");
    await server.pause(300);
    const [reply, ms] = await timed(redis.ping());
    expect(reply).toBe("PONG");
    expect(ms).toBeGreaterThanOrEqual(250);
  });
});

describe("the delaying TCP proxy", () => {
  it("adds latency to each round trip through it", async () => {
    const server = await startRedisServer();
    cleanup.push(() => server.stop());
    const proxy = await startDelayProxy({ targetPort: server.port, delayMs: 600 });
    cleanup.push(() => proxy.close());
    const redis = client(proxy.url);
    await redis.ping(); // connect first so only the round trip is measured

    const [reply, ms] = await timed(redis.ping());
    expect(reply).toBe("PONG");
    expect(ms).toBeGreaterThanOrEqual(1_150); // 600 ms each way: a lower bound, which load cannot break

    // Turned down to 0, a round trip beats one through a second proxy delaying by 300 ms each way,
    // which it would lose if the delay stayed (an order, not a duration: it holds however slow the machine is).
    proxy.setDelay(0);
    const slowProxy = await startDelayProxy({ targetPort: server.port, delayMs: 300 });
    cleanup.push(() => slowProxy.close());
    const slow = client(slowProxy.url);
    await slow.ping(); // connected, so the race below is one round trip each
    const first = await Promise.race([
      redis.ping().then(() => "undelayed"),
      slow.ping().then(() => "delayed"),
    ]);
    expect(first).toBe("undelayed");
  });

  it("black-holes traffic until turned off, then lets clients reconnect", async () => {
    const server = await startRedisServer();
    cleanup.push(() => server.stop());
    const proxy = await startDelayProxy({ targetPort: server.port });
    cleanup.push(() => proxy.close());
    const redis = client(proxy.url, { commandTimeout: 200 });
    await redis.set("k", "v");

    proxy.setBlackhole(true);
    await expect(redis.get("k")).rejects.toThrow(/timed out/);

    proxy.setBlackhole(false);
    let value: string | null | undefined;
    for (let i = 0; i < 40 && value === undefined; i++) {
      value = await redis.get("k").catch(() => undefined);
    }
    expect(value).toBe("v");
  });
});
