// Short Weierstrass curves y² = x³ - 3x + b over prime fields: NIST P-256 and P-384 (FIPS 186-4
// §D.1.2.3-4, SEC 2 §2.4.2 / §2.5.1), with points in Jacobian coordinates (X, Y, Z) ↔ (X/Z²,
// Y/Z³) so additions need no field inversion. Field elements are kept in Montgomery form.
//
// A point is 3·L consecutive limbs (X, Y, Z; L = limbs per coordinate); Z = 0 is the point at
// infinity. Affine table points are 2·L limbs. All functions take raw pointers; outputs may
// alias inputs (results are assembled in scratch first).
//
// Both curves have cofactor 1, so any point that satisfies the equation lies in the prime-order
// group; there are no small-subgroup points to reject.
import {
  Limbs, newLimbs, lp, limbsFromHex, limbsCopy, limbsIsZero, limbsZero, limbsSubWord, limbsEq,
} from "./bigint";
import { Montgomery } from "./montgomery";

export enum CurveId {
  P256 = 0,
  P384 = 1,
}

// wNAF widths: u1·G uses a table of 2^(G_WINDOW-2) precomputed affine points (built once per
// curve); u2·Q a per-verification table of 2^(Q_WINDOW-2) Jacobian points.
export const G_WINDOW: i32 = 7;
export const Q_WINDOW: i32 = 5;

export class Curve {
  readonly id: CurveId;
  /** Limbs per coordinate / scalar. */
  readonly L: i32;
  /** Bytes per coordinate and per scalar (32, 48). */
  readonly byteLength: i32;
  readonly fp: Montgomery;
  readonly fn: Montgomery;
  /** p - 2 and n - 2: the Fermat inversion exponents. */
  readonly pMinus2: Limbs;
  readonly nMinus2: Limbs;
  /** b and the generator, in Montgomery form. */
  readonly bM: Limbs;
  readonly g: Limbs; // affine x, y
  private gTable: Limbs | null = null;
  /** 24 coordinates of scratch for the point formulas. */
  private scratch: Limbs;

  constructor(id: CurveId, L: i32, p: string, n: string, b: string, gx: string, gy: string) {
    // AssemblyScript wants every field assigned before `this` is used: compute into locals.
    const fp = new Montgomery(limbsFromHex(p, L));
    const fn = new Montgomery(limbsFromHex(n, L));
    const pMinus2 = limbsFromHex(p, L);
    limbsSubWord(lp(pMinus2), L, 2);
    const nMinus2 = limbsFromHex(n, L);
    limbsSubWord(lp(nMinus2), L, 2);
    const bM = limbsFromHex(b, L);
    fp.toMont(lp(bM), lp(bM));
    const g = newLimbs(2 * L);
    fp.toMont(lp(g), lp(limbsFromHex(gx, L)));
    fp.toMont(lp(g) + (<usize>L << 2), lp(limbsFromHex(gy, L)));
    this.id = id;
    this.L = L;
    this.byteLength = L << 2;
    this.fp = fp;
    this.fn = fn;
    this.pMinus2 = pMinus2;
    this.nMinus2 = nMinus2;
    this.bM = bM;
    this.g = g;
    this.scratch = newLimbs(24 * L);
  }

  get coordBytes(): usize {
    return <usize>this.L << 2;
  }

  get pointBytes(): usize {
    return <usize>(3 * this.L) << 2;
  }

  /** i-th scratch coordinate (0..23). */
  // @ts-ignore: decorator
  @inline
  private tmp(i: i32): usize {
    return lp(this.scratch) + <usize>(i * this.L) * 4;
  }

  /** y² = x³ - 3x + b for (x, y) in Montgomery form. */
  isOnCurve(x: usize, y: usize): bool {
    const f = this.fp;
    const lhs = this.tmp(0);
    const rhs = this.tmp(1);
    const t = this.tmp(2);
    f.sqr(lhs, y);
    f.sqr(rhs, x);
    f.mul(rhs, rhs, x); // x³
    f.add(t, x, x);
    f.add(t, t, x); // 3x
    f.sub(rhs, rhs, t);
    f.add(rhs, rhs, lp(this.bM));
    return limbsEq(lhs, rhs, this.L);
  }

  isInfinity(P: usize): bool {
    return limbsIsZero(P + 2 * this.coordBytes, this.L);
  }

  setInfinity(P: usize): void {
    limbsZero(P, 3 * this.L);
    limbsCopy(P, lp(this.fp.one), this.L); // (1, 1, 0)
    limbsCopy(P + this.coordBytes, lp(this.fp.one), this.L);
  }

