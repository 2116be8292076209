// Montgomery arithmetic modulo an odd m of n limbs (R = 2^(32n)): the workhorse of RSA
// (m = the modulus) and of the elliptic curves (m = the field prime p or the group order n).
// Values "in Montgomery form" are a·R mod m; mul(a, b) returns a·b·R⁻¹ mod m, so products of
// Montgomery forms stay in Montgomery form and no division is ever needed.
//
// Variable time: fine for public values only (see bigint.ts).
//
// Performance note: V8 puts an interrupt check on every loop back-edge, which costs as much as
// the loop body in short limb loops, so the hot loops are unrolled four times. To make that
// unconditional the limb count is rounded up to a multiple of 4 (R only has to exceed m, so
// zero top limbs are harmless): 2048/3072/4096-bit RSA, P-256, P-384 and Ed25519 need no
// padding at all. Operands of every method have exactly `n` limbs.
import {
  Limbs, newLimbs, lp, limb, setLimb, limbsSub, limbsCmp, limbsCopy, limbsZero,
  limbsShl1, limbsBitLength, limbsBit, limbsSetWord,
} from "./bigint";

/** -m⁻¹ mod 2^32 for odd m0, by Newton iteration (each step doubles the correct low bits). */
function negInverse32(m0: u32): u32 {
  let x = m0; // m0·m0 ≡ 1 (mod 8) for odd m0: 3 correct bits
  for (let i = 0; i < 4; i++) x *= 2 - m0 * x; // 6, 12, 24, 48 bits
  return -x;
}

/** *r = *x + *y + carry; returns the new carry (0 or 1). */
// @ts-ignore: decorator
@inline
function addStep(x: usize, y: usize, r: usize, carry: u64): u64 {
  const v = <u64>load<u32>(x) + <u64>load<u32>(y) + carry;
  store<u32>(r, <u32>v);
  return v >> 32;
}

/** *r = *x - *y + borrow (borrow 0 or -1); returns the new borrow. */
// @ts-ignore: decorator
@inline
function subStep(x: usize, y: usize, r: usize, borrow: i64): i64 {
  const v = <i64>load<u32>(x) - <i64>load<u32>(y) + borrow;
  store<u32>(r, <u32>v);
  return v >> 32;
}

export class Montgomery {
  readonly n: i32;
  /** The modulus. */
  readonly m: Limbs;
  readonly m0inv: u32;
  /** R mod m: the Montgomery form of 1. */
  readonly one: Limbs;
  /** R² mod m: mul(a, rr) converts a into Montgomery form. */
  readonly rr: Limbs;
  /** Scratch for mul: n limbs. */
  private t: Limbs;
  /** Raw addresses of m and t, so the hot methods touch no managed references. */
  private mp: usize;
  private tp: usize;
  /** Scratch for pow: a window table of 16 values and one accumulator. */
  private table: Limbs | null = null;
  private acc: Limbs;

  /** Limbs needed for values below a modulus of `limbs` limbs. */
  static width(limbs: i32): i32 {
    return (limbs + 3) & ~3;
  }

  /** m must be odd and greater than 1 (callers check: RSA rejects even moduli up front). */
  constructor(modulus: Limbs) {
    const n = Montgomery.width(modulus.length);
    const m = newLimbs(n);
    limbsCopy(lp(m), lp(modulus), modulus.length);
    this.n = n;
    this.m = m;
    this.m0inv = negInverse32(unchecked(modulus[0]));
    const t = newLimbs(n);
    this.t = t;
    this.mp = lp(m);
    this.tp = lp(t);
    this.acc = newLimbs(n);
    this.one = newLimbs(n);
    this.rr = newLimbs(n);
    this.computeR();
  }

  static isUsableModulus(m: Limbs): bool {
    const n = m.length;
    return n > 0 && (unchecked(m[0]) & 1) == 1 && limbsBitLength(lp(m), n) > 1;
  }

  /** out = 2·out mod m, for out < m. */
  private double(out: usize): void {
    const carry = limbsShl1(out, this.n);
    if (carry != 0 || limbsCmp(out, lp(this.m), this.n) >= 0) limbsSub(out, out, lp(this.m), this.n);
  }

  /**
   * R mod m and R² mod m without division: start at 2^(bits(m)-1) < m and double up to R; then
   * keep doubling to get 2^j·R (the Montgomery form of 2^j) for the odd part j of 32n, and
   * square that t times (Montgomery squaring maps form(x) to form(x²)), reaching form(2^(32n)) =
   * R·R mod m. That is at most ~n + 32 doublings and ≤ 12 multiplications.
   */
  private computeR(): void {
    const n = this.n;
    const one = lp(this.one);
    const bits = limbsBitLength(lp(this.m), n);
    limbsZero(one, n);
    setLimb(one, (bits - 1) >> 5, 1 << <u32>((bits - 1) & 31));
    for (let i = bits - 1; i < n << 5; i++) this.double(one);
    let j = n << 5;
    let t = 0;
    while ((j & 1) == 0) {
      j >>= 1;
      t++;
    }
    const rr = lp(this.rr);
    limbsCopy(rr, one, n);
    for (let i = 0; i < j; i++) this.double(rr);
    for (let i = 0; i < t; i++) this.mul(rr, rr, rr);
  }

