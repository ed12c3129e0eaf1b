const encoder = new TextEncoder();

/** Lower-case hex of bytes (digests, MACs): the one spelling every layer uses. */
export function toHex(buffer: ArrayBuffer | Uint8Array): string {
  let out = "";
  for (const byte of new Uint8Array(buffer)) out += byte.toString(16).padStart(2, "0");
  return out;
}

async function digestHex(algorithm: "SHA-1" | "SHA-256", text: string): Promise<string> {
  return toHex(await crypto.subtle.digest(algorithm, encoder.encode(text)));
}

/** Hex SHA-256 of a string, through WebCrypto so it runs the same in Node and at the edge. */
export function sha256Hex(text: string): Promise<string> {
  return digestHex("SHA-256", text);
}

/** Hex SHA-1 of a string: only where Redis names a script by it (EVALSHA), never for security. */
export function sha1Hex(text: string): Promise<string> {
  return digestHex("SHA-1", text);
}

/**
 * An HMAC-SHA256 signing key from a secret (its UTF-8) or raw bytes (a key derived by an earlier
 * HMAC). Not extractable: nothing here ever needs the key material back.
 */
export function hmacSha256Key(secret: string | BufferSource): Promise<CryptoKey> {
  const raw = typeof secret === "string" ? encoder.encode(secret) : secret;
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** HMAC-SHA256 of `message` (its UTF-8) under `key`: a key from `hmacSha256Key`, or a secret to import. */
export async function hmacSha256(key: CryptoKey | string, message: string): Promise<ArrayBuffer> {
  const cryptoKey = typeof key === "string" ? await hmacSha256Key(key) : key;
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message));
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
