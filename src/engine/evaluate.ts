import { errorText } from "../core/errors.js";
import { cidrContains } from "../core/ip.js";
import type { NormalizedRequest } from "../core/request.js";
import type { Decision, Note } from "../model/decision.js";
import { PUBLIC_MESSAGES } from "../model/messages.js";
import type { Services } from "../model/services.js";
import type { Verdict } from "../model/verdict.js";
import type { Identity, RuleContext } from "../rules/rule.js";
import type { CompiledRuleset, MatchedRule } from "../rules/ruleset.js";
import { addressedTenant } from "../rules/tenancy.js";
import { type Deciding, type DecisionFacts, decisionOf } from "./decisions.js";
import { blockResponse, emptyResponse } from "./respond.js";

type BlockVerdict = Extract<Verdict, { action: "block" }>;
type FailVerdict = Extract<Verdict, { action: "fail" }>;
type RespondVerdict = Extract<Verdict, { action: "respond" }>;

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
    message: errorText(error),
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

/** One request's evaluation in progress: what the rules have said so far. */
interface Run {
  readonly ruleset: CompiledRuleset;
  readonly request: NormalizedRequest;
  readonly services: Services;
  readonly startedAt: number;
  readonly waitUntil: (promise: Promise<unknown>) => void;
  readonly matches: readonly MatchedRule[];
  /** Filled in by rules as they verify it (tenant binding sets tenant and user). */
  readonly identity: Identity;
  /** Headers for the origin's response, merged from every passing rule. */
  readonly headers: Record<string, string>;
  /** Monitor hits and fail-open errors: evidence that did not decide the request. */
  readonly notes: Note[];
  /** The client address is in the document's break-glass networks. */
  readonly breakGlass: boolean;
  /** The first kill switch that let a break-glass client through. */
  bypassed: MatchedRule | undefined;
}

/**
 * The request's tenant as recorded in decisions: a verified one first, else the addressed one.
 * Only a tenant that resolveTenant validated is ever recorded (never a raw path segment).
 */
function tenantOf(run: Run, match: MatchedRule | undefined): string | undefined {
  return run.identity.tenant ?? addressedTenant(run.request, match?.readings ?? [], run.ruleset.tenancy);
}

function factsOf(run: Run, match: MatchedRule | undefined, kept: Note[]): DecisionFacts {
  const { request } = run;
  const out: DecisionFacts = {
    requestId: request.requestId,
    at: run.startedAt,
    method: request.method,
    path: request.displayPath,
    host: request.host,
    region: request.region,
    rulesetDigest: run.ruleset.digest,
    latencyMs: run.services.now() - run.startedAt,
    notes: kept,
  };
  const tenant = tenantOf(run, match);
  if (match) out.route = match.route;
  if (tenant !== undefined) out.tenant = tenant;
  if (run.identity.tenant !== undefined) out.tenantVerified = true;
  if (run.identity.user !== undefined) out.user = run.identity.user;
  if (request.ipText !== undefined) out.ip = request.ipText;
  return out;
}

function contextOf(run: Run, match: MatchedRule): RuleContext {
  return {
    request: run.request,
    params: match.params,
    readings: match.readings,
    route: match.route,
    ruleset: run.ruleset,
    services: run.services,
    identity: run.identity,
    breakGlass: run.breakGlass,
    waitUntil: run.waitUntil,
  };
}

/** An enforcing block: the first one ends evaluation. */
function blocked(run: Run, match: MatchedRule, verdict: BlockVerdict): Evaluation {
  const { rule } = match;
  const deciding: Extract<Deciding, { outcome: "block" | "rate-limited" }> = {
    outcome: verdict.outcome,
    rule: rule.id,
    kind: rule.kind,
    reason: verdict.reason,
    status: verdict.status,
  };
  if (verdict.incident !== undefined) deciding.incident = verdict.incident;
  // The tenant a refused request addressed, as the rule read it.
  if (verdict.tenant !== undefined) deciding.tenant = verdict.tenant;
  const decision = decisionOf(factsOf(run, match, run.notes), deciding);
  const response = blockResponse({
    status: verdict.status,
    message: verdict.message,
    rule: rule.id,
    requestId: run.request.requestId,
    ...(verdict.incident === undefined ? {} : { incident: verdict.incident }),
    ...(verdict.retryAfter === undefined ? {} : { retryAfter: verdict.retryAfter }),
    headers: { ...run.headers, ...verdict.headers },
  });
  return { decision, response, headers: run.headers };
}

/** A dependency failed and the rule fails closed. */
function failedClosed(run: Run, match: MatchedRule, verdict: FailVerdict): Evaluation {
  const status = verdict.status ?? 503;
  const decision = decisionOf(factsOf(run, match, run.notes), {
    outcome: "error",
    rule: match.rule.id,
    kind: match.rule.kind,
    reason: verdict.reason,
    failMode: "closed",
    status,
  });
  const response = blockResponse({
    status,
    message: verdict.message ?? PUBLIC_MESSAGES.unavailable,
    rule: match.rule.id,
    requestId: run.request.requestId,
    headers: run.headers,
  });
  return { decision, response, headers: run.headers };
}

