import {
  newLimbs, lp, limbsFromBytes, limbsToBytes, limbsCmp, limbsAdd, limbsSub, limbsIsZero, limbsBitLength, limbsShl1,
  limbsShr1, limbsAddWord, limbsSubWord, limbsFromHex, limbsEq, Limbs,
} from "../crypto/bigint";
import { Montgomery, u64ToLimbs } from "../crypto/montgomery";
import { hexEncode, hexDecode } from "../encoding/hex";

// Expected values computed with JavaScript BigInt (see docs/crypto.md, "Tests").
const P256 = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
const A = "38189f841be5663847847494e2e816c810508231c29ac7309c6b77be740c0773";
const B = "f790cb7da48e54fd739cb0edb0f03e53d63ffd28d4043f5a2fa24df36bfc9f75";
const AB = "94ff5efff8a23c1d88fbaf52c69350280a45991cd4bfb39ea159f4a61cf54233"; // a·b mod p
const A_POW_B = "bf4e2da9a760c686ec0c30a2601ba2db5eaf58263a4b36e21590da10c377e66f"; // a^b mod p
const M2048 =
    "d206eb7b13127bb31f23f53521d900476af8e6af156bd73cb101db8c73e6f0438369bc672f8bf2dbecd513140e11c40c5163" +
    "d62064b97a37aa22ed7731b0feba0ee52dd12e8b19f4fbeefa32dcdcb10781a3cc3f88772eb23966711b32a2eae512d3424b" +
    "e6d841e576afa6c9bfd9de5f2d2bf00f25fa67a03d42bb3e243df640adcbb385603bd61a3823118ce11eb59e6ce199b9c214" +
    "2e0b79d3916acec628111d20e6af805bb89b177f0ac119d9fe3c1b355e505eeb11ef151ff0fda095e3b395325b499cccd34f" +
    "4e8bfb7969c92b1952760f0e3a8274e26cc8611d4234a0d04aca6c50ff3ac6bbd27041b0dd458b34d4c0a8d2f35f3f77ec25" +
    "c99f91781c3b";
const X =
    "750b894522879d4a02939ed0f3d30452abcc30064d9b6d7c38cb67c55a9116317e4103d6e831e4260981a9cfd0658d9e79c6" +
    "6b45191d145776a48878654dbbd2898e7f9591e2377b584ac7cf8eeb97608bb4203536a7689a6859f697d2f20c366f165d67" +
    "5e1f38adc9da3afce548d0beba8a77c2032637d07fa331bd8109866ccbe7df76f6aae90adc19a8a3b0d6072d6c4f3268ea86" +
    "89a535e28d510665dab8c4626de3cd6ae392d8b23a760697f8091bc7c277ab17b0a923465ef7adf279abb374cd9775e99c35" +
    "05f91888f96c445f150851c9ce66e089bb7b278cf128753d274cc75ee1e8a60f1b206f73a5a5ea3edd1fe57e77fcb5aac831" +
    "f24b5718e005";
const Y =
    "0cdbe8f09d3e21b5613e94f7ff5b8f117b375024d008e47f9e4a5836ce5417cee96f0e2ba442a61ba85f6a241be05e8a1044" +
    "cffaaab3a8f2507a4daae0a8bed21a8002a790754c34b2365960ab44ef1e1ccabd2463f38d94eadb293b78032dc40bf30922" +
    "33a57ce90d98a5c72566c56da0cfb955ee6d99c59db58692680302e31e9dc61ffe2889115ec2c6534d39ff941a92339a9d08" +
    "56ab9ca0747fb6c3856eb0c389e627f0eca5730efa9c20e35f9902f210d9c9858fb44b68bddd100a25336fa0b3413a1473b7" +
    "ef3e48cf8e4d771169b7b82a954fe1de79e7cee346f33ef7b8b487fee0706b5c4c3bf54c478ce8fb53c1f6ab1cc9ffe2544b" +
    "7dcb5b43f03c";
