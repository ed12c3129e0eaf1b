/**
 * Honeytoken decoys are stored as keyed hashes (`hmac-sha256:<first 128 bits, hex>`), never as the
 * raw value: a committed rules file, Edge Config or a rendered link then reveals nothing an attacker
 * could avoid. The key is a secret in the environment (default `CONTAINMENT_DECOY_KEY`); the
 * responder makes a hash with `containment detections decoy-hash` (docs/detection.md).
 */
import { hmacSha256, hmacSha256Key, toHex } from "../../core/hash.js";

const keys = new Map<string, Promise<CryptoKey>>();

export const DEFAULT_DECOY_KEY_ENV = "CONTAINMENT_DECOY_KEY";

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = hmacSha256Key(secret);
    // One secret per deployment; the map never grows past a handful.
    if (keys.size < 8) keys.set(secret, key);
  }
  return key;
}

export async function decoyHash(secret: string, value: string): Promise<string> {
  const signature = await hmacSha256(await hmacKey(secret), value);
  return `hmac-sha256:${toHex(new Uint8Array(signature).subarray(0, 16))}`;
}

/**
 * A request a person's client may have made without meaning to (a prefetch, a prerender, a link
 * preview): it never counts as a honeytoken hit.
 */
export function prefetchSignal(headers: Headers): boolean {
  if (headers.has("next-router-prefetch")) return true;
  for (const name of ["sec-purpose", "purpose", "x-purpose", "x-moz"]) {
    const value = headers.get(name);
    if (value && /prefetch|prerender|preview/i.test(value)) return true;
  }
  return false;
}

/**
 * Only a same-origin request or a direct one (typed, bookmarked: `none`) counts: a cross-site page
 * cannot make a victim's browser trip a honeytoken. A request without `Sec-Fetch-Site` comes from no
 * current browser (they all send it; page scripts cannot remove it), i.e. a script holding the token
 * itself, and counts as direct.
 */
export function directOrSameOrigin(headers: Headers): boolean {
  const site = headers.get("sec-fetch-site");
  return site === null || site === "same-origin" || site === "none";
}
