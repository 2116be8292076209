// ECDSA signature verification (FIPS 186-4 §6.4.2, SEC 1 v2 §4.1.4) on P-256 and P-384, with
// signatures in the fixed-size r ‖ s form JWS uses (RFC 7518 §3.4; "IEEE P1363" in Wycheproof).
import { Limbs, newLimbs, lp, limbsFromBytes, limbsIsZero, limbsSub, limbsAdd, limbsCopy, limbsEq, limbsCmp } from "./bigint";
import { wnaf } from "./wnaf";
import { Curve, CurveId, curveById, G_WINDOW, Q_WINDOW } from "./ec";
import { HashAlg, digestLength, isHashAlg } from "./hash";

export { CurveId } from "./ec";

export class EcPublicKey {
  /** Affine x, y in Montgomery form (2·L limbs). */
  readonly point: Limbs;

  private constructor(readonly curve: Curve) {
    this.point = newLimbs(2 * curve.L);
  }

  /**
   * A public key from its affine coordinates as big-endian bytes of exactly the coordinate size
   * (JWK `x`/`y` MUST be full length, RFC 7518 §6.2.1.2). Null unless x, y < p and the point is
   * on the curve (SEC 1 §3.2.2.1 public key validation; the point at infinity has no affine
   * form, and with cofactor 1 "on the curve" implies "in the prime-order group").
   */
  static fromAffine(id: CurveId, x: Uint8Array, y: Uint8Array): EcPublicKey | null {
    if (id != CurveId.P256 && id != CurveId.P384) return null;
    const curve = curveById(id);
    const bl = curve.byteLength;
    if (x.length != bl || y.length != bl) return null;
    const key = new EcPublicKey(curve);
    const px = lp(key.point);
    const py = px + curve.coordBytes;
    limbsFromBytes(px, curve.L, x.dataStart, bl);
    limbsFromBytes(py, curve.L, y.dataStart, bl);
    if (curve.fp.notReduced(px) || curve.fp.notReduced(py)) return null;
    curve.fp.toMont(px, px);
    curve.fp.toMont(py, py);
    if (!curve.isOnCurve(px, py)) return null;
    return key;
  }

  /** A public key from the SEC 1 uncompressed encoding 04 ‖ x ‖ y (as in X.509 and Wycheproof). */
  static fromUncompressed(id: CurveId, bytes: Uint8Array): EcPublicKey | null {
    if (id != CurveId.P256 && id != CurveId.P384) return null;
    const bl = curveById(id).byteLength;
    if (bytes.length != 1 + 2 * bl || unchecked(bytes[0]) != 0x04) return null;
    return EcPublicKey.fromAffine(id, bytes.subarray(1, 1 + bl), bytes.subarray(1 + bl));
  }
}

/** Per-curve working memory for verification, allocated once. */
class Workspace {
  r: Limbs;
  s: Limbs;
  e: Limbs;
  w: Limbs;
  u1: Limbs;
  u2: Limbs;
  k: Limbs; // L + 1 limbs: wNAF recoding may carry past the top
  d1: StaticArray<i8>;
  d2: StaticArray<i8>;
  qTable: Limbs;
  acc: Limbs; // the running point
  neg: Limbs; // a negated table point
  t: Limbs;

  constructor(L: i32) {
    this.r = newLimbs(L);
    this.s = newLimbs(L);
    this.e = newLimbs(L);
    this.w = newLimbs(L);
    this.u1 = newLimbs(L);
    this.u2 = newLimbs(L);
    this.k = newLimbs(L + 1);
    this.d1 = new StaticArray<i8>(32 * L + 2);
    this.d2 = new StaticArray<i8>(32 * L + 2);
    this.qTable = newLimbs((1 << (Q_WINDOW - 2)) * 3 * L);
    this.acc = newLimbs(3 * L);
    this.neg = newLimbs(3 * L);
    this.t = newLimbs(L + 1);
  }
}

let ws256: Workspace | null = null;
let ws384: Workspace | null = null;

function workspace(curve: Curve): Workspace {
  if (curve.id == CurveId.P384) {
    let w = ws384;
    if (w === null) ws384 = w = new Workspace(curve.L);
    return w;
  }
  let w = ws256;
  if (w === null) ws256 = w = new Workspace(curve.L);
  return w;
}

/**
 * Verifies an ECDSA signature r ‖ s (exactly 2 × the coordinate size: 64 bytes on P-256, 96 on
 * P-384) over a precomputed digest. `hash` only fixes the expected digest length; pairing
 * curves with hashes (ES256 = P-256 + SHA-256, ...) is the caller's policy.
 */
