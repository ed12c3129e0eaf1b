/**
 * Which rules source a firewall uses, built from its options: fixed rules, Edge Config (with the
 * fast lane when Redis is configured), or the fallback when nothing is configured. Setup only.
 */
import type { JWK } from "jose";
import { DEFAULT_FASTLANE_REFRESH_MS, DEFAULT_REDIS_PREFIX } from "../model/defaults.js";
import { edgeConfigIdFromConnection } from "../model/edge-config-items.js";
import type { Services } from "../model/services.js";
import type { RulesDocument } from "../rules/document.js";
import { parseDocument } from "../rules/validate.js";
import { type EdgeConfigReader, edgeConfigRules } from "../sources/edge-config.js";
import { createEdgeConfigReader } from "../sources/edge-config-client.js";
import { checkSensitive, FALLBACK_MESSAGES, NO_RULES, unavailableDocument } from "../sources/fallback.js";
import { FASTLANE_HASH, type FastLaneReader, fastLaneKeys, fastLaneReader } from "../sources/fastlane.js";
import type { RulesProvider } from "../sources/provider.js";
import { staticRules } from "../sources/static.js";
import { createRedisClient, redisConnection } from "../stores/redis.js";
import { isStoreProvider } from "../stores/storage.js";
import type { ContainmentOptions } from "./options.js";

/** What choosing the rules source reads of the firewall's options. */
export type RulesSourceOptions = Pick<
  ContainmentOptions,
  | "edgeConfig"
  | "rulesKey"
  | "rules"
  | "fallbackRules"
  | "sensitive"
  | "refreshMs"
  | "maxStaleMs"
  | "edgeConfigTimeoutMs"
  | "coldStartTimeoutMs"
  | "maxDocumentBytes"
  | "redis"
  | "redisPrefix"
  | "fastLane"
>;

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

/**
 * The fast lane is read from the Upstash database that holds quarantines and the mirror, for this
 * deployment's audience: `fastLane.audience`, env `CONTAINMENT_FASTLANE_AUDIENCE`, or the Edge
 * Config id of the connection string. Without one the lane is off (entries could not be told from
 * another deployment's) and that is reported once.
 */
function laneReader(
  options: RulesSourceOptions,
  services: Services,
  edgeConfig: string | EdgeConfigReader,
): FastLaneReader | undefined {
  if (options.fastLane === false) return undefined;
  const connection = redisConnection(options.redis, services.env);
  if (connection === undefined || isStoreProvider(connection)) return undefined;
  const lane = options.fastLane ?? {};
  const audience =
    lane.audience ??
    (services.env.CONTAINMENT_FASTLANE_AUDIENCE || undefined) ??
    (typeof edgeConfig === "string" ? edgeConfigIdFromConnection(edgeConfig) : undefined);
  if (audience === undefined) {
    services.report("fastlane-invalid", {
      message:
        "the fast lane is off: no audience (set fastLane.audience or CONTAINMENT_FASTLANE_AUDIENCE, or pass Edge Config as a connection string); Edge Config alone enforces",
    });
    return undefined;
  }
  const client = createRedisClient(connection);
  const key = `${options.redisPrefix ?? DEFAULT_REDIS_PREFIX}${FASTLANE_HASH}`;
  return fastLaneReader({
    read: () => client.hgetall<Record<string, unknown>>(key),
    audience,
    services,
    refreshMs: lane.refreshMs ?? Math.min(options.refreshMs ?? Infinity, DEFAULT_FASTLANE_REFRESH_MS),
    ...(lane.timeoutMs === undefined ? {} : { timeoutMs: lane.timeoutMs }),
  });
}

const defined = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };

export function rulesSource(options: RulesSourceOptions, services: Services): RulesProvider {
  // Never the demo rules of rules/default.json: those are for `containment dev`.
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
  const reader = laneReader(options, services, connection);
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