  /** P = (x, y, 1) from an affine point. */
  fromAffine(P: usize, x: usize, y: usize): void {
    const c = this.coordBytes;
    limbsCopy(P, x, this.L);
    limbsCopy(P + c, y, this.L);
    limbsCopy(P + 2 * c, lp(this.fp.one), this.L);
  }

  /**
   * out = 2·P ("dbl-2001-b", a = -3: 3M + 5S). Infinity maps to infinity (Z3 = 0); there are no
   * points of order 2 (Y = 0) on a prime-order curve.
   */
  double(out: usize, P: usize): void {
    const f = this.fp;
    const c = this.coordBytes;
    const X1 = P, Y1 = P + c, Z1 = P + 2 * c;
    const delta = this.tmp(3), gamma = this.tmp(4), beta = this.tmp(5), alpha = this.tmp(6);
    const t = this.tmp(7), X3 = this.tmp(8), Y3 = this.tmp(9), Z3 = this.tmp(10);
    f.sqr(delta, Z1);
    f.sqr(gamma, Y1);
    f.mul(beta, X1, gamma);
    f.sub(t, X1, delta);
    f.add(alpha, X1, delta);
    f.mul(alpha, alpha, t);
    f.add(t, alpha, alpha);
    f.add(alpha, t, alpha); // alpha = 3(X1 - delta)(X1 + delta)
    f.sqr(X3, alpha);
    f.add(t, beta, beta);
    f.add(t, t, t);
    f.add(beta, t, t); // 8·beta (t = 4·beta kept)
    f.sub(X3, X3, beta); // X3 = alpha² - 8·beta
    f.add(Z3, Y1, Z1);
    f.sqr(Z3, Z3);
    f.sub(Z3, Z3, gamma);
    f.sub(Z3, Z3, delta); // Z3 = (Y1 + Z1)² - gamma - delta = 2·Y1·Z1
    f.sub(t, t, X3);
    f.mul(Y3, alpha, t);
    f.sqr(gamma, gamma);
    f.add(gamma, gamma, gamma);
    f.add(gamma, gamma, gamma);
    f.add(gamma, gamma, gamma); // 8·gamma²
    f.sub(Y3, Y3, gamma); // Y3 = alpha(4·beta - X3) - 8·gamma²
    limbsCopy(out, X3, this.L);
    limbsCopy(out + c, Y3, this.L);
    limbsCopy(out + 2 * c, Z3, this.L);
  }

  /**
   * out = P + Q for Jacobian P, Q ("add-1998-cmo-2": 12M + 4S), complete: P or Q at infinity,
   * P = Q (falls back to doubling) and P = -Q (gives infinity) are all handled — the cases
   * Wycheproof's PointDuplication / EdgeCaseShamirMultiplication vectors exercise.
   */
  add(out: usize, P: usize, Q: usize): void {
    const c = this.coordBytes;
    if (this.isInfinity(P)) {
      limbsCopy(out, Q, 3 * this.L);
      return;
    }
    if (this.isInfinity(Q)) {
      limbsCopy(out, P, 3 * this.L);
      return;
    }
    const f = this.fp;
    const Z1Z1 = this.tmp(11), Z2Z2 = this.tmp(12), U1 = this.tmp(13), U2 = this.tmp(14);
    const S1 = this.tmp(15), S2 = this.tmp(16);
    f.sqr(Z1Z1, P + 2 * c);
    f.sqr(Z2Z2, Q + 2 * c);
    f.mul(U1, P, Z2Z2);
    f.mul(U2, Q, Z1Z1);
    f.mul(S1, P + c, Q + 2 * c);
    f.mul(S1, S1, Z2Z2);
    f.mul(S2, Q + c, P + 2 * c);
    f.mul(S2, S2, Z1Z1);
    // Z1·Z2 now (finishAdd multiplies it by H): `out` may alias P or Q and is written last.
    const Z3 = this.tmp(17);
    f.mul(Z3, P + 2 * c, Q + 2 * c);
    this.finishAdd(out, U1, U2, S1, S2, Z3, P);
  }

