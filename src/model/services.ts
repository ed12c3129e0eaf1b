import type { Keyring } from "../core/identity.js";
import type { DetectStore } from "./detect-store.js";
import type { RateLimitStore } from "./rate-limit-store.js";

/**
 * What rules and the engine may call out to. Built once by `createContainment`; tests inject their
 * own clock and fetch. Rule kinds that need a dependency (Redis, JWKS) read it from here.
 */
export interface Services {
  now(): number;
  fetch: typeof fetch;
  /** Environment variables (secrets for HS* tokens are named here, never stored in Edge Config). */
  env: Readonly<Record<string, string | undefined>>;
  /** Reports an internal problem without ever throwing (logging hook). */
  report(event: string, detail?: Readonly<Record<string, unknown>>): void;
  /** Where rate-limit counters and quarantines live (Redis or the per-isolate memory store); absent when none is configured. */
  store?: RateLimitStore;
  /** Where detectors count (Redis, batched); absent without Redis: detectors then fail by their fail mode. */
  detect?: DetectStore;
  /** Turns identities into pseudonymous keys (salt, IP bucket prefixes). */
  keyring?: Keyring;
}
