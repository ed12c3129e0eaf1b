const encoder = new TextEncoder();

/** Lower-case hex of bytes (digests, MACs): the one spelling every layer uses. */
export function toHex(buffer: ArrayBuffer | Uint8Array): string {
  let out = "";
  for (const byte of new Uint8Array(buffer)) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Hex SHA-256 of a string, through WebCrypto so it runs the same in Node and at the edge. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * A short, keyed identifier for a user or IP in Redis and logs: evidence can link events of one
 * identity without storing who it is. `salt` should be a per-deployment secret.
 */
export async function pseudonymize(value: string, salt: string): Promise<string> {
  return (await sha256Hex(`${salt}\u0000${value}`)).slice(0, 16);
}

/**
 * Compares two strings in time that depends only on their lengths, for tokens and secrets; an
 * early exit would tell an attacker how many leading characters were right.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let diff = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let i = 0; i < length; i++) diff |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return diff === 0;
}
