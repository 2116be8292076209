// Ed25519 signature verification (RFC 8032 §5.1.7), for JWS "EdDSA" with crv Ed25519 (RFC 8037).
//
// Points are on the twisted Edwards curve -x² + y² = 1 + d·x²·y² over p = 2^255 - 19, in
// extended coordinates (X : Y : Z : T) with x = X/Z, y = Y/Z, x·y = T/Z (Hisil, Wong, Carter,
// Dawson 2008), field elements in Montgomery form. The addition formula is complete on this
// curve (a = -1 is a square and d is not), so no special cases exist for doubling or identity.
//
// Decisions where RFC 8032 leaves room (see docs/crypto.md):
//   - S must be < L (§5.1.7 step 1; rules out the S + L malleability).
//   - A and R must be canonical encodings (y < p; §5.1.3 step 1), and x = 0 with the sign bit
//     set is refused (§5.1.3 step 4). R is checked by comparing encodings: R' = [S]B - [k]A is
//     computed and encoded, then compared with the R bytes, which is only possible when R is
//     the canonical encoding of that point.
//   - Public keys of small order (8·A = O) are refused: they make signatures that verify for
//     many messages. The check is cofactorless ([S]B = R + [k]A), as in ref10, libsodium and Go.
import { Limbs, newLimbs, lp, limbsFromHex, limbsCopy, limbsIsZero, limbsZero, limbsEq } from "./bigint";
import { Montgomery } from "./montgomery";
import { Sha512 } from "./sha512";
import { wnaf } from "./wnaf";
import { constantTimeEqualPtr } from "./ct";

const L = 8; // limbs per field element / scalar
const CB: usize = 32; // bytes per coordinate
const PB: usize = 128; // bytes per extended point
const B_WINDOW: i32 = 7;
const A_WINDOW: i32 = 5;

class Ed25519 {
  fp: Montgomery;
  fl: Montgomery; // mod the group order L
  d: Limbs; // Montgomery form
  d2: Limbs; // 2d
  sqrtM1: Limbs; // 2^((p-1)/4), a square root of -1
  pMinus2: Limbs;
  pMinus5Over8: Limbs;
  base: Limbs; // B as an extended point
  bTable: Limbs; // odd multiples of B
  aTable: Limbs; // odd multiples of -A, per verification
  scratch: Limbs; // 16 coordinates
  k: Limbs;
  dS: StaticArray<i8>;
  dK: StaticArray<i8>;
  acc: Limbs;
  negA: Limbs;
  // Per-verification scratch, allocated once.
  hasher: Sha512 = new Sha512();
  s: Limbs = newLimbs(L); // S
  kHash: Limbs = newLimbs(2 * L); // SHA-512(R ‖ A ‖ M) as 512-bit little-endian lo ‖ hi
  kScalar: Limbs = newLimbs(L); // k mod the group order
  enc: Limbs = newLimbs(L); // encoding of R'

