import type { JWTPayload, JWTVerifyGetKey, JWTVerifyOptions } from "jose";
import * as errors from "jose/errors";
import { jwtVerify } from "jose/jwt/verify";
import { DeadlineExceeded, withDeadline } from "../../core/deadline.js";
import { JwksUnavailable, type KeySource, type KeyTrace } from "./jwks.js";

/** Why a token was not accepted. All but `jwks-unavailable` are the client's fault (401). */
export type VerifyFailure =
  | "token-malformed"
  | "token-expired"
  | "token-not-yet-valid"
  | "token-claim-invalid"
  | "token-signature-invalid"
  | "token-alg-not-allowed"
  | "token-invalid"
  | "jwks-no-matching-key"
  | "jwks-unavailable";

export type Verified =
  | { ok: true; payload: JWTPayload }
  | { ok: false; reason: VerifyFailure; error?: unknown };

export interface VerifyOptions {
  algorithms: readonly string[];
  issuer?: string;
  audience?: string | readonly string[];
  typ?: string;
  /** Seconds. */
  maxTokenAge?: number;
  /** Seconds. */
  clockTolerance: number;
  timeoutMs: number;
}

/** When several keys of a set match a kid-less token, try at most this many: each try is a signature check. */
const MAX_CANDIDATE_KEYS = 4;

/**
 * Maps jose's error codes to the reasons the firewall records. Only a key set that cannot be
 * fetched is `jwks-unavailable` (and so subject to failMode): everything a token can cause by its
 * own content, including selecting a broken key of the set, is a plain 401, so a crafted token can
 * never reach the fail-open path.
 */
export function failureOf(error: unknown, trace: KeyTrace): VerifyFailure {
  if (error instanceof JwksUnavailable) return "jwks-unavailable";
  if (error instanceof DeadlineExceeded)
    return trace.unknownKid ? "jwks-no-matching-key" : "jwks-unavailable";
  if (!(error instanceof errors.JOSEError)) return "token-invalid";
  switch (error.code) {
    case "ERR_JWT_EXPIRED":
      // Also maxTokenAge exceeded (jose reports it on `iat` as expired).
      return "token-expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED": {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      // `nbf` in the future, or `iat` in the future when maxTokenAge is checked.
      if ((claim === "nbf" || claim === "iat") && reason === "check_failed") return "token-not-yet-valid";
      return "token-claim-invalid";
    }
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "token-alg-not-allowed";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "token-signature-invalid";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_INVALID":
    case "ERR_JWK_INVALID":
      return "jwks-no-matching-key";
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
    case "ERR_JOSE_NOT_SUPPORTED":
      return "token-malformed";
    default:
      return "token-invalid";
  }
}

async function verifyWith(
  token: string,
  key: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, key, options)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    // A token without `kid` against a set with several keys of its type: try a few, in set order.
    let last: unknown = new errors.JWSSignatureVerificationFailed();
    let tried = 0;
    for await (const candidate of error) {
      if (++tried > MAX_CANDIDATE_KEYS) break;
      try {
        return (await jwtVerify(token, candidate, options)).payload;
      } catch (next) {
        last = next;
        if (!(next instanceof errors.JWSSignatureVerificationFailed)) break;
      }
    }
    throw last;
  }
}

/**
 * Verifies a compact JWT: pinned algorithms, required `exp`, and the rule's issuer, audience, typ,
 * max age and clock tolerance. The whole verification, key fetch included, runs under the rule's
 * deadline.
 */
export async function verifyJwt(
  token: string,
  keys: KeySource,
  options: VerifyOptions,
  now: number,
): Promise<Verified> {
  const trace: KeyTrace = { unknownKid: false };
  const joseOptions: JWTVerifyOptions = {
    algorithms: [...options.algorithms],
    requiredClaims: ["exp"],
    clockTolerance: options.clockTolerance,
    currentDate: new Date(now),
    ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
    ...(options.audience === undefined
      ? {}
      : { audience: typeof options.audience === "string" ? options.audience : [...options.audience] }),
    ...(options.typ === undefined ? {} : { typ: options.typ }),
    ...(options.maxTokenAge === undefined ? {} : { maxTokenAge: options.maxTokenAge }),
  };
  try {
    const payload = await withDeadline(
      verifyWith(token, (header, jws) => keys(header, jws, trace), joseOptions),
      options.timeoutMs,
      "token verification",
    );
    return { ok: true, payload };
  } catch (error) {
    return { ok: false, reason: failureOf(error, trace), error };
  }
}
