/**
 * The firewall's options, each with its default (docs/getting-started.md, options). Parts of the
 * engine that read a few of them take a `Pick` of this type, never a copy of its fields.
 */
import type { JWK } from "jose";
import type { IdentityOptions } from "../core/identity.js";
import type { NormalizeOptions } from "../core/request.js";
import type { RewritesOption } from "../core/rewrites.js";
import type { DecisionSink } from "../model/sink.js";
import type { EdgeConfigReader } from "../sources/edge-config.js";
import type { SensitiveRoutes } from "../sources/fallback.js";
import type { MirrorOptions } from "../stores/mirror/options.js";
import type { RedisOption } from "../stores/redis.js";

export interface ContainmentOptions {
  /** Edge Config connection string or client. Default: `EDGE_CONFIG`, then `GLOBAL_CONFIG`. */
  edgeConfig?: string | EdgeConfigReader;
  /** Edge Config item holding the rules document. Default `containment`. */
  rulesKey?: string;
  /** Fixed rules: no Edge Config at all (tests, or projects that deploy rules with code). */
  rules?: unknown;
  /**
   * Rules while none come from Edge Config (not connected, or a cold start while it is unreachable).
   * Default: a document that blocks nothing (and says so once per isolate). The bundled
   * `rules/default.json` is the demo for `containment dev`, never the default here.
   */
  fallbackRules?: unknown;
  /**
   * Routes that must not open while the rules are unknown (a cold start with Edge Config down):
   * `whenRulesUnavailable: "closed"` (default) answers 503 on them until Edge Config answers.
   */
  sensitive?: SensitiveRoutes;
  /**
   * The app's rewrites (Next.js `rewrites()` shape, or vercel.json's list): a rule on a destination
   * also matches its sources. Next.js apps get this from `withContainment` in next.config.
   */
  rewrites?: RewritesOption;
  /** How long Edge Config's answer is trusted before asking again. Default 3,000 ms. */
  refreshMs?: number;
  /**
   * The oldest Edge Config answer a request may be decided on. Default 2 × `refreshMs`, at most
   * 5,000 ms unless `refreshMs` is longer: any change Edge Config serves is enforced within it. A busy
   * isolate refreshes behind its requests; one idle for longer awaits the refresh first.
   */
  maxStaleMs?: number;
  /** Deadline of each Edge Config call. Default 1000 ms. */
  edgeConfigTimeoutMs?: number;
  /** Deadline of a new isolate's first Edge Config answer before the fallback applies. Default `edgeConfigTimeoutMs`. */
  coldStartTimeoutMs?: number;
  /** Rules documents larger than this are refused and reported. Default 512 KB (Edge Config's largest store). */
  maxDocumentBytes?: number;
  /**
   * Kill switches the CLI also publishes to Redis, signed, ahead of Edge Config's propagation; on by
   * default when `redis` is an Upstash database. `false` turns it off.
   */
  fastLane?: FastLaneOptions | false;
  normalize?: NormalizeOptions;
  /** Region label in decisions and `enforcing`. Default `VERCEL_REGION`, else `local`. */
  region?: string;
  /** Environment variables. Default `process.env` where there is one. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Decision sinks besides the built-in mirror. */
  sinks?: readonly DecisionSink[];
  /**
   * Where rate limits count and quarantines live: an Upstash REST database `{ url, token }`,
   * several (multi-region rate limits; the first also holds quarantines and the mirror), or
   * `memoryStore()` from `edge-containment/memory` (per isolate: `containment dev` and tests only). Default: env
   * `UPSTASH_REDIS_REST_URL`/`_TOKEN`, then `KV_REST_API_URL`/`_TOKEN`; else none, and rate-limit
   * rules fail by their `failMode`.
   */
  redis?: RedisOption;
  /** Prefix of every Redis key. Default `containment:`. */
  redisPrefix?: string;
  /** Decision mirroring to Redis (on by default when `redis` is set), or `false`. */
  mirror?: MirrorOptions | false;
  /** How identities become pseudonymous keys; see IdentityOptions. */
  identity?: IdentityOptions;
  now?: () => number;
  fetch?: typeof fetch;
  /** Internal problems (Edge Config down, invalid rules pushed). Default: one JSON line on console.warn. */
  onReport?: (event: string, detail?: Readonly<Record<string, unknown>>) => void;
}

/** `ContainmentOptions.fastLane`: see src/sources/fastlane.ts. */
export interface FastLaneOptions {
  /**
   * Public key(s) besides the Edge Config item `containment_fastlane_key`: lets a cold isolate that
   * cannot reach Edge Config verify fast-lane entries. Default: env `CONTAINMENT_FASTLANE_PUBLIC_KEY` (JWK JSON).
   */
  publicKey?: JWK | { keys: JWK[] };
  /**
   * The deployment scope lane entries must be signed for (their `aud`): entries for another are
   * ignored. Default: env `CONTAINMENT_FASTLANE_AUDIENCE`, else the Edge Config id (`ecfg_…`) of the
   * connection string; the CLI signs for the same (`CONTAINMENT_FASTLANE_AUDIENCE`, else its store id).
   */
  audience?: string;
  /** Least time between two reads of the lane; default 700 ms, or `refreshMs` when shorter. */
  refreshMs?: number;
  /** Deadline of a read; default 500 ms (`DEFAULT_READ_TIMEOUT_MS`). */
  timeoutMs?: number;
}