const XY =
    "4935d8956f3901fabd75eee83ee224a0a82b7c397b83e09216d225118e76e3da302cc6ad43558f34a0fe3a28b888801df472" +
    "f138a6c272f7f280fe00abd3c5ad78c3f7279791dd13af3379d893504e4565b5520c52198c63bb6a132aaed5ea94e3388817" +
    "db789f7a34f4646fec03b4948e37faebc7ac2d59b40156b2242a7f38ac6a1b63a4917120836e6d3f686547bc4df5f24e188d" +
    "2504a37b3afa95964b5680bb513dbd44e33deaf5420b0d64f9d6e554afb2eed42c350d0a1ea372ded1974d7386614201d61f" +
    "e297731e0124686b71f4e5e43ce12c2747294a2787311ebf3d01888231ec6816af9bfe5ef14dac172b5b13b7b28e88977b27" +
    "4c3ef900cdc8"; // x·y mod m
const X_POW_65537 =
    "46dde605084d517a4f9109f2086a121ae09ac9d781db39bd7c6859531de2bd18deb431765b3c2827d038cc7c6c2394db9131" +
    "2e0e64e59cea150a1b055771852305d030ff186366475fd79cd11871a77284c1f35831ffdbd8cdd91847d9f8054c28c0115f" +
    "e647578ea6391ecae11d0d1ef9923bb95a5fbf32ea0a0025304a276e90820d6aa08d7a11f89b2ae3f6a67e90a82671e536b5" +
    "df4e82fd03099482dfe29a3ae9272674e37a915a0c3110bf794c2c7b43383f6c227ce2d16f83b3030ea1e93def42cfc366d7" +
    "25ce95024c89b50f100705e82919eae33cb50f269292e6b309c18b90dba6a9885ff0e84c2612c6bc29d206f5e77dff04b1ac" +
    "6d8932f52630"; // x^65537 mod m

/** Big-endian hex into n limbs (n = the Montgomery width for the contexts used below). */
function limbsOf(hex: string, n: i32): Limbs {
  const b = hexDecode(hex)!;
  const out = newLimbs(n);
  expect(limbsFromBytes(lp(out), n, b.dataStart, b.length)).toBe(true);
  return out;
}

function hexOf(a: Limbs, bytes: i32): string {
  const out = new Uint8Array(bytes);
  limbsToBytes(out.dataStart, bytes, lp(a), a.length);
  return hexEncode(out);
}

/** a·b mod m through Montgomery form: from(mul(to(a), to(b))). */
function modMul(ctx: Montgomery, a: Limbs, b: Limbs): Limbs {
  const n = ctx.n;
  const am = newLimbs(n), bm = newLimbs(n), r = newLimbs(n);
  ctx.toMont(lp(am), lp(a));
  ctx.toMont(lp(bm), lp(b));
  ctx.mul(lp(r), lp(am), lp(bm));
  ctx.fromMont(lp(r), lp(r));
  return r;
}

function modPow(ctx: Montgomery, a: Limbs, e: Limbs): Limbs {
  const r = newLimbs(ctx.n);
  ctx.toMont(lp(r), lp(a));
  ctx.pow(lp(r), lp(r), lp(e), e.length);
  ctx.fromMont(lp(r), lp(r));
  return r;
}

