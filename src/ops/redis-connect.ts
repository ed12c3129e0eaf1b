/**
 * The responder's Redis from its configuration (config.ts): an Upstash REST URL and token through
 * `restRedis`, a `redis://` / `rediss://` URL through `tcpRedis`. Nothing here listens on a port:
 * the CLI and the local dashboard talk to Redis directly (docs/security.md).
 *
 * Only the CLI imports this file; the mounted dashboard imports redis-rest.ts alone, so an edge
 * bundle never sees ioredis.
 */

import type { ResponderRedis } from "../model/responder-redis.js";
import type { OpsConfig } from "./config.js";
import type { RedisDeadlines, RedisSettings } from "./redis-options.js";
import { restRedis } from "./redis-rest.js";
import { tcpRedis } from "./redis-tcp.js";

/** The settings a failure message points at, by where config.ts found the connection. */
function settingsOf(source: string | undefined, tcp: boolean): RedisSettings {
  if (source === "--redis") return { url: "--redis", credential: "the user and password in --redis" };
  const name = source?.startsWith("env ") ? source.slice(4) : undefined;
  if (tcp) {
    const url = name ?? "REDIS_URL";
    return { url, credential: `the user and password in ${url}` };
  }
  if (name === undefined) return { url: `${source} (restart containment dev)`, credential: `${source}` };
  return { url: name, credential: name.replace(/_URL$/, "_TOKEN") };
}

/**
 * @example
 * const redis = await connectRedis(config); // undefined when no Redis is configured
 * try { await redis?.ping(); } finally { await redis?.close(); }
 */
export async function connectRedis(
  config: Pick<OpsConfig, "redis" | "sources">,
  deadlines: RedisDeadlines = {},
): Promise<ResponderRedis | undefined> {
  const redis = config.redis;
  if (redis === undefined) return undefined;
  if ("redisUrl" in redis)
    return tcpRedis(redis.redisUrl, { ...deadlines, settings: settingsOf(config.sources.redis, true) });
  return restRedis(redis, { ...deadlines, settings: settingsOf(config.sources.redis, false) });
}
