import { cidrContains } from "../core/ip.js";
import type { NormalizedRequest } from "../core/request.js";
import type { Decision, DecisionContext, Note } from "../model/decision.js";
import { PUBLIC_MESSAGES } from "../model/messages.js";
import type { Services } from "../model/services.js";
import type { Verdict } from "../model/verdict.js";
import type { Identity, RuleContext } from "../rules/rule.js";
import type { CompiledRuleset, MatchedRule } from "../rules/ruleset.js";
import { addressedTenant } from "../rules/tenancy.js";
import { blockResponse, emptyResponse } from "./respond.js";

type DecisionFacts = DecisionContext & { notes: Note[] };
type BlockDecision = Extract<Decision, { outcome: "block" | "rate-limited" }>;

export interface Evaluation {
  decision: Decision;
  /** The firewall's own answer (block or preflight); absent when the request goes on to the origin. */
  response?: Response;
  /** Headers to add to the origin's response when the request goes on. */
  headers: Record<string, string>;
}

/**
 * Adds a rule's response headers. When several rate-limit rules match, the client is told about the
 * most restrictive one (fewest requests remaining), whatever their order.
 */
function mergeHeaders(into: Record<string, string>, add: Readonly<Record<string, string>>): void {
  const current = into["ratelimit-remaining"];
  const next = add["ratelimit-remaining"];
  const keepCurrentLimit = current !== undefined && next !== undefined && Number(next) > Number(current);
  for (const [name, value] of Object.entries(add)) {
    if (keepCurrentLimit && name.startsWith("ratelimit")) continue;
    // `Vary: Origin` from tenant binding must survive a headers rule that sets Vary too.
    into[name] = name === "vary" && into.vary !== undefined ? mergeTokens(into.vary, value) : value;
  }
}

function mergeTokens(left: string, right: string): string {
  const tokens = new Map<string, string>();
  for (const token of `${left},${right}`.split(",")) {
    const trimmed = token.trim();
    if (trimmed && !tokens.has(trimmed.toLowerCase())) tokens.set(trimmed.toLowerCase(), trimmed);
  }
  return [...tokens.values()].join(", ");
}

function ruleError(match: MatchedRule, services: Services, error: unknown): Verdict {
  // A rule that throws is a bug; fail closed (a security control that fails open on bugs is no control).
  services.report("rule-error", {
    rule: match.rule.id,
    message: error instanceof Error ? error.message : String(error),
  });
  return { action: "fail", failMode: "closed", reason: "rule-error" };
}

/**
 * A rule's verdict, awaited only when the rule is asynchronous: kill switches and headers rules
 * answer synchronously, and a needless `await` per matched rule is a microtask each.
 */
function verdictOf(
  match: MatchedRule,
  context: RuleContext,
  services: Services,
): Verdict | undefined | Promise<Verdict | undefined> {
  try {
    const result = match.rule.evaluate(context);
    return result instanceof Promise
      ? result.catch((error: unknown) => ruleError(match, services, error))
      : result;
  } catch (error) {
    return ruleError(match, services, error);
  }
}

/**
 * Runs the matching rules in phase order and folds their verdicts into one decision. The first
 * enforcing block ends evaluation; monitor-mode blocks and fail-open errors are kept as notes.
 */