describe("limb arithmetic", () => {
  it("converts big-endian bytes to limbs and back", () => {
    const a = limbsOf("0102030405060708090a", 3);
    expect(a[0]).toBe(0x0708090a);
    expect(a[1]).toBe(0x03040506);
    expect(a[2]).toBe(0x0102);
    expect(hexOf(a, 12)).toBe("00000102030405060708090a");
    expect(hexOf(a, 4)).toBe("0708090a"); // low bytes only
    const b = hexDecode("00000000ff")!;
    const one = newLimbs(1);
    expect(limbsFromBytes(lp(one), 1, b.dataStart, b.length)).toBe(true); // leading zeros fit
    const big = hexDecode("0100000000")!;
    expect(limbsFromBytes(lp(one), 1, big.dataStart, big.length)).toBe(false); // does not fit
  });

  it("adds, subtracts and compares with carries across limbs", () => {
    const a = limbsOf("ffffffffffffffff", 2);
    const one = limbsOf("01", 2);
    const s = newLimbs(2);
    expect(limbsAdd(lp(s), lp(a), lp(one), 2)).toBe(1);
    expect(limbsIsZero(lp(s), 2)).toBe(true);
    expect(limbsSub(lp(s), lp(s), lp(one), 2)).toBe(1);
    expect(limbsEq(lp(s), lp(a), 2)).toBe(true);
    expect(limbsCmp(lp(a), lp(one), 2)).toBe(1);
    expect(limbsCmp(lp(one), lp(a), 2)).toBe(-1);
    expect(limbsCmp(lp(a), lp(a), 2)).toBe(0);
    expect(limbsAddWord(lp(s), 2, 1)).toBe(1);
    expect(limbsSubWord(lp(s), 2, 1)).toBe(1);
    expect(hexOf(s, 8)).toBe("ffffffffffffffff");
  });

  it("shifts and measures bit length", () => {
    const a = limbsOf("80000001", 2);
    expect(limbsBitLength(lp(a), 2)).toBe(32);
    expect(limbsShl1(lp(a), 2)).toBe(0);
    expect(hexOf(a, 8)).toBe("0000000100000002");
    expect(limbsBitLength(lp(a), 2)).toBe(33);
    limbsShr1(lp(a), 2);
    limbsShr1(lp(a), 2);
    expect(hexOf(a, 8)).toBe("0000000040000000");
    expect(limbsBitLength(lp(newLimbs(4)), 4)).toBe(0);
    expect(hexOf(limbsFromHex("abc", 1), 4)).toBe("00000abc");
  });
});

