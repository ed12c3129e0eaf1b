/**
 * Defaults that more than one layer applies, once. Each option's own documentation names its
 * default; this is where the number lives.
 */

/** Prefix of every Redis key the firewall and the responder use (docs/contracts.md). */
export const DEFAULT_REDIS_PREFIX = "containment:";

/**
 * How long an answer from Edge Config (and the fast lane) is trusted before asking again, ms: a
 * kill switch Edge Config serves is enforced within this (docs/rules.md, freshness).
 */
export const DEFAULT_REFRESH_MS = 500;

/** Deadline of one read of the rules source or the fast lane, ms. */
export const DEFAULT_READ_TIMEOUT_MS = 500;