  constructor() {
    const fp = new Montgomery(limbsFromHex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed", L));
    const fl = new Montgomery(limbsFromHex("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed", L));
    const d = limbsFromHex("52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3", L);
    const d2 = limbsFromHex("2406d9dc56dffce7198e80f2eef3d13000e0149a8283b156ebd69b9426b2f159", L);
    const sqrtM1 = limbsFromHex("2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0", L);
    fp.toMont(lp(d), lp(d));
    fp.toMont(lp(d2), lp(d2));
    fp.toMont(lp(sqrtM1), lp(sqrtM1));
    // B = (x, 4/5) with x even (RFC 8032 §5.1).
    const base = newLimbs(4 * L);
    fp.toMont(lp(base), lp(limbsFromHex("216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51a", L)));
    fp.toMont(lp(base) + CB, lp(limbsFromHex("6666666666666666666666666666666666666666666666666666666666666658", L)));
    limbsCopy(lp(base) + 2 * CB, lp(fp.one), L);
    fp.mul(lp(base) + 3 * CB, lp(base), lp(base) + CB);
    this.fp = fp;
    this.fl = fl;
    this.d = d;
    this.d2 = d2;
    this.sqrtM1 = sqrtM1;
    this.pMinus2 = limbsFromHex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeb", L);
    this.pMinus5Over8 = limbsFromHex("0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd", L);
    this.base = base;
    this.bTable = newLimbs((1 << (B_WINDOW - 2)) * 4 * L);
    this.aTable = newLimbs((1 << (A_WINDOW - 2)) * 4 * L);
    this.scratch = newLimbs(16 * L);
    this.k = newLimbs(L + 1);
    this.dS = new StaticArray<i8>(32 * L + 2);
    this.dK = new StaticArray<i8>(32 * L + 2);
    this.acc = newLimbs(4 * L);
    this.negA = newLimbs(4 * L);
    this.oddMultiples(lp(this.bTable), lp(base), 1 << (B_WINDOW - 2));
  }

  // @ts-ignore: decorator
  @inline
  tmp(i: i32): usize {
    return lp(this.scratch) + <usize>i * CB;
  }

  setIdentity(P: usize): void {
    limbsZero(P, 4 * L); // (0 : 1 : 1 : 0)
    limbsCopy(P + CB, lp(this.fp.one), L);
    limbsCopy(P + 2 * CB, lp(this.fp.one), L);
  }

  /** out = P + Q ("add-2008-hwcd-3", a = -1, 9M): complete, so also right for P = Q and identities. */
  add(out: usize, P: usize, Q: usize): void {
    const f = this.fp;
    const a = this.tmp(0), b = this.tmp(1), c = this.tmp(2), dd = this.tmp(3), t = this.tmp(4);
    f.sub(a, P + CB, P); // Y1 - X1
    f.sub(t, Q + CB, Q);
    f.mul(a, a, t); // A = (Y1-X1)(Y2-X2)
    f.add(b, P + CB, P);
    f.add(t, Q + CB, Q);
    f.mul(b, b, t); // B = (Y1+X1)(Y2+X2)
    f.mul(c, P + 3 * CB, Q + 3 * CB);
    f.mul(c, c, lp(this.d2)); // C = T1·2d·T2
    f.mul(dd, P + 2 * CB, Q + 2 * CB);
    f.add(dd, dd, dd); // D = 2·Z1·Z2
    this.finish(out, a, b, c, dd);
  }

  /** E = B - A, F = D - C, G = D + C, H = B + A; X3 = EF, Y3 = GH, T3 = EH, Z3 = FG. */
  private finish(out: usize, a: usize, b: usize, c: usize, dd: usize): void {
    const f = this.fp;
    const e = this.tmp(5), ff = this.tmp(6), g = this.tmp(7), h = this.tmp(8);
    f.sub(e, b, a);
    f.sub(ff, dd, c);
    f.add(g, dd, c);
    f.add(h, b, a);
    f.mul(out, e, ff);
    f.mul(out + CB, g, h);
    f.mul(out + 3 * CB, e, h);
    f.mul(out + 2 * CB, ff, g);
  }

  /** out = 2·P ("dbl-2008-hwcd" with a = -1: 4M + 4S). */
  double(out: usize, P: usize): void {
    const f = this.fp;
    const a = this.tmp(0), b = this.tmp(1), c = this.tmp(2), e = this.tmp(3);
    const g = this.tmp(4), ff = this.tmp(5), h = this.tmp(6);
    f.sqr(a, P); // A = X1²
    f.sqr(b, P + CB); // B = Y1²
    f.sqr(c, P + 2 * CB);
    f.add(c, c, c); // C = 2·Z1²
    f.add(e, P, P + CB);
    f.sqr(e, e);
    f.sub(e, e, a);
    f.sub(e, e, b); // E = (X1+Y1)² - A - B
    f.sub(g, b, a); // G = D + B with D = a·A = -A
    f.sub(ff, g, c); // F = G - C
    f.neg(h, a);
    f.sub(h, h, b); // H = D - B = -A - B
    f.mul(out, e, ff);
    f.mul(out + CB, g, h);
    f.mul(out + 3 * CB, e, h);
    f.mul(out + 2 * CB, ff, g);
  }

  /** table[i] = (2i + 1)·P for i < entries. */
  oddMultiples(table: usize, P: usize, entries: i32): void {
    const p2 = lp(this.acc);
    limbsCopy(table, P, 4 * L);
    this.double(p2, P);
    for (let i = 1; i < entries; i++) this.add(table + <usize>i * PB, table + <usize>(i - 1) * PB, p2);
  }

  /** -P = (-X, Y, Z, -T). */
  negate(out: usize, P: usize): void {
    this.fp.neg(out, P);
    limbsCopy(out + CB, P + CB, 2 * L);
    this.fp.neg(out + 3 * CB, P + 3 * CB);
  }

  /** R += d·P for a wNAF digit d, from `table` = odd multiples of P (tmp 12..15 hold -entry). */
  addDigit(R: usize, table: usize, d: i32): void {
    if (d == 0) return;
    const entry = table + <usize>((d > 0 ? d : -d) >> 1) * PB;
    if (d > 0) this.add(R, R, entry);
    else {
      const neg = this.tmp(12); // 4 coordinates: tmp 12..15 (add and double use 0..8)
      this.negate(neg, entry);
      this.add(R, R, neg);
    }
  }

  /** RFC 8032 §5.1.3 point decoding of 32 bytes at src; false when it is not a canonical point. */
  decode(out: usize, src: usize): bool {
    const f = this.fp;
    const y = this.tmp(9), u = this.tmp(10), v = this.tmp(11), x = this.tmp(12), t = this.tmp(13);
    const v3 = this.tmp(14);
    memory.copy(y, src, CB); // little-endian bytes = little-endian u32 limbs on Wasm
    const sign = <u32>load<u8>(src + 31) >> 7;
    store<u8>(y + 31, load<u8>(y + 31) & 0x7f);
    if (f.notReduced(y)) return false; // step 1: y ≥ p is not canonical
    f.toMont(y, y);
    // step 2: x² = u/v with u = y² - 1, v = d·y² + 1; candidate x = u·v³·(u·v⁷)^((p-5)/8).
    f.sqr(u, y);
    f.mul(v, u, lp(this.d));
    f.sub(u, u, lp(f.one));
    f.add(v, v, lp(f.one));
    f.sqr(v3, v);
    f.mul(v3, v3, v); // v³
    f.sqr(t, v3);
    f.mul(t, t, v); // v⁷
    f.mul(t, t, u);
    f.pow(t, t, lp(this.pMinus5Over8), L);
    f.mul(t, t, v3);
    f.mul(x, t, u);
    // step 3: v·x² = u → x; v·x² = -u → x·sqrt(-1); otherwise no square root.
    f.sqr(t, x);
    f.mul(t, t, v);
    if (!limbsEq(t, u, L)) {
      f.neg(u, u);
      if (!limbsEq(t, u, L)) return false;
      f.mul(x, x, lp(this.sqrtM1));
    }
    // step 4: pick the root with the encoded parity; x = 0 with sign 1 is invalid.
    f.fromMont(t, x);
    if (limbsIsZero(t, L) && sign == 1) return false;
    if ((load<u32>(t) & 1) != sign) f.neg(x, x);
    limbsCopy(out, x, L);
    limbsCopy(out + CB, y, L);
    limbsCopy(out + 2 * CB, lp(f.one), L);
    f.mul(out + 3 * CB, x, y);
    return true;
  }

  /** RFC 8032 §5.1.2 encoding of P into 32 bytes at dst. */
  encode(dst: usize, P: usize): void {
    const f = this.fp;
    const zi = this.tmp(9), x = this.tmp(10), y = this.tmp(11);
    f.pow(zi, P + 2 * CB, lp(this.pMinus2), L);
    f.mul(x, P, zi);
    f.mul(y, P + CB, zi);
    f.fromMont(x, x);
    f.fromMont(y, y);
    memory.copy(dst, y, CB);
    store<u8>(dst + 31, load<u8>(dst + 31) | <u8>((load<u32>(x) & 1) << 7));
  }

  /** 8·P = O, i.e. P is in the small (torsion) subgroup. */
  hasSmallOrder(P: usize): bool {
    const t = lp(this.acc);
    this.double(t, P);
    this.double(t, t);
    this.double(t, t);
    // 8·P can only be (0, ±1); (0, -1) has order 2, so X = 0 means 8·P = O.
    return limbsIsZero(t, L);
  }
}

let instance: Ed25519 | null = null;

function ed(): Ed25519 {
  let e = instance;
  if (e === null) instance = e = new Ed25519();
  return e;
}

/**
 * Verifies an Ed25519 signature (RFC 8032 §5.1.7): `publicKey` is the 32-byte encoding A (a
 * JWK's `x`), `signature` the 64 bytes R ‖ S. Pure Ed25519 only (no Ed25519ph/ctx).
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): bool {
  if (publicKey.length != 32 || signature.length != 64) return false;
  const e = ed();
  const s = lp(e.s);
  memory.copy(s, signature.dataStart + 32, 32); // S, little-endian
  if (e.fl.notReduced(s)) return false; // S ≥ L: non-canonical (malleable) signature
  const A = lp(e.negA);
  if (!e.decode(A, publicKey.dataStart)) return false;
  if (e.hasSmallOrder(A)) return false;
  // k = SHA-512(R ‖ A ‖ M) mod L, read little-endian: k = lo + hi·2^256.
  const hasher = e.hasher;
  hasher.updatePtr(signature.dataStart, 32);
  hasher.update(publicKey);
  hasher.update(message);
  const lo = lp(e.kHash), hi = lo + CB, k = lp(e.kScalar);
  hasher.finalInto(lo); // little-endian bytes = little-endian u32 limbs on Wasm
  const fl = e.fl;
  fl.mul(lo, lo, lp(fl.rr)); // lo·R
  fl.fromMont(lo, lo); // lo mod L
  fl.mul(hi, hi, lp(fl.rr)); // hi·R mod L = hi·2^256 mod L
  fl.add(k, lo, hi);
  // R' = [S]B + [k](-A), by interleaved wNAF; then compare encodings with R.
  e.negate(A, A);
  e.oddMultiples(lp(e.aTable), A, 1 << (A_WINDOW - 2));
  const lenS = wnaf(e.dS, s, e.k, L, B_WINDOW);
  const lenK = wnaf(e.dK, k, e.k, L, A_WINDOW);
  const len = lenS > lenK ? lenS : lenK;
  const R = lp(e.acc);
  e.setIdentity(R);
  for (let i = len - 1; i >= 0; i--) {
    e.double(R, R);
    e.addDigit(R, lp(e.bTable), i < lenS ? <i32>unchecked(e.dS[i]) : 0);
    e.addDigit(R, lp(e.aTable), i < lenK ? <i32>unchecked(e.dK[i]) : 0);
  }
  const enc = lp(e.enc);
  e.encode(enc, R);
  return constantTimeEqualPtr(enc, signature.dataStart, 32);
}