/** The firewall answers itself with a success (CORS preflight). */
function responded(run: Run, match: MatchedRule, verdict: RespondVerdict): Evaluation {
  const decision = decisionOf(factsOf(run, match, run.notes), {
    outcome: "allow",
    rule: match.rule.id,
    kind: match.rule.kind,
    reason: verdict.reason,
  });
  const headers = { ...run.headers, ...verdict.headers };
  return {
    decision,
    response: emptyResponse(verdict.status, headers, run.request.requestId),
    headers: run.headers,
  };
}

/**
 * Folds one verdict into the run. Returns the evaluation when the verdict ends it (an enforcing
 * block, a closed failure, a direct answer); monitor-mode blocks and fail-open errors become notes.
 */
function apply(run: Run, match: MatchedRule, verdict: Verdict): Evaluation | undefined {
  const { rule } = match;
  const monitor = rule.monitor || run.ruleset.mode === "monitor";
  switch (verdict.action) {
    case "pass":
      if (verdict.reason === "break-glass") run.bypassed ??= match;
      if (verdict.headers && !monitor) mergeHeaders(run.headers, verdict.headers);
      return undefined;
    case "headers":
      if (!monitor) mergeHeaders(run.headers, verdict.headers);
      return undefined;
    case "block":
      if (!monitor) return blocked(run, match, verdict);
      run.notes.push({
        rule: rule.id,
        kind: rule.kind,
        reason: verdict.reason,
        wouldBe: verdict.outcome,
        status: verdict.status,
      });
      return undefined;
    case "fail":
      if (verdict.failMode === "closed" && !monitor) return failedClosed(run, match, verdict);
      run.notes.push({
        rule: rule.id,
        kind: rule.kind,
        reason: verdict.reason,
        status: verdict.status ?? 503,
      });
      return undefined;
    case "respond":
      return monitor ? undefined : responded(run, match, verdict);
  }
}

/**
 * The decision when no rule ended evaluation: a fail-open error first, then a monitor hit, then a
 * break-glass bypass, else a plain allow. The note that decides is not repeated among the notes.
 */
function finalDecision(run: Run): Decision {
  const { notes, matches, bypassed } = run;
  const failed = notes.find((note) => note.wouldBe === undefined);
  const watched = notes.find((note) => note.wouldBe !== undefined);
  const first = failed ?? watched;
  const match = first ? matches.find((m) => m.rule.id === first.rule) : (bypassed ?? matches[0]);
  const rest = first ? notes.filter((note) => note !== first) : notes;
  if (failed) {
    return decisionOf(factsOf(run, match, rest), {
      outcome: "error",
      rule: failed.rule,
      kind: failed.kind,
      reason: failed.reason,
      failMode: "open",
      status: failed.status ?? 503,
    });
  }
  if (watched?.wouldBe) {
    return decisionOf(factsOf(run, match, rest), {
      outcome: "monitor",
      rule: watched.rule,
      kind: watched.kind,
      reason: watched.reason,
      wouldBe: watched.wouldBe,
      status: watched.status ?? 403,
    });
  }
  if (bypassed) {
    return decisionOf(factsOf(run, bypassed, notes), {
      outcome: "allow",
      reason: "break-glass",
      rule: bypassed.rule.id,
      kind: bypassed.rule.kind,
    });
  }
  return decisionOf(factsOf(run, match, notes), {
    outcome: "allow",
    reason: matches.length > 0 ? "passed" : "no-rule",
  });
}

/** Rules after the one that ended evaluation may observe it (detectors count refusals); never throws. */
function observeRest(run: Run, index: number, by: MatchedRule, verdict: Verdict): void {
  for (let next = index + 1; next < run.matches.length; next++) {
    const match = run.matches[next] as MatchedRule;
    if (!match.rule.observe) continue;
    try {
      match.rule.observe(contextOf(run, match), verdict, by.rule.kind);
    } catch (error) {
      run.services.report("rule-error", {
        rule: match.rule.id,
        message: errorText(error),
      });
    }
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
  const ip = request.ip;
  const run: Run = {
    ruleset,
    request,
    services,
    startedAt,
    waitUntil,
    matches: ruleset.match(request),
    identity: {},
    headers: {},
    notes: [],
    // Only an address the platform vouches for may bypass a kill switch: a client-set header may not.
    breakGlass:
      ip !== undefined && request.ipTrusted && ruleset.breakGlass.some((cidr) => cidrContains(cidr, ip)),
    bypassed: undefined,
  };
  for (let index = 0; index < run.matches.length; index++) {
    const match = run.matches[index] as MatchedRule;
    const pending = verdictOf(match, contextOf(run, match), services);
    const verdict = pending instanceof Promise ? await pending : pending;
    if (!verdict) continue;
    const ended = apply(run, match, verdict);
    if (ended) {
      observeRest(run, index, match, verdict);
      return ended;
    }
  }
  return { decision: finalDecision(run), headers: run.headers };
}
