import * as v from "valibot";
import { DURATION, FAIL_MODE, MATCH, RULE_ID, RULE_MODE, TIMEOUT_MS } from "./common.js";
import type { CompiledRule } from "./rule.js";
import type { CompileContext } from "./ruleset.js";

/**
 * `rate-limit`: cap how fast one identity can pull from an endpoint (exports, bulk reads).
 * Counters live in Redis through @upstash/ratelimit, keyed by the route template so every spelling of
 * one endpoint shares a counter.
 */
export const RATE_LIMIT_RULE = v.strictObject({
  id: RULE_ID,
  kind: v.literal("rate-limit"),
  match: MATCH,
  mode: v.optional(RULE_MODE),
  limit: v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1), v.maxValue(1_000_000)),
  window: DURATION,
  algorithm: v.optional(v.picklist(["fixed-window", "sliding-window", "token-bucket"], 'must be "fixed-window", "sliding-window" or "token-bucket"')),
  /** Token bucket only: tokens added per window (default `limit`). */
  refill: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000))),
  by: v.optional(
    v.pipe(
      v.array(v.picklist(["tenant", "user", "ip", "route"], 'must be "tenant", "user", "ip" or "route"')),
      v.minLength(1, "must name at least one identity key"),
    ),
  ),
  failMode: v.optional(FAIL_MODE),
  timeoutMs: v.optional(TIMEOUT_MS),
  quarantine: v.optional(
    v.strictObject({
      after: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
      for: DURATION,
      scope: v.optional(v.picklist(["rule", "all"], 'must be "rule" or "all"')),
    }),
  ),
});
export type RateLimitRuleSpec = v.InferOutput<typeof RATE_LIMIT_RULE>;

export function compileRateLimit(spec: RateLimitRuleSpec, _context: CompileContext): Omit<CompiledRule, "order" | "source"> {
  // Placeholder until the rate-limit engine lands (issue 3): the rule is recognised but passes.
  return {
    id: spec.id,
    kind: "rate-limit",
    phase: "rate-limit",
    monitor: spec.mode === "monitor",
    match: spec.match,
    evaluate: () => undefined,
  };
}
