/**
 * Which rules source a firewall uses, built from its options: fixed rules, Edge Config (with the
 * fast lane when Redis is configured), or the fallback when nothing is configured. Setup only.
 */
import type { JWK } from "jose";
import type { Services } from "../model/services.js";
import type { RulesDocument } from "../rules/document.js";
import { parseDocument } from "../rules/validate.js";
import { type EdgeConfigReader, edgeConfigRules } from "../sources/edge-config.js";
import { createEdgeConfigReader } from "../sources/edge-config-client.js";
import {
  checkSensitive,
  FALLBACK_MESSAGES,
  NO_RULES,
  type SensitiveRoutes,
  unavailableDocument,
} from "../sources/fallback.js";
import { FASTLANE_HASH, type FastLaneReader, fastLaneKeys, fastLaneReader } from "../sources/fastlane.js";
import type { RulesProvider } from "../sources/provider.js";
import { staticRules } from "../sources/static.js";
import { createRedisClient, type RedisOption, redisConnections } from "../stores/redis.js";

/** `ContainmentOptions.fastLane`: see src/sources/fastlane.ts. */
export interface FastLaneOptions {
  /**
   * Public key(s) besides the Edge Config item `containment_fastlane_key`: lets a cold isolate that
   * cannot reach Edge Config verify fast-lane entries. Default: env `CONTAINMENT_FASTLANE_PUBLIC_KEY` (JWK JSON).
   */
  publicKey?: JWK | { keys: JWK[] };
  /** Least time between two reads of the lane; default `refreshMs`. */
  refreshMs?: number;
  /** Deadline of a read; default 500 ms. */
  timeoutMs?: number;
}

export interface RulesSourceOptions {
  edgeConfig?: string | EdgeConfigReader | undefined;
  rulesKey?: string | undefined;
  rules?: unknown;
  fallbackRules?: unknown;
  sensitive?: SensitiveRoutes | undefined;
  refreshMs?: number | undefined;
  maxStaleMs?: number | undefined;
  edgeConfigTimeoutMs?: number | undefined;
  coldStartTimeoutMs?: number | undefined;
  maxDocumentBytes?: number | undefined;
  redis?: RedisOption | undefined;
  redisPrefix?: string | undefined;
  fastLane?: FastLaneOptions | false | undefined;
}

function envKeys(text: string | undefined, services: Services): JWK[] {
  if (!text) return [];
  try {
    return fastLaneKeys(JSON.parse(text));
  } catch {
    services.report("fastlane-invalid", {
      message: "CONTAINMENT_FASTLANE_PUBLIC_KEY is not a JSON Web Key; ignored",
    });
    return [];
  }
}

/** The fast lane reads the first Redis database (the one holding quarantines and the mirror). */
function laneReader(options: RulesSourceOptions, services: Services): FastLaneReader | undefined {
  if (options.fastLane === false) return undefined;
  const connections = redisConnections(options.redis, services.env);
  if (!Array.isArray(connections) || connections.length === 0) return undefined;
  const client = createRedisClient(connections[0] as (typeof connections)[number]);
  const key = `${options.redisPrefix ?? "containment:"}${FASTLANE_HASH}`;
  const lane = options.fastLane ?? {};
  return fastLaneReader({
    read: () => client.hgetall<Record<string, unknown>>(key),
    services,
    refreshMs: lane.refreshMs ?? options.refreshMs ?? 500,
    ...(lane.timeoutMs === undefined ? {} : { timeoutMs: lane.timeoutMs }),
  });
}

const defined = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

export function rulesSource(options: RulesSourceOptions, services: Services): RulesProvider {
  // Never the demo rules of rules/default.json: those are for `containment dev` (issue 12).
  const fallback = parseDocument(options.fallbackRules ?? NO_RULES) as RulesDocument;
  checkSensitive(options.sensitive);
  if (options.rules !== undefined) return staticRules(parseDocument(options.rules), services);
  const connection = options.edgeConfig ?? services.env.EDGE_CONFIG ?? services.env.GLOBAL_CONFIG;
  if (connection === undefined) {
    // Once per isolate: the factory runs once per isolate.
    services.report("rules-source-missing", {
      message: FALLBACK_MESSAGES["not-connected"],
      fallback: options.fallbackRules === undefined ? "none" : "fallbackRules",
    });
    return staticRules(fallback, services, "fallback");
  }
  const client = typeof connection === "string" ? createEdgeConfigReader(connection) : connection;
  const reader = laneReader(options, services);
  const publicKeys = [
    ...(options.fastLane ? fastLaneKeys(options.fastLane.publicKey) : []),
    ...envKeys(services.env.CONTAINMENT_FASTLANE_PUBLIC_KEY, services),
  ];
  return edgeConfigRules({
    client,
    fallback,
    unavailable: unavailableDocument(fallback, options.sensitive),
    services,
    ...defined("key", options.rulesKey),
    ...defined("refreshMs", options.refreshMs),
    ...defined("maxStaleMs", options.maxStaleMs),
    ...defined("timeoutMs", options.edgeConfigTimeoutMs),
    ...defined("coldStartTimeoutMs", options.coldStartTimeoutMs),
    ...defined("maxDocumentBytes", options.maxDocumentBytes),
    ...(reader ? { fastLane: { reader, publicKeys } } : {}),
  });
}
