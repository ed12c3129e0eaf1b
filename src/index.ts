export { createNextMiddleware, createNextProxy } from "./adapters/next.js";
export { createMiddleware } from "./adapters/vercel.js";
export type { ContainmentErrorCode, RulesIssue } from "./core/errors.js";
export { ContainmentError, isContainmentError } from "./core/errors.js";
export type { IdentityOptions } from "./core/identity.js";
export type { Evaluation } from "./engine/evaluate.js";
export type {
  Containment,
  ContainmentOptions,
  ContainmentStatus,
  WaitUntilContext,
} from "./engine/firewall.js";
export { createContainment } from "./engine/firewall.js";
export type { Decision, Note, Outcome } from "./model/decision.js";
export { isBlocked, isMonitored } from "./model/decision.js";
export type { DecisionSink } from "./model/sink.js";
export { checkDocument } from "./rules/check.js";
export type { RuleSpec, RulesDocument } from "./rules/document.js";
export type { KillSwitchSpec } from "./rules/kill-switch.js";
export {
  KILL_SWITCH_PREFIX,
  parseDocument,
  validateDocument,
  validateKillSwitchItem,
} from "./rules/validate.js";
export type { EdgeConfigReader } from "./sources/edge-config.js";
export type { SourceStatus } from "./sources/provider.js";
export type { MirrorOptions, MirrorStats } from "./stores/mirror.js";
export type { RedisConnection, RedisOption } from "./stores/redis.js";
export { createRedisClient } from "./stores/redis.js";
