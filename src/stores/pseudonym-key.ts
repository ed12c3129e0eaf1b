/**
 * The key every pseudonym in Redis is made with (docs/security.md#credentials-and-secrets): the
 * configured pseudonym key (`identity.salt`, else `CONTAINMENT_SALT`), a dedicated secret. Never
 * derived from the Redis token or any other credential: whoever holds that credential could then
 * test guesses (a tenant, an address) against every pseudonym. Without one, each isolate keys with
 * a random key of its own that never leaves it, so nothing in Redis can be reversed by anyone, at
 * the price of counters and quarantines per isolate; `pseudonym-key-missing` says so at startup.
 */

/** A variable set to nothing on the platform is no key. */
export function configuredPseudonymKey(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  return option || env.CONTAINMENT_SALT || undefined;
}

export function pseudonymKeyOf(
  configured: string | undefined,
  report: (event: string, detail?: Readonly<Record<string, unknown>>) => void,
): string {
  if (configured !== undefined) return configured;
  // Kept short: every byte here is in the edge bundle; docs/rules.md says the rest.
  report("pseudonym-key-missing", { message: "set CONTAINMENT_SALT" });
  return crypto.randomUUID();
}