  /** out = P + (x, y) for Jacobian P and an affine point (mixed addition: 8M + 3S), complete. */
  addAffine(out: usize, P: usize, x: usize, y: usize): void {
    if (this.isInfinity(P)) {
      this.fromAffine(out, x, y);
      return;
    }
    const f = this.fp;
    const c = this.coordBytes;
    const Z1Z1 = this.tmp(11), U1 = this.tmp(13), U2 = this.tmp(14), S1 = this.tmp(15), S2 = this.tmp(16);
    const Z3 = this.tmp(17);
    f.sqr(Z1Z1, P + 2 * c);
    limbsCopy(U1, P, this.L);
    f.mul(U2, x, Z1Z1);
    limbsCopy(S1, P + c, this.L);
    f.mul(S2, y, P + 2 * c);
    f.mul(S2, S2, Z1Z1);
    limbsCopy(Z3, P + 2 * c, this.L);
    this.finishAdd(out, U1, U2, S1, S2, Z3, P);
  }

  /** Shared tail of the additions; Z3 holds Z1·Z2 on entry. */
  private finishAdd(out: usize, U1: usize, U2: usize, S1: usize, S2: usize, Z3: usize, P: usize): void {
    const f = this.fp;
    const c = this.coordBytes;
    const H = this.tmp(18), r = this.tmp(19), HH = this.tmp(20), HHH = this.tmp(21), V = this.tmp(22);
    const X3 = this.tmp(23);
    f.sub(H, U2, U1);
    f.sub(r, S2, S1);
    if (limbsIsZero(H, this.L)) {
      // Same x: either the same point (double it) or its negation (the sum is infinity).
      if (limbsIsZero(r, this.L)) this.double(out, P);
      else this.setInfinity(out);
      return;
    }
    f.mul(Z3, Z3, H);
    f.sqr(HH, H);
    f.mul(HHH, H, HH);
    f.mul(V, U1, HH);
    f.sqr(X3, r);
    f.sub(X3, X3, HHH);
    f.sub(X3, X3, V);
    f.sub(X3, X3, V); // X3 = r² - H³ - 2V
    f.sub(V, V, X3);
    f.mul(V, r, V);
    f.mul(HHH, S1, HHH);
    f.sub(V, V, HHH); // Y3 = r(V - X3) - S1·H³
    limbsCopy(out, X3, this.L);
    limbsCopy(out + c, V, this.L);
    limbsCopy(out + 2 * c, Z3, this.L);
  }

  /** Affine (x, y) of a finite Jacobian P, in Montgomery form (one field inversion). */
  toAffine(x: usize, y: usize, P: usize): void {
    const f = this.fp;
    const c = this.coordBytes;
    const zi = this.tmp(0), zi2 = this.tmp(1);
    f.pow(zi, P + 2 * c, lp(this.pMinus2), this.L); // Fermat: Z^(p-2) = Z⁻¹
    f.sqr(zi2, zi);
    f.mul(x, P, zi2);
    f.mul(zi2, zi2, zi);
    f.mul(y, P + c, zi2);
  }

  /** The odd multiples G, 3G, ..., (2^(G_WINDOW-1) - 1)G as affine points, built on first use. */
  generatorTable(): Limbs {
    let table = this.gTable;
    if (table !== null) return table;
    const L = this.L;
    const entries = 1 << (G_WINDOW - 2);
    table = newLimbs(entries * 2 * L);
    const P = newLimbs(3 * L);
    const G2 = newLimbs(3 * L);
    const c = this.coordBytes;
    this.fromAffine(lp(P), lp(this.g), lp(this.g) + c);
    this.double(lp(G2), lp(P));
    for (let i = 0; i < entries; i++) {
      if (i > 0) this.add(lp(P), lp(P), lp(G2));
      const e = lp(table) + <usize>(i * 2 * L) * 4;
      this.toAffine(e, e + c, lp(P));
    }
    this.gTable = table;
    return table;
  }
}

let p256Curve: Curve | null = null;
let p384Curve: Curve | null = null;

/** NIST P-256 = secp256r1 (FIPS 186-4 §D.1.2.3). */
export function p256(): Curve {
  let c = p256Curve;
  if (c === null) {
    c = new Curve(
      CurveId.P256,
      8,
      "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
      "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
      "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
      "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
    );
    p256Curve = c;
  }
  return c;
}

/** NIST P-384 = secp384r1 (FIPS 186-4 §D.1.2.4). */
export function p384(): Curve {
  let c = p384Curve;
  if (c === null) {
    c = new Curve(
      CurveId.P384,
      12,
      "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
      "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
      "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
      "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
      "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
    );
    p384Curve = c;
  }
  return c;
}

export function curveById(id: CurveId): Curve {
  return id == CurveId.P384 ? p384() : p256();
}
