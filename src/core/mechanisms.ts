/**
 * The firewall's normalization and check mechanisms, each named. They are all on, always: this is a
 * frozen constant and nothing in the package can turn one off. Naming them lets the attack corpus
 * prove each is load-bearing: its ablation suite substitutes this module in its own test process
 * and shows, for each mechanism off, at least one case of its family failing (docs/security.md).
 * A mechanism no case depends on is either dead or untested, and both are bugs.
 *
 * Read per request as a plain property (no lookup cost worth measuring); never exported from the
 * package entry points.
 */
const ALL_ON = {
  /** A path read a second time with `%2F`/`%5C` decoded into separators (servers that decode them route so). */
  separatorReading: true,
  /** `..` segments resolved and `;params`, empty segments and trailing dots dropped. */
  dotSegments: true,
  /** `/_next/data/<build>/<path>.json` also read as `<path>`. */
  nextData: true,
  /** `<path>.rsc` and `<path>.prefetch.rsc` also read as `<path>`. */
  rscSuffix: true,
  /** `<path>.segments/<segment…>.segment.rsc` also read as `<path>` (CVE-2026-44575). */
  segmentPrefetch: true,
  /** A leading i18n locale segment also read without it. */
  locales: true,
  /** The configured basePath stripped before matching. */
  basePath: true,
  /** Next.js-internal request headers refused (CVE-2025-29927 and its relatives). */
  internalHeaders: true,
  /** Next.js-internal query keys (`nxtP…`, `nxtI…`, `__next…`) refused (CVE-2026-44574). */
  internalQuery: true,
  /** Several Host values, or a Host that is not an authority, refused. */
  hostSyntax: true,
  /** Method-override headers read, every comma-separated value of them. */
  overrideHeaders: true,
  /** The `_method` query parameter read like an override header. */
  overrideQuery: true,
  /** HEAD (sent, or named by an override) also counts as GET. */
  headAsGet: true,
  /** Tenant binding checks the tenant of every path reading, not only the first. */
  tenantAllReadings: true,
  /** Break-glass honoured only when the runtime vouches for the client address. */
  breakGlassTrust: true,
};

export type Mechanism = keyof typeof ALL_ON;

export const MECHANISMS: Readonly<Record<Mechanism, boolean>> = Object.freeze(ALL_ON);
