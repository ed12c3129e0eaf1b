/**
 * Optional Ed25519 signatures on audit entries (jose, EdDSA): a compact JWS whose payload is the
 * entry's hash. Whoever holds only the Redis token can rewrite entries and hashes, but not sign
 * them; `audit verify --keys FILE` checks every entry against the responders' public keys.
 */
import {
  CompactSign,
  compactVerify,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from "jose";

export interface Signer {
  readonly kid: string;
  /** The public half, so a signed evidence bundle can name the key that checks it. */
  readonly publicJwk?: JWK;
  sign(hash: string): Promise<string>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isEd25519(jwk: JWK): boolean {
  return jwk.kty === "OKP" && jwk.crv === "Ed25519";
}

/** A signer from a private Ed25519 JWK (`{kty:"OKP",crv:"Ed25519",d,x,kid}`). */
export async function createSigner(jwk: JWK): Promise<Signer> {
  if (!isEd25519(jwk) || typeof jwk.d !== "string")
    throw new Error(
      "edge-containment: the signing key must be a private Ed25519 JWK (kty OKP, crv Ed25519, with d)",
    );
  const kid = jwk.kid ?? "responder";
  const key = await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA");
  return {
    kid,
    publicJwk: { kty: "OKP", crv: "Ed25519", x: jwk.x ?? "", kid, alg: "EdDSA", use: "sig" },
    sign: (hash) => new CompactSign(encoder.encode(hash)).setProtectedHeader({ alg: "EdDSA", kid }).sign(key),
  };
}

export interface KeySet {
  keys: JWK[];
}

export type SignatureCheck = "ok" | "missing" | "bad" | "mismatch";

/** Checks a signature against the public keys: `mismatch` when it is valid but over another hash. */
export function signatureVerifier(
  keys: KeySet,
): (hash: string, sig: string | undefined) => Promise<SignatureCheck> {
  const publicKeys = keys.keys.filter(isEd25519).map(({ d: _d, ...pub }) => ({ ...pub, alg: "EdDSA" }));
  const jwks = createLocalJWKSet({ keys: publicKeys });
  return async (hash, sig) => {
    if (sig === undefined || sig === "") return "missing";
    try {
      const { payload } = await compactVerify(sig, jwks, { algorithms: ["EdDSA"] });
      return decoder.decode(payload) === hash ? "ok" : "mismatch";
    } catch {
      return "bad";
    }
  };
}

/** A new key pair for `containment audit keygen`: the private JWK to keep, the public JWKS to share. */
export async function generateSigningKey(kid: string): Promise<{ privateJwk: JWK; publicJwks: KeySet }> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: "EdDSA" };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
  return { privateJwk, publicJwks: { keys: [publicJwk] } };
}
