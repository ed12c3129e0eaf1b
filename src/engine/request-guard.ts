import type { NormalizeResult } from "../core/request.js";
import { PUBLIC_MESSAGES } from "../model/messages.js";
import type { CompiledRuleset } from "../rules/ruleset.js";
import { decisionOf } from "./decisions.js";
import type { Evaluation } from "./evaluate.js";
import { blockResponse } from "./respond.js";

/** The request guard's answer to a request that cannot be normalized safely (400, or 414 for length). */
export function guardEvaluation(
  request: Request,
  rejected: Extract<NormalizeResult, { ok: false }>,
  ruleset: CompiledRuleset,
  region: string,
  timing: { startedAt: number; now: number },
): Evaluation {
  const status = rejected.fault === "path-too-long" ? 414 : 400;
  const facts = {
    requestId: rejected.requestId,
    at: timing.startedAt,
    method: request.method.toUpperCase().slice(0, 16),
    path: "/:rejected",
    host: "",
    region,
    rulesetDigest: ruleset.digest,
    latencyMs: timing.now - timing.startedAt,
    notes: [],
  };
  const decision = decisionOf(facts, {
    outcome: "block",
    rule: "request-guard",
    kind: "request",
    reason: rejected.fault,
    status,
  });
  const response = blockResponse({
    status,
    message: PUBLIC_MESSAGES.badRequest,
    rule: "request-guard",
    requestId: rejected.requestId,
  });
  return { decision, response, headers: {} };
}
