/**
 * Turns `ContainmentOptions.redis` / `mirror` / `identity` (or the Upstash env variables) into the
 * store, keyring and mirror the firewall uses. Setup only: no I/O happens here.
 */
import type { DecisionSink } from "../engine/sink.js";
import { type IdentityOptions, Keyring } from "./keys.js";
import type { MemoryStore } from "./memory.js";
import { type MirrorOptions, type MirrorStats, redisMirror } from "./mirror.js";
import { type RedisOption, redisConnections, UpstashStore } from "./redis.js";

export interface StorageOptions {
  redis?: RedisOption | undefined;
  redisPrefix?: string | undefined;
  mirror?: MirrorOptions | false | undefined;
  identity?: IdentityOptions | undefined;
  env: Readonly<Record<string, string | undefined>>;
  region: string;
  now: () => number;
  report: (event: string, detail?: Readonly<Record<string, unknown>>) => void;
}

export interface StorageMirror extends DecisionSink {
  stats(): MirrorStats;
  recordSource(event: string, detail?: Readonly<Record<string, unknown>>, region?: string): void;
}

export interface Storage {
  store?: UpstashStore | MemoryStore;
  keyring: Keyring;
  mirror?: StorageMirror;
  mirrorKind?: "redis" | "memory";
}

/** Builds the per-isolate store (and decision log) for `redis: "memory"`. */
export type MemoryStorageFactory = (setup: {
  keyring: Keyring;
  now: () => number;
  mirror: MirrorOptions | undefined;
}) => { store: MemoryStore; mirror?: StorageMirror };

/*
 * The in-memory store is for `containment dev` and tests. It is installed, not imported, so the
 * production drop-in (`middleware.ts` through the Vercel or Next.js adapter) does not ship it:
 * `installMemoryStorage()` from `stores/memory.ts` (called by the package root and the dev worker)
 * puts it here.
 */
let memoryStorage: MemoryStorageFactory | undefined;

export function provideMemoryStorage(factory: MemoryStorageFactory): void {
  memoryStorage = factory;
}

export function createStorage(options: StorageOptions): Storage {
  const connections = redisConnections(options.redis, options.env);
  const prefix = options.redisPrefix ?? "containment:";
  const configuredSalt = options.identity?.salt ?? options.env.CONTAINMENT_SALT;
  const identity = {
    ...(options.identity?.ipv4Prefix === undefined ? {} : { ipv4Prefix: options.identity.ipv4Prefix }),
    ...(options.identity?.ipv6Prefix === undefined ? {} : { ipv6Prefix: options.identity.ipv6Prefix }),
  };
  const mirrorOn = options.mirror !== false;
  const mirrorOptions = options.mirror === false ? {} : (options.mirror ?? {});

  if (connections === "memory") {
    // Nothing leaves the isolate, so a random salt is enough.
    const keyring = new Keyring(configuredSalt ?? crypto.randomUUID(), identity);
    if (!memoryStorage) {
      options.report("store-missing", {
        message: 'redis: "memory" needs installMemoryStorage() from edge-containment first',
      });
      return { keyring };
    }
    const { store, mirror } = memoryStorage({
      keyring,
      now: options.now,
      mirror: mirrorOn ? mirrorOptions : undefined,
    });
    return mirror ? { store, keyring, mirror, mirrorKind: "memory" } : { store, keyring };
  }
  if (connections === undefined)
    return { keyring: new Keyring(configuredSalt ?? crypto.randomUUID(), identity) };

  // Every isolate must derive the same pseudonyms: without a configured salt, use the Redis token,
  // a secret they all share (rotating it renames every identity: counters and quarantines restart).
  const keyring = new Keyring(configuredSalt ?? `upstash-token:${connections[0]?.token ?? ""}`, identity);
  const store = new UpstashStore({ connections, prefix, report: options.report });
  if (!mirrorOn) return { store, keyring };
  const mirror = redisMirror(
    { client: store.primary, keyring, prefix, region: options.region, report: options.report },
    mirrorOptions,
  );
  return { store, keyring, mirror, mirrorKind: "redis" };
}
