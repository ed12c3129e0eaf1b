import * as v from "valibot";
import { DATA_CLASSES, DURATION, FAIL_MODE, MATCH, RULE_ID, RULE_MODE, TIMEOUT_MS } from "../common.js";

/**
 * `rate-limit`: cap how fast one identity can pull from an endpoint (exports, bulk reads).
 * Counters live in the store (Redis: this project's Lua scripts, one round trip per check with the
 * quarantine lookup), keyed by the route template so every spelling of one endpoint shares a counter.
 * A check whose answer is not used (deadline passed, the fail mode answered) is refunded by its id.
 */
export const RATE_LIMIT_RULE = v.strictObject({
  id: RULE_ID,
  kind: v.literal("rate-limit"),
  match: MATCH,
  mode: v.optional(RULE_MODE),
  dataClasses: v.optional(DATA_CLASSES),
  limit: v.pipe(v.number(), v.integer("must be a whole number"), v.minValue(1), v.maxValue(1_000_000)),
  window: DURATION,
  algorithm: v.optional(
    v.picklist(
      ["fixed-window", "sliding-window", "token-bucket"],
      'must be "fixed-window", "sliding-window" or "token-bucket"',
    ),
  ),
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
