import { EcPublicKey, CurveId, ecdsaVerify } from "../crypto/ecdsa";
import { Curve, p256, p384 } from "../crypto/ec";
import { newLimbs, lp, limbsBit, limbsBitLength, limbsEq, Limbs } from "../crypto/bigint";
import { HashAlg, hash } from "../crypto/hash";
import { hexDecode, hexEncode } from "../encoding/hex";

function ascii(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function h(hex: string): Uint8Array {
  return hexDecode(hex)!;
}

/** k·P by plain double-and-add (the reference the verifier's wNAF code is checked against). */
function scalarMul(c: Curve, k: Limbs, P: Limbs): Limbs {
  const R = newLimbs(3 * c.L);
  c.setInfinity(lp(R));
  for (let i = limbsBitLength(lp(k), k.length) - 1; i >= 0; i--) {
    c.double(lp(R), lp(R));
    if (limbsBit(lp(k), i) != 0) c.add(lp(R), lp(R), lp(P));
  }
  return R;
}

function generator(c: Curve): Limbs {
  const G = newLimbs(3 * c.L);
  c.fromAffine(lp(G), lp(c.g), lp(c.g) + c.coordBytes);
  return G;
}

function checkGroup(c: Curve): void {
  const gx = lp(c.g), gy = gx + c.coordBytes;
  expect(c.isOnCurve(gx, gy)).toBe(true);
  const G = generator(c);
  // n·G = O, (n-1)·G = -G, G + G = 2G, G + (-G) = O
  expect(c.isInfinity(lp(scalarMul(c, c.fn.m, G)))).toBe(true);
  const nm1 = newLimbs(c.L);
  memory.copy(lp(nm1), lp(c.fn.m), c.coordBytes);
  nm1[0] -= 1;
  const negG = scalarMul(c, nm1, G);
  const x = newLimbs(c.L), y = newLimbs(c.L), ny = newLimbs(c.L);
  c.toAffine(lp(x), lp(y), lp(negG));
  c.fp.neg(lp(ny), gy);
  expect(limbsEq(lp(x), gx, c.L)).toBe(true);
  expect(limbsEq(lp(y), lp(ny), c.L)).toBe(true);
  const sum = newLimbs(3 * c.L);
  c.add(lp(sum), lp(G), lp(negG));
  expect(c.isInfinity(lp(sum))).toBe(true);
  const twice = newLimbs(3 * c.L), dbl = newLimbs(3 * c.L);
  c.add(lp(twice), lp(G), lp(G));
  c.double(lp(dbl), lp(G));
  const x1 = newLimbs(c.L), y1 = newLimbs(c.L), x2 = newLimbs(c.L), y2 = newLimbs(c.L);
  c.toAffine(lp(x1), lp(y1), lp(twice));
  c.toAffine(lp(x2), lp(y2), lp(dbl));
  expect(limbsEq(lp(x1), lp(x2), c.L) && limbsEq(lp(y1), lp(y2), c.L)).toBe(true);
  expect(c.isOnCurve(lp(x1), lp(y1))).toBe(true);
  // the precomputed table holds odd multiples on the curve
  const t = c.generatorTable();
  for (let i = 0; i < t.length / (2 * c.L); i++) {
    const e = lp(t) + <usize>(i * 2 * c.L) * 4;
    expect(c.isOnCurve(e, e + c.coordBytes)).toBe(true);
  }
}

describe("curve arithmetic", () => {
  it("P-256: G is on the curve and has order n; addition handles doubling and inverses", () => {
    checkGroup(p256());
  });
  it("P-384: G is on the curve and has order n; addition handles doubling and inverses", () => {
    checkGroup(p384());
  });
});

// RFC 6979 §A.2.5: P-256, SHA-256, message "sample".
const U_X = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
const U_Y = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
const SIG_SAMPLE = "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";
const N256 = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
// P-384 key and ES384 signature over a JWS signing input, made with node:crypto.
const P384_X = "931511ad1d295d495106c8c27258fb863500e342c9642ec8071f84e7cd72b952a3e72467a233d3720bc8ecb2cba6104c";
const P384_Y = "2c6fe43f01da92efc632024a5fad8c18755173992f649e5fdbfcb1ed793aac18e217549b910ed0d303b0996b8e280e05";
const INPUT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJwb3J0aWNvIiwiaWF0IjoxNzAwMDAwMDAwfQ";
const ES384 =
    "589afd0b199e13fc7354b3adb1ded3f49372307031c677c9f15fbf261fbd56a39e5d4e5f6ea71dc5d3550232e73c0dec5b5d" +
    "8f66617315695e1cb8fbcda19564ebd0f6b7371c6ba4578c636c33056f9f699fc3e81daa38c5b78f354c0dff0833";

describe("ECDSA P-256", () => {
  it("verifies the RFC 6979 A.2.5 signature", () => {
    const k = EcPublicKey.fromAffine(CurveId.P256, h(U_X), h(U_Y))!;
    expect(ecdsaVerify(k, HashAlg.Sha256, hash(HashAlg.Sha256, ascii("sample")), h(SIG_SAMPLE))).toBe(true);
    expect(ecdsaVerify(k, HashAlg.Sha256, hash(HashAlg.Sha256, ascii("samplf")), h(SIG_SAMPLE))).toBe(false);
  });

  it("rejects r or s of 0, n or above, and signatures of the wrong size", () => {
    const k = EcPublicKey.fromAffine(CurveId.P256, h(U_X), h(U_Y))!;
    const d = hash(HashAlg.Sha256, ascii("sample"));
    const r = SIG_SAMPLE.substr(0, 64), s = SIG_SAMPLE.substr(64);
    const zero = "0".repeat(64);
    expect(ecdsaVerify(k, HashAlg.Sha256, d, h(zero + s))).toBe(false);
    expect(ecdsaVerify(k, HashAlg.Sha256, d, h(r + zero))).toBe(false);
    expect(ecdsaVerify(k, HashAlg.Sha256, d, h(zero + zero))).toBe(false); // CVE-2022-21449
    expect(ecdsaVerify(k, HashAlg.Sha256, d, h(N256 + s))).toBe(false);
    expect(ecdsaVerify(k, HashAlg.Sha256, d, h(r + N256))).toBe(false);
    expect(ecdsaVerify(k, HashAlg.Sha256, d, h("f".repeat(64) + s))).toBe(false);
    expect(ecdsaVerify(k, HashAlg.Sha256, d, h(SIG_SAMPLE).subarray(1))).toBe(false);
    expect(ecdsaVerify(k, HashAlg.Sha256, d, h("00" + SIG_SAMPLE))).toBe(false);
    expect(ecdsaVerify(k, HashAlg.Sha256, d, new Uint8Array(0))).toBe(false);
    expect(ecdsaVerify(k, HashAlg.Sha384, d, h(SIG_SAMPLE))).toBe(false); // digest length ≠ SHA-384
  });

  it("validates public keys: on the curve, coordinates < p, full length", () => {
    expect(EcPublicKey.fromAffine(CurveId.P256, h(U_X), h(U_Y)) !== null).toBe(true);
    const badY = h(U_Y);
    badY[31] ^= 1;
    expect(EcPublicKey.fromAffine(CurveId.P256, h(U_X), badY) === null).toBe(true);
    expect(EcPublicKey.fromAffine(CurveId.P256, new Uint8Array(32), new Uint8Array(32)) === null).toBe(true);
    const p = h("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    expect(EcPublicKey.fromAffine(CurveId.P256, p, h(U_Y)) === null).toBe(true);
    expect(EcPublicKey.fromAffine(CurveId.P256, h(U_X).subarray(1), h(U_Y)) === null).toBe(true);
    expect(EcPublicKey.fromAffine(CurveId.P384, h(U_X), h(U_Y)) === null).toBe(true);
    expect(EcPublicKey.fromAffine(<CurveId>5, h(U_X), h(U_Y)) === null).toBe(true);
    expect(EcPublicKey.fromUncompressed(CurveId.P256, h("04" + U_X + U_Y)) !== null).toBe(true);
    expect(EcPublicKey.fromUncompressed(CurveId.P256, h("02" + U_X + U_Y)) === null).toBe(true);
    expect(EcPublicKey.fromUncompressed(CurveId.P256, h("04" + U_X)) === null).toBe(true);
  });
});

describe("ECDSA P-384", () => {
  it("verifies an ES384 signature and rejects altered ones", () => {
    const k = EcPublicKey.fromAffine(CurveId.P384, h(P384_X), h(P384_Y))!;
    const d = hash(HashAlg.Sha384, ascii(INPUT));
    const s = h(ES384);
    expect(s.length).toBe(96);
    expect(ecdsaVerify(k, HashAlg.Sha384, d, s)).toBe(true);
    let accepted = 0;
    for (let i = 0; i < s.length; i += 3) {
      const bad = s.slice();
      bad[i] ^= 0x80;
      if (ecdsaVerify(k, HashAlg.Sha384, d, bad)) accepted++;
    }
    expect(accepted).toBe(0);
    expect(ecdsaVerify(k, HashAlg.Sha384, d, s.subarray(0, 64))).toBe(false);
  });
});