export function ecdsaVerify(key: EcPublicKey, hash: HashAlg, digest: Uint8Array, signature: Uint8Array): bool {
  if (!isHashAlg(hash) || digest.length != digestLength(hash)) return false;
  const curve = key.curve;
  const L = curve.L;
  const bl = curve.byteLength;
  if (signature.length != 2 * bl) return false; // no DER, no short or padded encodings
  const ws = workspace(curve);
  const fn = curve.fn;
  const fp = curve.fp;
  const r = lp(ws.r), s = lp(ws.s), e = lp(ws.e), w = lp(ws.w), u1 = lp(ws.u1), u2 = lp(ws.u2);
  limbsFromBytes(r, L, signature.dataStart, bl);
  limbsFromBytes(s, L, signature.dataStart + <usize>bl, bl);
  // §6.4.2 step 1 / SEC 1 §4.1.4 step 1: r, s ∈ [1, n-1]. Rejects r = 0 and s = 0 (where a
  // careless inversion yields 0 and "verifies" anything: CVE-2022-21449) and r, s ≥ n.
  if (limbsIsZero(r, L) || limbsIsZero(s, L) || fn.notReduced(r) || fn.notReduced(s)) return false;
  // Step 3 (SEC 1 §4.1.3 step 5): e = the leftmost bits(n) bits of the digest. Both curves'
  // orders are a whole number of bytes (256, 384 bits), so this is the leftmost bl bytes.
  // e < 2^bits(n) < 2n, so one conditional subtraction reduces it mod n.
  const eLen = digest.length < bl ? digest.length : bl;
  limbsFromBytes(e, L, digest.dataStart, eLen);
  if (fn.notReduced(e)) limbsSub(e, e, lp(fn.m), L);
  // Step 4: w = s⁻¹ mod n by Fermat (s^(n-2)); n is prime and s ≠ 0 mod n, so w exists.
  fn.toMont(w, s);
  fn.pow(w, w, lp(curve.nMinus2), L); // w·R mod n
  // Step 5: u1 = e·w, u2 = r·w (multiplying a plain value by a Montgomery form gives a plain one).
  fn.mul(u1, e, w);
  fn.mul(u2, r, w);
  // Step 6: R = u1·G + u2·Q, one interleaved double-and-add over both wNAFs (Shamir's trick).
  const R = lp(ws.acc);
  multiScalar(curve, ws, key, u1, u2, R);
  if (curve.isInfinity(R)) return false; // step 7: R = O → invalid
  // Step 8-9: accept iff x(R) mod n = r. With x = X/Z² and x < p < 2n, that is x = r or
  // x = r + n (only possible when r + n < p); compare X with r·Z² (mod p) to avoid inverting Z.
  const c = curve.coordBytes;
  const z2 = lp(ws.t);
  const t = lp(ws.w); // w is no longer needed
  fp.sqr(z2, R + 2 * c);
  fp.toMont(t, r);
  fp.mul(t, t, z2);
  if (limbsEq(t, R, L)) return true;
  const rn = lp(ws.e); // e is no longer needed
  if (limbsAdd(rn, r, lp(fn.m), L) != 0) return false; // r + n ≥ 2^(32L) > p
  if (limbsCmp(rn, lp(fp.m), L) >= 0) return false;
  fp.toMont(t, rn);
  fp.mul(t, t, z2);
  return limbsEq(t, R, L);
}

/** out = a·G + b·Q (Jacobian), for plain scalars a, b < n. */
function multiScalar(curve: Curve, ws: Workspace, key: EcPublicKey, a: usize, b: usize, out: usize): void {
  const L = curve.L;
  const c = curve.coordBytes;
  const pointBytes = curve.pointBytes;
  const gTable = lp(curve.generatorTable());
  const affineBytes = c << 1;
  // Odd multiples Q, 3Q, ..., (2^(Q_WINDOW-1) - 1)Q for this key, Jacobian.
  const qTable = lp(ws.qTable);
  const q = lp(key.point);
  const entries = 1 << (Q_WINDOW - 2);
  curve.fromAffine(qTable, q, q + c);
  const q2 = lp(ws.neg);
  curve.double(q2, qTable);
  for (let i = 1; i < entries; i++) curve.add(qTable + <usize>i * pointBytes, qTable + <usize>(i - 1) * pointBytes, q2);

  const len1 = wnaf(ws.d1, a, ws.k, L, G_WINDOW);
  const len2 = wnaf(ws.d2, b, ws.k, L, Q_WINDOW);
  const len = len1 > len2 ? len1 : len2;
  curve.setInfinity(out);
  const neg = lp(ws.neg);
  const fp = curve.fp;
  let started = false; // skip doubling the point at infinity
  for (let i = len - 1; i >= 0; i--) {
    if (started) curve.double(out, out);
    const d1: i32 = i < len1 ? <i32>unchecked(ws.d1[i]) : 0;
    if (d1 != 0) {
      const entry = gTable + <usize>((d1 > 0 ? d1 : -d1) >> 1) * affineBytes;
      if (d1 > 0) {
        curve.addAffine(out, out, entry, entry + c);
      } else {
        fp.neg(neg, entry + c);
        curve.addAffine(out, out, entry, neg);
      }
      started = true;
    }
    const d2: i32 = i < len2 ? <i32>unchecked(ws.d2[i]) : 0;
    if (d2 != 0) {
      const entry = qTable + <usize>((d2 > 0 ? d2 : -d2) >> 1) * pointBytes;
      if (d2 > 0) {
        curve.add(out, out, entry);
      } else {
        limbsCopy(neg, entry, L);
        fp.neg(neg + c, entry + c);
        limbsCopy(neg + 2 * c, entry + 2 * c, L);
        curve.add(out, out, neg);
      }
      started = true;
    }
  }
}