describe("Montgomery arithmetic", () => {
  it("multiplies and exponentiates mod the P-256 prime", () => {
    const ctx = new Montgomery(limbsOf(P256, 8));
    expect(ctx.m0inv).toBe(1); // p ≡ -1 mod 2^32
    expect(hexOf(modMul(ctx, limbsOf(A, 8), limbsOf(B, 8)), 32)).toBe(AB);
    expect(hexOf(modPow(ctx, limbsOf(A, 8), limbsOf(B, 8)), 32)).toBe(A_POW_B);
    // Fermat: a^(p-1) = 1 and a·a^(p-2) = 1.
    const pm1 = limbsOf(P256, 8);
    limbsSubWord(lp(pm1), 8, 1);
    expect(hexOf(modPow(ctx, limbsOf(A, 8), pm1), 32)).toBe("0".repeat(63) + "1");
    limbsSubWord(lp(pm1), 8, 1);
    const inv = modPow(ctx, limbsOf(A, 8), pm1);
    expect(hexOf(modMul(ctx, inv, limbsOf(A, 8)), 32)).toBe("0".repeat(63) + "1");
  });

  it("computes R mod m and R² mod m for a 2048-bit modulus", () => {
    const ctx = new Montgomery(limbsOf(M2048, 64));
    expect(hexOf(modMul(ctx, limbsOf(X, 64), limbsOf(Y, 64)), 256)).toBe(XY);
    expect(hexOf(modPow(ctx, limbsOf(X, 64), u64ToLimbs(65537)), 256)).toBe(X_POW_65537);
    // R·R⁻¹: fromMont(one) = 1
    const r = newLimbs(64);
    ctx.fromMont(lp(r), lp(ctx.one));
    expect(limbsBitLength(lp(r), 64)).toBe(1);
  });

  it("agrees with u64 arithmetic on one-limb moduli (padded to the context's width)", () => {
    const moduli: u32[] = [3, 5, 0xfffffffb, 0x80000001, 0x7fffffff, 0xdeadbeef];
    let bad = 0;
    let seed: u64 = 0x9e3779b97f4a7c15;
    for (let i = 0; i < moduli.length; i++) {
      const m = moduli[i];
      const ml = newLimbs(1);
      ml[0] = m;
      const ctx = new Montgomery(ml);
      expect(ctx.n).toBe(4);
      for (let j = 0; j < 200; j++) {
        seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
        const a = <u32>(seed % <u64>m);
        const b = <u32>((seed >> 32) % <u64>m);
        const al = newLimbs(ctx.n), bl = newLimbs(ctx.n);
        al[0] = a;
        bl[0] = b;
        const prod = modMul(ctx, al, bl);
        if (<u64>prod[0] != (<u64>a * <u64>b) % <u64>m || prod[1] != 0) bad++;
        const sq = newLimbs(ctx.n);
        ctx.toMont(lp(sq), lp(al));
        ctx.sqr(lp(sq), lp(sq));
        ctx.fromMont(lp(sq), lp(sq));
        if (<u64>sq[0] != (<u64>a * <u64>a) % <u64>m) bad++;
        const sum = newLimbs(ctx.n);
        ctx.add(lp(sum), lp(al), lp(bl));
        if (<u64>sum[0] != (<u64>a + <u64>b) % <u64>m) bad++;
        ctx.sub(lp(sum), lp(al), lp(bl));
        if (<u64>sum[0] != (<u64>a + <u64>m - <u64>b) % <u64>m) bad++;
      }
    }
    expect(bad).toBe(0);
  });

  it("keeps the ring laws for moduli of every width up to 4096 bits (unrolled loops, padding)", () => {
    let bad = 0;
    let seed: u64 = 88172645463325252;
    for (let limbs = 1; limbs <= 128; limbs += limbs < 20 ? 1 : 9) {
      const m = newLimbs(limbs);
      for (let v = 0; v < 3; v++) {
        for (let i = 0; i < limbs; i++) {
          seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
          m[i] = v == 1 ? 0xffffffff : <u32>seed;
        }
        m[0] |= 1;
        if (v == 2) m[limbs - 1] = 1; // a modulus far below R
        if (limbs == 1 && m[0] == 1) m[0] = 3;
        if (m[limbs - 1] == 0) m[limbs - 1] = 1;
        const ctx = new Montgomery(m);
        const n = ctx.n;
        const a = newLimbs(n), b = newLimbs(n), c = newLimbs(n);
        const x = newLimbs(n), y = newLimbs(n), mm1 = newLimbs(n);
        memory.copy(lp(mm1), lp(ctx.m), <usize>n << 2);
        mm1[0] -= 1; // m - 1 ≡ -1
        for (let k = 0; k < 6; k++) {
          const vals = [a, b, c];
          for (let q = 0; q < 3; q++) {
            const t = vals[q];
            for (let i = 0; i < limbs; i++) {
              seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
              t[i] = <u32>seed;
            }
            t[limbs - 1] = t[limbs - 1] % m[limbs - 1]; // below m
          }
          if (k == 0) memory.copy(lp(a), lp(mm1), <usize>n << 2);
          // round trip through Montgomery form
          ctx.toMont(lp(x), lp(a));
          ctx.fromMont(lp(x), lp(x));
          if (!limbsEq(lp(x), lp(a), n)) bad++;
          // commutativity and associativity
          ctx.mul(lp(x), lp(a), lp(b));
          ctx.mul(lp(y), lp(b), lp(a));
          if (!limbsEq(lp(x), lp(y), n)) bad++;
          ctx.mul(lp(x), lp(x), lp(c));
          ctx.mul(lp(y), lp(b), lp(c));
          ctx.mul(lp(y), lp(a), lp(y));
          if (!limbsEq(lp(x), lp(y), n)) bad++;
          // a·(-1) = -a and a + (-a) = 0, in Montgomery form
          ctx.toMont(lp(x), lp(a));
          ctx.toMont(lp(y), lp(mm1));
          ctx.mul(lp(y), lp(x), lp(y));
          ctx.add(lp(y), lp(y), lp(x));
          if (!limbsIsZero(lp(y), n)) bad++;
          // (a + b) - b = a
          ctx.add(lp(x), lp(a), lp(b));
          ctx.sub(lp(x), lp(x), lp(b));
          if (!limbsEq(lp(x), lp(a), n)) bad++;
        }
      }
    }
    expect(bad).toBe(0);
  });

  it("refuses even and trivial moduli", () => {
    expect(Montgomery.isUsableModulus(limbsOf("0100", 2))).toBe(false);
    expect(Montgomery.isUsableModulus(limbsOf("01", 1))).toBe(false);
    expect(Montgomery.isUsableModulus(limbsOf("03", 1))).toBe(true);
  });
});