export async function evaluate(
  ruleset: CompiledRuleset,
  request: NormalizedRequest,
  services: Services,
  startedAt: number,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<Evaluation> {
  const matches = ruleset.match(request);
  const identity: Identity = {};
  const headers: Record<string, string> = {};
  const notes: Note[] = [];
  const ip = request.ip;
  // Only an address the platform vouches for may bypass a kill switch: a client-set header may not.
  const breakGlass =
    ip !== undefined && request.ipTrusted && ruleset.breakGlass.some((cidr) => cidrContains(cidr, ip));
  let bypassed: MatchedRule | undefined;

  // Decisions are built by assignment, not object spread: on Node 20 a spread followed by more
  // properties costs 1.5-2 µs per object, several times the cost of matching (see BENCHMARKS.md).
  const facts = (match: MatchedRule | undefined, kept: Note[]): DecisionFacts => {
    // Only a tenant that resolveTenant validated is ever recorded (never a raw path segment).
    const tenant = identity.tenant ?? addressedTenant(request, match?.readings ?? [], ruleset.tenancy);
    const out: DecisionFacts = {
      requestId: request.requestId,
      at: startedAt,
      method: request.method,
      path: request.displayPath,
      host: request.host,
      region: request.region,
      rulesetDigest: ruleset.digest,
      latencyMs: services.now() - startedAt,
      notes: kept,
    };
    if (match) out.route = match.route;
    if (tenant !== undefined) out.tenant = tenant;
    if (identity.user !== undefined) out.user = identity.user;
    if (request.ipText !== undefined) out.ip = request.ipText;
    return out;
  };

  for (const match of matches) {
    const { rule } = match;
    const context: RuleContext = {
      request,
      params: match.params,
      readings: match.readings,
      route: match.route,
      ruleset,
      services,
      identity,
      breakGlass,
      waitUntil,
    };
    const pending = verdictOf(match, context, services);
    const verdict = pending instanceof Promise ? await pending : pending;
    if (!verdict) continue;
    const monitor = rule.monitor || ruleset.mode === "monitor";
    switch (verdict.action) {
      case "pass":
        if (verdict.reason === "break-glass") bypassed ??= match;
        if (verdict.headers && !monitor) mergeHeaders(headers, verdict.headers);
        break;
      case "headers":
        if (!monitor) mergeHeaders(headers, verdict.headers);
        break;
      case "block": {
        if (monitor) {
          notes.push({
            rule: rule.id,
            kind: rule.kind,
            reason: verdict.reason,
            wouldBe: verdict.outcome,
            status: verdict.status,
          });
          break;
        }
        const decision: BlockDecision = Object.assign(facts(match, notes), {
          outcome: verdict.outcome,
          rule: rule.id,
          kind: rule.kind,
          reason: verdict.reason,
          status: verdict.status,
        });
        if (verdict.incident !== undefined) decision.incident = verdict.incident;
        if (verdict.tenant !== undefined) decision.tenant = verdict.tenant;
        const response = blockResponse({
          status: verdict.status,
          message: verdict.message,
          rule: rule.id,
          requestId: request.requestId,
          ...(verdict.incident === undefined ? {} : { incident: verdict.incident }),
          ...(verdict.retryAfter === undefined ? {} : { retryAfter: verdict.retryAfter }),
          headers: { ...headers, ...verdict.headers },
        });
        return { decision, response, headers };
      }
      case "fail": {
        const status = verdict.status ?? 503;
        if (verdict.failMode === "open" || monitor) {
          notes.push({ rule: rule.id, kind: rule.kind, reason: verdict.reason, status });
          break;
        }
        const decision: Decision = Object.assign(facts(match, notes), {
          outcome: "error" as const,
          rule: rule.id,
          kind: rule.kind,
          reason: verdict.reason,
          failMode: "closed" as const,
          status,
        });
        const response = blockResponse({
          status,
          message: verdict.message ?? PUBLIC_MESSAGES.unavailable,
          rule: rule.id,
          requestId: request.requestId,
          headers,
        });
        return { decision, response, headers };
      }
      case "respond": {
        if (monitor) break;
        const decision: Decision = Object.assign(facts(match, notes), {
          outcome: "allow" as const,
          rule: rule.id,
          kind: rule.kind,
          reason: verdict.reason,
        });
        return {
          decision,
          response: emptyResponse(verdict.status, { ...headers, ...verdict.headers }, request.requestId),
          headers,
        };
      }
    }
  }

  return { decision: finalDecision(), headers };

  function finalDecision(): Decision {
    const failed = notes.find((note) => note.wouldBe === undefined);
    const watched = notes.find((note) => note.wouldBe !== undefined);
    const first = failed ?? watched;
    const match = first ? matches.find((m) => m.rule.id === first.rule) : (bypassed ?? matches[0]);
    const rest = first ? notes.filter((note) => note !== first) : notes;
    if (failed) {
      return Object.assign(facts(match, rest), {
        outcome: "error" as const,
        rule: failed.rule,
        kind: failed.kind,
        reason: failed.reason,
        failMode: "open" as const,
        status: failed.status ?? 503,
      });
    }
    if (watched?.wouldBe) {
      return Object.assign(facts(match, rest), {
        outcome: "monitor" as const,
        rule: watched.rule,
        kind: watched.kind,
        reason: watched.reason,
        wouldBe: watched.wouldBe,
        status: watched.status ?? 403,
      });
    }
    if (bypassed) {
      return Object.assign(facts(bypassed, notes), {
        outcome: "allow" as const,
        reason: "break-glass",
        rule: bypassed.rule.id,
        kind: bypassed.rule.kind,
      });
    }
    return Object.assign(facts(match, notes), {
      outcome: "allow" as const,
      reason: matches.length > 0 ? "passed" : "no-rule",
    });
  }
}