  /**
   * out = a·b·R⁻¹ mod m, fully reduced (< m), for a < R and b < m. out may alias a or b.
   * CIOS (Koç, Acar, Kaliski 1996) with the multiply and reduce passes fused into one inner
   * loop with two carries; every 32×32+32+32 step fits in a u64.
   */
  mul(out: usize, a: usize, b: usize): void {
    const n = this.n;
    const m = this.mp;
    const t = this.tp;
    const inv = this.m0inv;
    limbsZero(t, n);
    const end = t + (<usize>n << 2);
    let top: u64 = 0; // limb n of t: 0 or 1 (t < 2m throughout)
    const a0 = <u64>load<u32>(a);
    const m0 = <u64>load<u32>(m);
    for (let i = 0; i < n; i++) {
      const bi = <u64>limb(b, i);
      // j = 0: choose q0 so that the low limb of t + a·bi + q0·m vanishes.
      let p = <u64>load<u32>(t) + a0 * bi;
      let c1 = p >> 32;
      const u = <u32>p;
      const q0 = <u64>(u * inv);
      let q = <u64>u + q0 * m0;
      let c2 = q >> 32;
      // j = 1..3, then blocks of four; each step writes limb j - 1 (the division by 2^32).
      let pt = t + 4, pa = a + 4, pm = m + 4;
      p = <u64>load<u32>(pt) + <u64>load<u32>(pa) * bi + c1;
      c1 = p >> 32;
      q = (p & 0xffffffff) + q0 * <u64>load<u32>(pm) + c2;
      c2 = q >> 32;
      store<u32>(pt - 4, <u32>q);
      p = <u64>load<u32>(pt, 4) + <u64>load<u32>(pa, 4) * bi + c1;
      c1 = p >> 32;
      q = (p & 0xffffffff) + q0 * <u64>load<u32>(pm, 4) + c2;
      c2 = q >> 32;
      store<u32>(pt, <u32>q);
      p = <u64>load<u32>(pt, 8) + <u64>load<u32>(pa, 8) * bi + c1;
      c1 = p >> 32;
      q = (p & 0xffffffff) + q0 * <u64>load<u32>(pm, 8) + c2;
      c2 = q >> 32;
      store<u32>(pt, <u32>q, 4);
      pt += 12;
      pa += 12;
      pm += 12;
      while (pt < end) {
        p = <u64>load<u32>(pt) + <u64>load<u32>(pa) * bi + c1;
        c1 = p >> 32;
        q = (p & 0xffffffff) + q0 * <u64>load<u32>(pm) + c2;
        c2 = q >> 32;
        store<u32>(pt - 4, <u32>q);
        p = <u64>load<u32>(pt, 4) + <u64>load<u32>(pa, 4) * bi + c1;
        c1 = p >> 32;
        q = (p & 0xffffffff) + q0 * <u64>load<u32>(pm, 4) + c2;
        c2 = q >> 32;
        store<u32>(pt, <u32>q);
        p = <u64>load<u32>(pt, 8) + <u64>load<u32>(pa, 8) * bi + c1;
        c1 = p >> 32;
        q = (p & 0xffffffff) + q0 * <u64>load<u32>(pm, 8) + c2;
        c2 = q >> 32;
        store<u32>(pt, <u32>q, 4);
        p = <u64>load<u32>(pt, 12) + <u64>load<u32>(pa, 12) * bi + c1;
        c1 = p >> 32;
        q = (p & 0xffffffff) + q0 * <u64>load<u32>(pm, 12) + c2;
        c2 = q >> 32;
        store<u32>(pt, <u32>q, 8);
        pt += 16;
        pa += 16;
        pm += 16;
      }
      p = top + c1;
      q = (p & 0xffffffff) + c2;
      store<u32>(end - 4, <u32>q);
      top = (p >> 32) + (q >> 32);
    }
    // t < 2m: subtract m once if t ≥ m.
    const borrow = limbsSub(out, t, m, n);
    if (top == 0 && borrow != 0) limbsCopy(out, t, n);
  }

  /**
   * out = a²·R⁻¹ mod m. A dedicated squaring (cross products computed once, ~1.5n² instead of
   * 2n² word products) was measured slower than the unrolled mul under V8: its triangular loops
   * cannot be unrolled evenly, and the loop overhead outweighs the saved multiplications.
   */
  // @ts-ignore: decorator
  @inline
  sqr(out: usize, a: usize): void {
    this.mul(out, a, a);
  }

