/**
 * Keys and tokens for tenant-binding tests: real RSA and EC key pairs from jose, honest tokens,
 * and the forgeries the attack tests need (alg none, HS256 keyed with the RSA public key).
 */
import { createHmac } from "node:crypto";
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";

export interface SigningKey {
  kid: string;
  alg: "RS256" | "ES256";
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
  pem: string;
}

export async function signingKey(kid: string, alg: "RS256" | "ES256" = "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, publicKey, jwk, pem: await exportSPKI(publicKey) };
}

export const ISSUER = "https://id.example.test/";
export const AUDIENCE = "api";

/** Standard claims for a token valid now (seconds since the epoch of `nowMs`). */
export function claims(extra: JWTPayload = {}, nowMs = Date.now()): JWTPayload {
  const now = Math.floor(nowMs / 1000);
  return { iss: ISSUER, aud: AUDIENCE, sub: "user-1", iat: now, exp: now + 600, ...extra };
}

export interface MintOptions {
  /** Header overrides; `kid` defaults to the key's, `null` leaves it out. */
  kid?: string | null;
  typ?: string;
}

export async function mint(key: SigningKey, payload: JWTPayload, options: MintOptions = {}): Promise<string> {
  const kid = options.kid === null ? undefined : (options.kid ?? key.kid);
  return new SignJWT(payload)
    .setProtectedHeader({
      alg: key.alg,
      ...(kid === undefined ? {} : { kid }),
      ...(options.typ === undefined ? {} : { typ: options.typ }),
    })
    .sign(key.privateKey);
}

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString("base64url");
}

/** A token with `alg: none` and an empty signature. */
export function unsigned(payload: JWTPayload, kid?: string): string {
  return `${b64url(JSON.stringify({ alg: "none", typ: "JWT", ...(kid ? { kid } : {}) }))}.${b64url(JSON.stringify(payload))}.`;
}

/** HMAC-signed token with an arbitrary secret (the classic RS256 → HS256 confusion uses the public key). */
export function hmacSigned(
  payload: JWTPayload,
  secret: string | Uint8Array,
  kid?: string,
  alg: "HS256" | "HS384" = "HS256",
): string {
  const head = `${b64url(JSON.stringify({ alg, typ: "JWT", ...(kid ? { kid } : {}) }))}.${b64url(JSON.stringify(payload))}`;
  const hash = alg === "HS256" ? "sha256" : "sha384";
  return `${head}.${createHmac(hash, secret).update(head).digest("base64url")}`;
}

/** An HS256 token signed with a shared secret the way an honest issuer would. */
export async function mintHs(secret: string, payload: JWTPayload): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}
