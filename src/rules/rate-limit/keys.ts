/**
 * The Redis keys rate limits and quarantines use, relative to the prefix (default `containment:`),
 * once: the rule builds them, both stores use them, and the edge's ACL is derived from them
 * (docs/contracts.md, "Rate limits and quarantines").
 */
import { ALGORITHM_CODE, type Algorithm } from "../../model/rate-limit-store.js";

/** Every counter key (and the check marks beside it) starts with this; the store adds it. */
export const COUNTER_PREFIX = "rl:";

export const rateLimitKeys = {
  /** `rl:<rule>:<algo>:<identity>:<route>` once the store adds `rl:`; windows append `:<window number>`. */
  counter: (rule: string, algorithm: Algorithm, identity: string, route: string): string =>
    `${rule}:${ALGORITHM_CODE[algorithm]}:${identity}:${route}`,
  trips: (rule: string, dimension: string, id: string): string => `trips:${rule}:${dimension}:${id}`,
  /** Scope `all`: `quarantine:<dimension>:<id>`; scope `rule`: `quarantine:<dimension>:<id>:<rule>`. */
  quarantine: (dimension: string, id: string, rule?: string): string =>
    `quarantine:${dimension}:${id}${rule === undefined ? "" : `:${rule}`}`,
};

/** Every quarantine key (a SCAN or ACL glob). */
export const QUARANTINE_KEYS = rateLimitKeys.quarantine("*", "*");

/** What the edge writes for rate limits, as ACL globs. */
export const RATE_LIMIT_KEY_PATTERNS: readonly string[] = [
  `${COUNTER_PREFIX}*`,
  rateLimitKeys.trips("*", "*", "*"),
  QUARANTINE_KEYS,
];
