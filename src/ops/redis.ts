/**
 * The responders' Redis client: `@upstash/redis` over REST (works wherever `fetch` does, so the
 * dashboard can run at the edge). No retries (the client's default retries a dead network for
 * ~4 s), and no automatic JSON parsing: audit entries and reports are compared byte for byte.
 */
import { Redis } from "@upstash/redis";

export function createOpsRedis(connection: { url: string; token: string }): Redis {
  return new Redis({
    url: connection.url,
    token: connection.token,
    retry: { retries: 0 },
    automaticDeserialization: false,
    enableTelemetry: false,
  });
}
