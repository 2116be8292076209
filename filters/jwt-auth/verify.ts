// Signature and claim checks for a parsed token against one provider's keys and rules.
import { hash } from "../../assembly/crypto/hash";
import { hmacVerify } from "../../assembly/crypto/hmac";
import { rsaVerifyPkcs1v15, rsaVerifyPss } from "../../assembly/crypto/rsa";
import { ecdsaVerify } from "../../assembly/crypto/ecdsa";
import { ed25519Verify } from "../../assembly/crypto/ed25519";
import { JsonValue } from "../../assembly/json";
import { Alg, Family } from "./algorithms";
import { Jwk, KeySet } from "./jwks";
import { Jws } from "./token";
import { Failure } from "./failure";

function verifyWith(key: Jwk, alg: Alg, jws: Jws): bool {
  const input = jws.signingInput;
  switch (alg.family) {
    case Family.Hmac:
      return hmacVerify(alg.hash, key.bytes as Uint8Array, input, jws.signature); // constant-time compare
    case Family.Rsa:
      return rsaVerifyPkcs1v15(key.rsa!, alg.hash, hash(alg.hash, input), jws.signature);
    case Family.RsaPss:
      return rsaVerifyPss(key.rsa!, alg.hash, hash(alg.hash, input), jws.signature, alg.hashBytes);
    case Family.Ecdsa:
      return ecdsaVerify(key.ec!, alg.hash, hash(alg.hash, input), jws.signature);
    default:
      return ed25519Verify(key.bytes as Uint8Array, input, jws.signature);
  }
}

/** A kid that names something: absent and "" both mean "no kid", as in jwt_verify_lib. */
function named(kid: string | null): bool {
  return kid !== null && kid.length > 0;
}

/**
 * Finds the keys that may verify this token and tries them. `kid` is only a lookup key, used as
 * Envoy's jwt_authn (jwt_verify_lib) uses it: a key is skipped only when both it and the token
 * name a kid and the two differ, so a JWKS key without kid is a candidate for every token. A key
 * is a candidate only if its type (and pinned alg) fits the token's alg, so an HS256 token can
 * never be checked against an RSA public key (algorithm confusion), and keys embedded in the
 * token (jwk, jku, x5u, x5c) are never looked at.
 */
export function verifySignature(jws: Jws, keys: KeySet, allowed: Alg[] | null): Failure {
  if (allowed !== null && !allowed.includes(jws.alg)) return Failure.AlgNotAllowed;
  let candidates = 0;
  const ks = keys.keys;
  const kid = jws.kid;
  for (let i = 0; i < ks.length; i++) {
    const key = ks[i];
    if (named(kid) && named(key.kid) && key.kid != kid) continue;
    if (!key.accepts(jws.alg)) continue;
    candidates++;
    if (verifyWith(key, jws.alg, jws)) return Failure.None;
  }
  return candidates == 0 ? Failure.UnknownKid : Failure.BadSignature;
}

/**
 * Whether the token names a kid that no key in the set has: the set may be out of date (a key
 * the IdP rotated in), even when a kid-less key was tried and failed.
 */
export function kidUnknown(jws: Jws, keys: KeySet): bool {
  const kid = jws.kid;
  if (!named(kid)) return false;
  const ks = keys.keys;
  for (let i = 0; i < ks.length; i++) if (ks[i].kid == kid) return false;
  return true;
}

function numericDate(payload: JsonValue, name: string): f64 {
  const v = payload.get(name);
  if (v === null) return NaN;
  return v.isNumber ? v.num : -Infinity; // -Infinity marks "present but not a number"
}

export class ClaimRules {
  issuer: string = "";
  audiences: string[] = [];
  requiredClaims: string[][] = [];
  clockSkewS: f64 = 60;
  requireExp: bool = true;
}

/** Time validity only (also re-checked on cache hits). */
export function checkTimes(payload: JsonValue, rules: ClaimRules, nowS: f64): Failure {
  const exp = numericDate(payload, "exp");
  const nbf = numericDate(payload, "nbf");
  const iat = numericDate(payload, "iat");
  if (exp == -Infinity || nbf == -Infinity || iat == -Infinity) return Failure.BadTimeClaim;
  if (isNaN(exp)) {
    if (rules.requireExp) return Failure.NoExp;
  } else if (nowS >= exp + rules.clockSkewS) return Failure.Expired;
  if (!isNaN(nbf) && nowS + rules.clockSkewS < nbf) return Failure.NotYetValid;
  if (!isNaN(iat) && nowS + rules.clockSkewS < iat) return Failure.IssuedInFuture;
  return Failure.None;
}

/** Issuer (401 when wrong), then audience and required claims (403). */
export function checkClaims(payload: JsonValue, rules: ClaimRules): Failure {
  const iss = payload.get("iss");
  if (iss === null || !iss.isString || iss.str != rules.issuer) return Failure.WrongIssuer;
  if (rules.audiences.length > 0) {
    const aud = payload.get("aud");
    let ok = false;
    if (aud !== null && aud.isString) ok = rules.audiences.includes(aud.str);
    else if (aud !== null && aud.isArray) {
      for (let i = 0; i < aud.length && !ok; i++) {
        const a = aud.at(i);
        ok = a.isString && rules.audiences.includes(a.str);
      }
    }
    if (!ok) return Failure.Audience;
  }
  for (let i = 0; i < rules.requiredClaims.length; i++) {
    if (payload.getPath(rules.requiredClaims[i]) === null) return Failure.MissingClaim;
  }
  return Failure.None;
}
