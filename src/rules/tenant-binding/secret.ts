import * as errors from "jose/errors";
import type { KeySource } from "./jwks.js";

const HASH: Readonly<Record<string, string>> = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" };

/** RFC 7518 §3.2: an HMAC key must be at least as long as the hash output; 32 bytes for HS256. */
export const MIN_SECRET_BYTES = 32;

const encoder = new TextEncoder();

export type SecretState =
  | { ok: true; keys: KeySource }
  | { ok: false; reason: "secret-missing" | "secret-weak" };

/**
 * HMAC keys from a secret read from the environment at request time (so a rotated variable is
 * picked up), imported once per secret value and algorithm. Only settled CryptoKeys are cached,
 * never a pending import, so no promise is shared between requests (see jwks.ts on workerd).
 */
export function secretKeys(
  variable: string,
  env: () => Readonly<Record<string, string | undefined>>,
): () => SecretState {
  let current: string | undefined;
  let source: KeySource | undefined;

  return () => {
    const secret = env()[variable];
    if (secret === undefined || secret === "") return { ok: false, reason: "secret-missing" };
    if (encoder.encode(secret).length < MIN_SECRET_BYTES) return { ok: false, reason: "secret-weak" };
    if (secret !== current || source === undefined) {
      current = secret;
      const cache = new Map<string, CryptoKey>();
      const raw = encoder.encode(secret);
      source = async (header) => {
        const alg = header.alg ?? "";
        const hash = HASH[alg];
        // Unreachable while algorithms are pinned to HS*: jose checks the allow-list first.
        if (hash === undefined)
          throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
        const cached = cache.get(alg);
        if (cached) return cached;
        const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash }, false, ["verify"]);
        cache.set(alg, key);
        return key;
      };
    }
    return { ok: true, keys: source };
  };
}
