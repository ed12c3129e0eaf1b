import type { NormalizedRequest } from "../core/request.js";
import type { Services } from "../engine/services.js";
import type { Verdict } from "../engine/verdict.js";
import type { MatchSpec } from "./common.js";
import type { CompiledRuleset } from "./ruleset.js";

export type RuleKind = "kill-switch" | "rate-limit" | "tenant-binding" | "headers";

/**
 * Evaluation order (DESIGN: break-glass → kill switches → quarantine → tenant binding → rate
 * limits → headers). Tenant binding precedes rate limits so unauthenticated traffic spends no quota
 * and `user` keys come from a verified token. Quarantine has no phase of its own: each rate-limit
 * rule checks it in the same Redis round trip as its counter, so routes without a rate-limit rule
 * never wait on Redis.
 */
export const PHASE_ORDER = ["kill-switch", "tenant-binding", "rate-limit", "headers"] as const;
export type Phase = (typeof PHASE_ORDER)[number];

/** Per-request identity facts, filled in by rules as they verify them (tenant binding sets `user`). */
export interface Identity {
  tenant?: string;
  user?: string;
}

export interface RuleContext {
  readonly request: NormalizedRequest;
  /** Parameters captured by the pattern that matched, e.g. `{ tenant: "acme" }` (original case). */
  readonly params: Readonly<Record<string, string>>;
  /** The pattern that matched: the route template rate limits key on, safe to log. */
  readonly route: string;
  readonly ruleset: CompiledRuleset;
  readonly services: Services;
  readonly identity: Identity;
  /** The client address is in the document's `breakGlass.cidrs`: kill switches let it through. */
  readonly breakGlass: boolean;
  /** Runs work after the response (the platform's `waitUntil` for this request). */
  waitUntil(promise: Promise<unknown>): void;
}

/** A rule after compilation: validated once, ready to evaluate many times. */
export interface CompiledRule {
  readonly id: string;
  readonly kind: RuleKind;
  readonly phase: Phase;
  /** Decide and record, never block. */
  readonly monitor: boolean;
  readonly match: MatchSpec;
  /** Position in the document (items after rules): ties in a phase go to the earlier rule. */
  readonly order: number;
  /** Where the rule came from: `rules` (the document) or the Edge Config item key. */
  readonly source: string;
  readonly expiresAt?: number;
  evaluate(context: RuleContext): Verdict | undefined | Promise<Verdict | undefined>;
}
