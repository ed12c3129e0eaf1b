/**
 * The rule kinds a rules document can hold, as the public Decision type names them. The registry
 * (src/rules/kinds.ts) is where kinds are defined; it fails to compile until a new kind is named here.
 */
export type RuleKind = "kill-switch" | "rate-limit" | "tenant-binding" | "detector" | "headers";

export type Outcome = "allow" | "block" | "rate-limited" | "monitor" | "error";

/** Facts about the request every decision carries; nothing here may identify a person directly. */
export interface DecisionContext {
  requestId: string;
  at: number;
  method: string;
  /** Redacted path (identifier-like segments → `:id`), never the query string. */
  path: string;
  /** The matched route template of the deciding rule, when there is one. */
  route?: string;
  host: string;
  region: string;
  rulesetDigest: string;
  tenant?: string;
  /** `tenant` came from a token tenant binding verified, not from the request alone. */
  tenantVerified?: true;
  /** Verified subject, raw: hashed before it leaves the process (mirror). */
  user?: string;
  /** Canonical client IP, raw: truncated or hashed before it leaves the process (mirror). */
  ip?: string;
  latencyMs: number;
}

/** A monitor-mode hit or a fail-open error that did not decide the request, kept as evidence. */
export interface Note {
  rule: string;
  kind: RuleKind;
  reason: string;
  wouldBe?: "block" | "rate-limited";
  status?: number;
}

interface Base extends DecisionContext {
  /** Monitor hits and fail-open errors of rules other than the deciding one. */
  notes: Note[];
}

/** The firewall's verdict on a request: a discriminated union on `outcome`. */
export type Decision =
  | (Base & { outcome: "allow"; reason: string; rule?: string; kind?: RuleKind })
  | (Base & {
      outcome: "block" | "rate-limited";
      rule: string;
      kind: RuleKind | "request";
      reason: string;
      status: number;
      incident?: string;
    })
  | (Base & {
      outcome: "monitor";
      rule: string;
      kind: RuleKind;
      reason: string;
      wouldBe: "block" | "rate-limited";
      status: number;
    })
  | (Base & {
      outcome: "error";
      rule: string;
      kind: RuleKind;
      reason: string;
      failMode: "open" | "closed";
      status: number;
    });

/** True when the request was not let through. */
export function isBlocked(decision: Decision): boolean {
  return (
    decision.outcome === "block" ||
    decision.outcome === "rate-limited" ||
    (decision.outcome === "error" && decision.failMode === "closed")
  );
}

export function isMonitored(decision: Decision): decision is Extract<Decision, { outcome: "monitor" }> {
  return decision.outcome === "monitor";
}
