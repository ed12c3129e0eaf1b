/**
 * The ops context every action takes: configuration, the Vercel API, Redis (optional), the audit
 * context, the mirror reader, the fast lane, notifications. Built once per command (or per
 * dashboard request); nothing global.
 */

import type { ResponderRedis } from "../model/responder-redis.js";
import { type MirrorReader, mirrorReader } from "../stores/mirror/reader.js";
import type { AuditActor, AuditContext } from "./audit/index.js";
import type { Journal } from "./audit/journal.js";
import type { Signer } from "./audit/sign.js";
import type { OpsConfig } from "./config.js";
import { VercelApi } from "./edge-config-api.js";
import { failureCause, isOpsError } from "./errors.js";
import type { FastLaneContext } from "./fastlane.js";
import type { ChangeEvent } from "./notify.js";

export interface OpsContext {
  config: OpsConfig;
  api: VercelApi;
  /** The responders' Redis (model/responder-redis.ts); absent: nothing mirrored is read. */
  redis?: ResponderRedis | undefined;
  reader?: MirrorReader | undefined;
  audit: AuditContext;
  /** Resolves (once) who the token belongs to. */
  actor(): Promise<AuditActor>;
  now(): number;
  /** Present when the responders' fast-lane key is configured. */
  fastLane?: FastLaneContext | undefined;
  /** Posts a change to the configured webhooks; never throws: answers a warning line per webhook that failed. */
  notify(event: ChangeEvent): Promise<string[]>;
  /** Loud warnings for the responder (journaled audit, failed anchor, failed webhook). */
  warn(line: string): void;
}

export interface ContextOptions {
  redis?: ResponderRedis | undefined;
  journal?: Journal | undefined;
  signer?: Signer | undefined;
  fetch?: typeof fetch;
  fastLane?: FastLaneContext | undefined;
  now?: () => number;
  /** Answers warning lines for the webhooks that failed (a `string[]`), or nothing. */
  notify?: (event: ChangeEvent) => Promise<unknown>;
  warn?: (line: string) => void;
  apiTimeoutMs?: number;
}

/** The actor as the Vercel API names the token's user; `none` when the API cannot be asked. */
async function resolveActor(api: VercelApi): Promise<AuditActor> {
  try {
    const user = await api.user();
    return { source: "vercel", id: user.id, name: user.username || user.email || user.id };
  } catch (error) {
    if (isOpsError(error) && error.code === "ERR_AUTH") throw error;
    return { source: "none", id: null, name: "unknown (the Vercel API did not answer)" };
  }
}

export function createOpsContext(config: OpsConfig, options: ContextOptions = {}): OpsContext {
  const api = new VercelApi({
    base: config.edgeConfig.apiBase,
    token: config.edgeConfig.token,
    teamId: config.edgeConfig.teamId,
    edgeConfigId: config.edgeConfig.id,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.apiTimeoutMs === undefined ? {} : { timeoutMs: options.apiTimeoutMs }),
  });
  const now = options.now ?? Date.now;
  let actor: Promise<AuditActor> | undefined;
  const redis = options.redis;
  return {
    config,
    api,
    redis,
    reader:
      redis === undefined
        ? undefined
        : mirrorReader({
            client: redis,
            prefix: config.prefix,
            ...(config.reportSecret === undefined ? {} : { reportSecret: config.reportSecret }),
            now,
          }),
    audit: { redis, prefix: config.prefix, signer: options.signer, journal: options.journal, api, now },
    actor: () => {
      actor ??= resolveActor(api);
      return actor;
    },
    now,
    fastLane: options.fastLane,
    notify: async (event) => {
      try {
        const lines = await options.notify?.(event);
        return Array.isArray(lines) ? lines.map(String) : [];
      } catch (error) {
        return [`warning: the change was not notified (${failureCause(error)}; the change itself stands)`];
      }
    },
    warn: options.warn ?? ((line) => console.error(line)),
  };
}
