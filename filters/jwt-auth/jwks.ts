// JSON Web Key Sets (RFC 7517) into verification keys. Only public signature keys are kept:
// RSA (n, e), EC P-256/P-384 (x, y), OKP Ed25519 (x) and symmetric "oct" secrets (k).
// A key's `alg`, when present, pins the algorithm it may be used with (RFC 7517 §4.4).
import { JsonValue } from "../../assembly/json";
import { base64urlDecode } from "../../assembly/encoding/base64url";
import { RsaPublicKey } from "../../assembly/crypto/rsa";
import { CurveId, EcPublicKey } from "../../assembly/crypto/ecdsa";
import { Alg, Family, algByName } from "./algorithms";

export const MAX_KEYS: i32 = 64;

export enum KeyType {
  Rsa = 0,
  Ec = 1,
  Okp = 2,
  Oct = 3,
}

export class Jwk {
  kid: string | null = null;
  /** The algorithm this key is restricted to, or null. */
  alg: Alg | null = null;
  kty: KeyType = KeyType.Rsa;
  rsa: RsaPublicKey | null = null;
  ec: EcPublicKey | null = null;
  curve: CurveId = CurveId.P256;
  /** Ed25519 public key (32 bytes) or HMAC secret. */
  bytes: Uint8Array | null = null;

  /** Whether a token signed with `alg` may be verified with this key (no algorithm confusion). */
  accepts(alg: Alg): bool {
    const pinned = this.alg;
    if (pinned !== null && pinned !== alg) return false;
    switch (alg.family) {
      case Family.Rsa:
      case Family.RsaPss:
        return this.kty == KeyType.Rsa;
      case Family.Ecdsa:
        return this.kty == KeyType.Ec && this.curve == alg.curve;
      case Family.EdDsa:
        return this.kty == KeyType.Okp;
      default:
        // RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
        return this.kty == KeyType.Oct && (this.bytes as Uint8Array).length >= alg.hashBytes;
    }
  }
}

export class KeySet {
  keys: Jwk[] = [];
  /** Why keys were skipped (for logs); never fatal for a remote set. */
  skipped: string[] = [];
}

function member(key: JsonValue, name: string): string | null {
  const v = key.get(name);
  return v !== null && v.isString ? v.str : null;
}

function decodeField(key: JsonValue, name: string, maxBytes: i32): Uint8Array | null {
  const s = member(key, name);
  if (s === null || s.length > (maxBytes * 4) / 3 + 4) return null;
  return base64urlDecode(s);
}

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi"];

/** Reads one JWK; returns null with a reason in `why[0]` when it is not a usable public signature key. */
export function readJwk(key: JsonValue, why: string[]): Jwk | null {
  if (!key.isObject) { why.push("not an object"); return null; }
  const kty = member(key, "kty");
  if (kty === null) { why.push("kty is missing"); return null; }
  const use = member(key, "use");
  if (use !== null && use != "sig") { why.push("use is \"" + use + "\", not \"sig\""); return null; }
  for (let i = 0; i < PRIVATE_MEMBERS.length; i++) {
    if (kty != "oct" && key.has(PRIVATE_MEMBERS[i])) { why.push("contains private key material (" + PRIVATE_MEMBERS[i] + ")"); return null; }
  }
  const jwk = new Jwk();
  const kid = key.get("kid");
  if (kid !== null) {
    if (!kid.isString || kid.str.length > 256) { why.push("kid must be a string of at most 256 characters"); return null; }
    jwk.kid = kid.str;
  }
  const algName = member(key, "alg");
  if (algName !== null) {
    const alg = algByName(algName);
    if (alg === null) { why.push("unsupported alg \"" + algName + "\""); return null; }
    jwk.alg = alg;
  }
  if (kty == "RSA") {
    jwk.kty = KeyType.Rsa;
    const n = decodeField(key, "n", 1024);
    const e = decodeField(key, "e", 16);
    if (n === null || e === null) { why.push("RSA key needs base64url n and e"); return null; }
    jwk.rsa = RsaPublicKey.fromModulusExponent(n, e);
    if (jwk.rsa === null) { why.push("RSA key is invalid or shorter than 2048 bits"); return null; }
  } else if (kty == "EC") {
    jwk.kty = KeyType.Ec;
    const crv = member(key, "crv");
    if (crv == "P-256") jwk.curve = CurveId.P256;
    else if (crv == "P-384") jwk.curve = CurveId.P384;
    else { why.push("unsupported EC curve " + (crv === null ? "(none)" : crv)); return null; }
    const x = decodeField(key, "x", 66);
    const y = decodeField(key, "y", 66);
    if (x === null || y === null) { why.push("EC key needs base64url x and y"); return null; }
    jwk.ec = EcPublicKey.fromAffine(jwk.curve, x, y);
    if (jwk.ec === null) { why.push("EC point is not on the curve"); return null; }
  } else if (kty == "OKP") {
    jwk.kty = KeyType.Okp;
    if (member(key, "crv") != "Ed25519") { why.push("only OKP curve Ed25519 is supported"); return null; }
    const x = decodeField(key, "x", 32);
    if (x === null || x.length != 32) { why.push("Ed25519 key needs a 32-byte x"); return null; }
    jwk.bytes = x;
  } else if (kty == "oct") {
    jwk.kty = KeyType.Oct;
    const k = decodeField(key, "k", 1024);
    if (k === null || k.length == 0) { why.push("oct key needs a base64url k"); return null; }
    jwk.bytes = k;
  } else {
    why.push("unsupported kty \"" + kty + "\"");
    return null;
  }
  if (jwk.alg !== null && !jwk.accepts(jwk.alg!)) { why.push("alg " + jwk.alg!.name + " does not fit this key"); return null; }
  return jwk;
}

/** Reads a JWKS document ({"keys": [...]}); unusable keys are skipped with their reason. */
export function readJwks(doc: JsonValue): KeySet {
  const set = new KeySet();
  const keys = doc.isObject ? doc.get("keys") : null;
  if (keys === null || !keys.isArray) {
    set.skipped.push("not a JWKS: a \"keys\" array is required");
    return set;
  }
  const n = keys.length < MAX_KEYS ? keys.length : MAX_KEYS;
  if (keys.length > MAX_KEYS) set.skipped.push("more than " + MAX_KEYS.toString() + " keys; the rest are ignored");
  for (let i = 0; i < n; i++) {
    const why = new Array<string>();
    const jwk = readJwk(keys.at(i), why);
    if (jwk !== null) set.keys.push(jwk);
    else set.skipped.push("keys[" + i.toString() + "]: " + why[0]);
  }
  return set;
}
