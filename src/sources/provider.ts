import type { RulesIssue, SourceFailureCause } from "../core/errors.js";
import type { CompiledRuleset } from "../rules/ruleset.js";

/** What `containment status` and the mirror show about where rules come from. */
export interface SourceStatus {
  source: CompiledRuleset["source"];
  digest: string;
  /** When the ruleset in force was compiled (ms since epoch). */
  loadedAt: number;
  /** Kill switches in force (`id@version`): the document's, Edge Config's items and the fast lane's. */
  switches?: readonly string[];
  /** The subset enforced only through the fast lane (Edge Config has not caught up with them yet). */
  fast?: readonly string[];
  /** When Edge Config last answered (ms since epoch); absent for static rules or if it never did. */
  lastSuccessAt?: number;
  /** The last failure: Edge Config unreachable, or a pushed document that failed validation. */
  lastError?: {
    at: number;
    code: "ERR_RULES_SOURCE" | "ERR_RULES_INVALID";
    /** ERR_RULES_SOURCE: why (`unauthorized` is a wrong token, not an outage). */
    reason?: SourceFailureCause;
    /** ERR_RULES_SOURCE: Edge Config's HTTP status, when it answered one. */
    status?: number;
    /** Says which rules are in force (Edge Config's last good, or the fallback). */
    message: string;
    issues?: RulesIssue[];
  };
}

/** Supplies the ruleset in force; never throws. */
export interface RulesProvider {
  /** The ruleset to enforce now; `waitUntil` carries any refresh that runs after the response. */
  current(waitUntil: (promise: Promise<unknown>) => void): Promise<CompiledRuleset> | CompiledRuleset;
  status(): SourceStatus;
}