  /** out = a·R mod m (into Montgomery form), for a < R. */
  toMont(out: usize, a: usize): void {
    this.mul(out, a, lp(this.rr));
  }

  /** out = a·R⁻¹ mod m (out of Montgomery form). */
  fromMont(out: usize, a: usize): void {
    const t1 = lp(this.acc);
    limbsSetWord(t1, this.n, 1);
    this.mul(out, a, t1);
  }

  /** out = a + b mod m, for a, b < m. One pass computes both a + b (into t) and a + b - m. */
  add(out: usize, a: usize, b: usize): void {
    const m = this.mp;
    const t = this.tp;
    const n = <usize>this.n << 2;
    let c: u64 = 0;
    let borrow: i64 = 0;
    for (let off: usize = 0; off < n; off += 16) {
      c = addStep(a + off, b + off, t + off, c);
      borrow = subStep(t + off, m + off, out + off, borrow);
      c = addStep(a + off + 4, b + off + 4, t + off + 4, c);
      borrow = subStep(t + off + 4, m + off + 4, out + off + 4, borrow);
      c = addStep(a + off + 8, b + off + 8, t + off + 8, c);
      borrow = subStep(t + off + 8, m + off + 8, out + off + 8, borrow);
      c = addStep(a + off + 12, b + off + 12, t + off + 12, c);
      borrow = subStep(t + off + 12, m + off + 12, out + off + 12, borrow);
    }
    // a + b < m exactly when there was no carry out and a + b - m borrowed.
    if (c == 0 && borrow != 0) limbsCopy(out, t, this.n);
  }

  /** out = a - b mod m, for a, b < m. */
  sub(out: usize, a: usize, b: usize): void {
    const n = <usize>this.n << 2;
    let borrow: i64 = 0;
    for (let off: usize = 0; off < n; off += 16) {
      borrow = subStep(a + off, b + off, out + off, borrow);
      borrow = subStep(a + off + 4, b + off + 4, out + off + 4, borrow);
      borrow = subStep(a + off + 8, b + off + 8, out + off + 8, borrow);
      borrow = subStep(a + off + 12, b + off + 12, out + off + 12, borrow);
    }
    if (borrow == 0) return;
    const m = this.mp;
    let c: u64 = 0;
    for (let off: usize = 0; off < n; off += 16) {
      c = addStep(out + off, m + off, out + off, c);
      c = addStep(out + off + 4, m + off + 4, out + off + 4, c);
      c = addStep(out + off + 8, m + off + 8, out + off + 8, c);
      c = addStep(out + off + 12, m + off + 12, out + off + 12, c);
    }
  }

  /** out = -a mod m, for a < m. */
  neg(out: usize, a: usize): void {
    const t = lp(this.acc);
    limbsZero(t, this.n);
    this.sub(out, t, a);
  }

  /** True when a ≥ m (a has n limbs). */
  notReduced(a: usize): bool {
    return limbsCmp(a, lp(this.m), this.n) >= 0;
  }

  /**
   * out = base^e in Montgomery form, for base in Montgomery form and e given as `eLimbs` limbs
   * (e > 0). Left-to-right with a fixed 4-bit window: ≈ bits squarings + bits/4 multiplications.
   * Variable time (public exponents only: p-2, n-2, an RSA e).
   */
  pow(out: usize, base: usize, e: usize, eLimbs: i32): void {
    const n = this.n;
    let table = this.table;
    if (table === null) {
      table = newLimbs(16 * n);
      this.table = table;
    }
    const tab = lp(table);
    const stride = <usize>n << 2;
    limbsCopy(tab, lp(this.one), n); // base^0
    limbsCopy(tab + stride, base, n); // base^1
    for (let i: usize = 2; i < 16; i++) this.mul(tab + i * stride, tab + (i - 1) * stride, base);
    const acc = lp(this.acc);
    const bits = limbsBitLength(e, eLimbs);
    if (bits == 0) {
      limbsCopy(out, lp(this.one), n);
      return;
    }
    // Process the exponent in 4-bit windows from the top; the first window sets acc directly.
    let top = (bits - 1) & ~3;
    let first = true;
    for (let i = top; i >= 0; i -= 4) {
      let w: u32 = 0;
      for (let k = 3; k >= 0; k--) w = (w << 1) | (i + k < bits ? limbsBit(e, i + k) : 0);
      if (first) {
        limbsCopy(acc, tab + <usize>w * stride, n);
        first = false;
        continue;
      }
      for (let k = 0; k < 4; k++) this.mul(acc, acc, acc);
      if (w != 0) this.mul(acc, acc, tab + <usize>w * stride);
    }
    limbsCopy(out, acc, n);
  }
}

/** Expands a u64 into two limbs (for small exponents). */
export function u64ToLimbs(v: u64): Limbs {
  const l = newLimbs(2);
  unchecked((l[0] = <u32>v));
  unchecked((l[1] = <u32>(v >>> 32)));
  return l;
}
