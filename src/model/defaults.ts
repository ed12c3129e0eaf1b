/**
 * Defaults that more than one layer applies, once. Each option's own documentation names its
 * default; this is where the number lives.
 */

/** Prefix of every Redis key the firewall and the responder use (docs/contracts.md). */
export const DEFAULT_REDIS_PREFIX = "containment:";

/**
 * How long an answer from Edge Config is trusted before asking again, ms (docs/rules.md,
 * freshness). Each refresh is one read of the store's digest per busy isolate: 1,200 an hour.
 */
export const DEFAULT_REFRESH_MS = 3_000;

/**
 * The oldest Edge Config answer a request is decided on when `refreshMs` is the default, ms: any
 * change Edge Config serves (a rules push, a lift, an item edited by hand) is enforced within this.
 */
export const DEFAULT_MAX_STALE_MS = 5_000;

/**
 * Least time between two reads of the fast lane, ms (docs/rules.md, the fast lane): a published kill
 * switch is enforced within this plus one Redis round trip, under 1 s, for 5,143 reads an hour.
 */
export const DEFAULT_FASTLANE_REFRESH_MS = 700;

/** Deadline of one read of the rules source or the fast lane, ms. */
export const DEFAULT_READ_TIMEOUT_MS = 500;

/**
 * How long `--wait` counts an isolate as serving traffic after its last report, ms
 * (docs/contracts.md, the isolate report).
 */
export const ISOLATE_REPORT_WINDOW_MS = 30_000;

/**
 * The longest an isolate's mirror waits between flushes while it sees only traffic no rule can
 * refuse, ms (docs/recorded-format.md, when evidence goes out). Each flush carries the isolate's
 * report, so it stays well inside `ISOLATE_REPORT_WINDOW_MS` and a quiet isolate is still counted
 * as serving traffic.
 */
export const QUIET_FLUSH_MAX_MS = 16_000;
