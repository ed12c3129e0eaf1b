/*
 * The package root, in the order a request meets it:
 *   adapters (Vercel Routing Middleware, Next.js) → createContainment (normalize → ruleset →
 *   evaluate → respond → mirror) → the Decision it returns.
 * Plus the one rules validator (`checkDocument`: schema and compile-time checks, exactly what the
 * firewall enforces), the ruleset digest, and the typed errors. The per-isolate memory store is
 * its own entry, `edge-containment/memory`, so production bundles never carry it.
 */
export { compose, createNextMiddleware, createNextProxy, withContainment } from "./adapters/next.js";
export { createMiddleware } from "./adapters/vercel.js";
export { type DigestedSwitch, rulesetDigest } from "./core/digest.js";
export type { ContainmentErrorCode, RulesIssue, SourceFailureCause } from "./core/errors.js";
export {
  ConfigInvalid,
  ContainmentError,
  DeadlineExceeded,
  isContainmentError,
  JwksUnavailable,
  RulesInvalid,
  RulesSourceUnavailable,
  StoreUnavailable,
} from "./core/errors.js";
export type { IdentityOptions } from "./core/identity.js";
export type { RewriteCondition, RewriteRule, RewritesOption } from "./core/rewrites.js";
export type { Evaluation } from "./engine/evaluate.js";
export type { Containment, ContainmentStatus, DecideHints, WaitUntilContext } from "./engine/firewall.js";
export { createContainment } from "./engine/firewall.js";
export type { ContainmentOptions } from "./engine/options.js";
export type { Decision, Note, Outcome } from "./model/decision.js";
export { isBlocked, isMonitored } from "./model/decision.js";
export { KILL_SWITCH_PREFIX } from "./model/edge-config-items.js";
export type { DecisionSink } from "./model/sink.js";
export { checkDocument } from "./rules/check.js";
export type { RulesDocument } from "./rules/document.js";
export type { KillSwitchSpec } from "./rules/kill-switch.js";
export type { RuleSpec } from "./rules/kinds.js";
export { type Validated, validateKillSwitchItem } from "./rules/validate.js";
export type { EdgeConfigReader } from "./sources/edge-config.js";
export type { SensitiveRoutes } from "./sources/fallback.js";
export type { SourceStatus } from "./sources/provider.js";
export type { MirrorOptions, MirrorStats } from "./stores/mirror/options.js";
export type { RedisConnection, RedisOption } from "./stores/redis.js";
export { createRedisClient } from "./stores/redis.js";
