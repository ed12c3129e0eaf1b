/**
 * Turns `ContainmentOptions.redis` / `mirror` / `identity` (or the Upstash env variables) into the
 * store, keyring and mirror the firewall uses. Setup only: no I/O happens here.
 */

import { type IdentityOptions, Keyring } from "../core/identity.js";
import { DEFAULT_REDIS_PREFIX } from "../model/defaults.js";
import type { DetectStore } from "../model/detect-store.js";
import type { RateLimitStore } from "../model/rate-limit-store.js";
import { redisDetectStore } from "./detect/redis-detect.js";
import { reportEnvironment } from "./mirror/isolate-report.js";
import type { MirrorOptions } from "./mirror/options.js";
import { redisMirror } from "./mirror/redis-mirror.js";
import { configuredPseudonymKey, pseudonymKeyOf } from "./pseudonym-key.js";
import { type RedisOption, redisConnection, UpstashStore } from "./redis.js";
import type { StorageMirror } from "./storage.js";
import { isStoreProvider } from "./storage.js";

export interface StorageOptions {
  redis?: RedisOption | undefined;
  redisPrefix?: string | undefined;
  mirror?: MirrorOptions | false | undefined;
  identity?: IdentityOptions | undefined;
  env: Readonly<Record<string, string | undefined>>;
  region: string;
  now: () => number;
  fetch?: typeof fetch;
  report: (event: string, detail?: Readonly<Record<string, unknown>>) => void;
}

export interface Storage {
  store?: RateLimitStore;
  /** Detectors' batches (Redis only: a per-isolate memory store has nothing global to count in). */
  detect?: DetectStore;
  keyring: Keyring;
  mirror?: StorageMirror;
  mirrorKind?: "redis" | "memory";
}

export function createStorage(options: StorageOptions): Storage {
  const connection = redisConnection(options.redis, options.env);
  const prefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  const configuredSalt = configuredPseudonymKey(options.identity?.salt, options.env);
  const identity = {
    ...(options.identity?.ipv4Prefix === undefined ? {} : { ipv4Prefix: options.identity.ipv4Prefix }),
    ...(options.identity?.ipv6Prefix === undefined ? {} : { ipv6Prefix: options.identity.ipv6Prefix }),
  };
  const mirrorOn = options.mirror !== false;
  const mirrorOptions = options.mirror === false ? {} : (options.mirror ?? {});

  if (isStoreProvider(connection)) {
    // A store given by value (memoryStore()): nothing leaves the isolate, so a random salt is enough.
    const keyring = new Keyring(configuredSalt ?? crypto.randomUUID(), identity);
    const { store, mirror, detect } = connection.create({
      keyring,
      now: options.now,
      mirror: mirrorOn ? mirrorOptions : undefined,
    });
    return {
      store,
      keyring,
      ...(detect ? { detect } : {}),
      ...(mirror ? { mirror, mirrorKind: connection.kind } : {}),
    };
  }
  if (connection === undefined)
    return { keyring: new Keyring(configuredSalt ?? crypto.randomUUID(), identity) };

  // Shared by every isolate only when configured: never derived from the Redis token (pseudonym-key.ts).
  const keyring = new Keyring(pseudonymKeyOf(configuredSalt, options.report), identity);
  const store = new UpstashStore({ connection, prefix });
  const detect = redisDetectStore({
    client: store.primary,
    prefix,
    now: options.now,
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    env: options.env,
    region: options.region,
    report: options.report,
  });
  if (!mirrorOn) return { store, detect, keyring };
  const mirror = redisMirror(
    {
      client: store.primary,
      keyring,
      prefix,
      region: options.region,
      report: options.report,
      ...(options.env.CONTAINMENT_REPORT_SECRET
        ? {
            reportSecret: options.env.CONTAINMENT_REPORT_SECRET,
            reportEnvironment: reportEnvironment(options.env),
          }
        : {}),
    },
    mirrorOptions,
  );
  return { store, detect, keyring, mirror, mirrorKind: "redis" };
}
