import * as v from "valibot";
import type { Verdict } from "../model/verdict.js";
import { DATA_CLASSES, MATCH, RULE_ID, RULE_MODE } from "./common.js";
import { defineRuleKind, type PlacedLater } from "./kind.js";
import type { CompiledRule, RuleContext } from "./rule.js";

/**
 * `kill-switch`: block a route during an incident. Lives in the document's `rules` (reviewed,
 * static) or as its own Edge Config item `containment_kill_<id>`, so two responders flipping
 * different switches never overwrite each other. Never touches Redis.
 */
const KILL_SWITCH_FIELDS = {
  id: RULE_ID,
  match: MATCH,
  mode: v.optional(RULE_MODE),
  dataClasses: v.optional(DATA_CLASSES),
  status: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(400, "must be a 4xx or 5xx status"),
      v.maxValue(599, "must be a 4xx or 5xx status"),
    ),
  ),
  message: v.optional(v.pipe(v.string(), v.maxLength(200, "must be at most 200 characters"))),
  reason: v.optional(v.pipe(v.string(), v.maxLength(500))),
  incident: v.optional(
    v.pipe(v.string(), v.regex(/^[\w.:-]{1,64}$/, "must be 1-64 letters, digits, _ . : or -")),
  ),
  by: v.optional(v.pipe(v.string(), v.maxLength(200))),
  at: v.optional(v.pipe(v.string(), v.isoTimestamp("must be an ISO 8601 timestamp"))),
  expiresAt: v.optional(
    v.pipe(v.string(), v.isoTimestamp("must be an ISO 8601 timestamp like 2026-11-23T20:00:00Z")),
  ),
  /** Set by the CLI: 1 on create, +1 on every replace or extend; the edge names a switch `id@version`. */
  version: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(2 ** 31))),
  retryAfter: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(86_400))),
} as const;

export const KILL_SWITCH_RULE = v.strictObject({ kind: v.literal("kill-switch"), ...KILL_SWITCH_FIELDS });

/** The value of an Edge Config item `containment_kill_<id>`; `kind` may be left out there. */
export const KILL_SWITCH_ITEM = v.strictObject({
  kind: v.optional(v.literal("kill-switch")),
  ...KILL_SWITCH_FIELDS,
});

export type KillSwitchSpec = v.InferOutput<typeof KILL_SWITCH_ITEM>;

const DEFAULT_MESSAGE = "This endpoint is temporarily unavailable.";
/** The same answer for every break-glass request: built once, not per request. */
const BREAK_GLASS: Verdict = { action: "pass", reason: "break-glass" };

export function compileKillSwitch(spec: KillSwitchSpec): PlacedLater {
  const expiresAt = spec.expiresAt === undefined ? undefined : Date.parse(spec.expiresAt);
  const status = spec.status ?? 503;
  // Built by assignment, not conditional spreads (cold start: thousands of switches).
  const blocked: Extract<Verdict, { action: "block" }> = {
    action: "block",
    outcome: "block",
    status,
    reason: "kill-switch",
    message: spec.message ?? DEFAULT_MESSAGE,
  };
  if (spec.incident !== undefined) blocked.incident = spec.incident;
  if (spec.retryAfter !== undefined) blocked.retryAfter = spec.retryAfter;
  const compiled: Omit<CompiledRule, "order" | "source" | "expiresAt" | "version"> & {
    expiresAt?: number;
    version?: number;
  } = {
    id: spec.id,
    kind: "kill-switch",
    monitor: spec.mode === "monitor",
    match: spec.match,
    evaluate(context: RuleContext): Verdict | undefined {
      if (expiresAt !== undefined && context.services.now() >= expiresAt) return undefined;
      if (context.breakGlass) return BREAK_GLASS;
      return blocked;
    },
  };
  if (expiresAt !== undefined) compiled.expiresAt = expiresAt;
  if (spec.version !== undefined) compiled.version = spec.version;
  return compiled;
}

export const KILL_SWITCH = defineRuleKind({
  kind: "kill-switch",
  schema: KILL_SWITCH_RULE,
  compile: compileKillSwitch,
});
