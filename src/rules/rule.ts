import type { NormalizedRequest } from "../core/request.js";
import type { RuleKind } from "../model/decision.js";
import type { Services } from "../model/services.js";
import type { Verdict } from "../model/verdict.js";
import type { MatchSpec } from "./common.js";
import type { RecordTenant } from "./recorded-tenant.js";
import type { TenantResolver } from "./tenancy.js";

/** Per-request identity facts, filled in by rules as they verify them (tenant binding sets `user`). */
export interface Identity {
  tenant?: string;
  user?: string;
}

/** What a rule may know of the ruleset it belongs to (the compiled ruleset satisfies it). */
export interface RulesetFacts {
  readonly mode: "enforce" | "monitor";
  readonly tenancy: TenantResolver | undefined;
  /** The tenant a record may name (rules/recorded-tenant.ts). */
  readonly recordTenant: RecordTenant;
}

/** A rule spec as its siblings see it: compile steps that look across rules narrow by `kind`. */
export interface SiblingSpec {
  readonly kind: string;
}

/**
 * What compile steps may use: services for setup done once per ruleset (clients, key sets), the
 * document's tenant origins, and the other rules (kept loose so rule kinds never import the
 * document schema that imports them).
 */
export interface CompileContext {
  readonly services: Services;
  readonly tenants: Readonly<Record<string, { readonly origins: readonly string[] }>> | undefined;
  readonly rules: readonly SiblingSpec[];
  /** Route patterns the document marks as never automatically contained (docs/detection.md). */
  readonly neverContain?: readonly string[];
}

export interface RuleContext {
  readonly request: NormalizedRequest;
  /** Parameters captured by the pattern that matched, e.g. `{ tenant: "acme" }` (original case). */
  readonly params: Readonly<Record<string, string>>;
  /** Parameters of every path reading that matched this rule (`params` first): see resolveTenant. */
  readonly readings: ReadonlyArray<Readonly<Record<string, string>>>;
  /** The pattern that matched: the route template rate limits key on, safe to log. */
  readonly route: string;
  readonly ruleset: RulesetFacts;
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
  /** The kind's name (kinds.ts); its place there is the rule's phase in evaluation. */
  readonly kind: RuleKind;
  /** Decide and record, never block. */
  readonly monitor: boolean;
  readonly match: MatchSpec;
  /** Position in the document (items after rules): ties in a phase go to the earlier rule. */
  readonly order: number;
  /** Where the rule came from: `rules` (the document) or the Edge Config item key. */
  readonly source: string;
  readonly expiresAt?: number;
  /** Kill switches: the item's version (docs/contracts.md), named `id@version` in reports. */
  readonly version?: number;
  evaluate(context: RuleContext): Verdict | undefined | Promise<Verdict | undefined>;
  /**
   * Sees the verdict of an earlier rule that ended evaluation before this one ran (detectors count
   * tenant-binding refusals this way). Never changes the answer; work goes to `waitUntil`.
   */
  observe?(context: RuleContext, verdict: Verdict, by: RuleKind): void;
}
