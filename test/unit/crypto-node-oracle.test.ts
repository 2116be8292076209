// node:crypto (OpenSSL) as a second oracle for the AssemblyScript crypto library: random keys,
// messages and signatures, plus tampered variants, must get the same verdict from both.
import { beforeAll, describe, expect, it } from "vitest";
import {
  constants,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  generatePrimeSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import { promisify } from "node:util";
import { loadCryptoHarness, Hash, Curve, type CryptoHarness } from "../fixtures/wasm/crypto-harness/load.mjs";

const HASHES = [
  { alg: Hash.SHA256, name: "sha256", len: 32 },
  { alg: Hash.SHA384, name: "sha384", len: 48 },
  { alg: Hash.SHA512, name: "sha512", len: 64 },
] as const;

const genKeyPair = promisify(generateKeyPair) as unknown as (
  type: string,
  options: Record<string, unknown>,
) => Promise<{ publicKey: KeyObject; privateKey: KeyObject }>;
const b64u = (s: string | undefined) => Buffer.from(String(s), "base64url");

/** A copy with one bit flipped at a random position. */
function flip(buf: Uint8Array): Buffer {
  const out = Buffer.from(buf);
  const i = Math.floor(Math.random() * out.length);
  out[i] = out[i]! ^ (1 << Math.floor(Math.random() * 8));
  return out;
}

let h: CryptoHarness;
beforeAll(async () => {
  h = await loadCryptoHarness();
}, 120_000);

describe("SHA-2 and HMAC against node:crypto", () => {
  it("hashes random messages of every length up to 300 bytes and some long ones, in one piece and in chunks", () => {
    const lengths = [...Array(301).keys(), 1000, 4096, 65537, 1_000_000];
    for (const { alg, name } of HASHES) {
      for (const n of lengths) {
        const msg = randomBytes(n);
        const want = createHash(name).update(msg).digest("hex");
        expect(Buffer.from(h.sha(alg, msg)).toString("hex"), `${name} of ${n} bytes`).toBe(want);
        if (n < 2000) {
          const chunk = 1 + (n % 67);
          expect(Buffer.from(h.shaChunked(alg, msg, chunk)).toString("hex"), `${name} of ${n} bytes in ${chunk}-byte chunks`).toBe(want);
        }
      }
    }
  });

  it("computes HMAC for keys shorter than, equal to and longer than the block, and rejects altered tags", () => {
    for (const { alg, name, len } of HASHES) {
      for (const keyLen of [0, 1, 16, 32, 63, 64, 65, 127, 128, 129, 200]) {
        for (const msgLen of [0, 1, 55, 64, 111, 128, 300]) {
          const key = randomBytes(keyLen);
          const msg = randomBytes(msgLen);
          const want = createHmac(name, key).update(msg).digest();
          const label = `HMAC-${name} key ${keyLen} msg ${msgLen}`;
          expect(Buffer.from(h.hmac(alg, key, msg)).equals(want), label).toBe(true);
          expect(h.hmacVerify(alg, key, msg, want), label).toBe(true);
          expect(h.hmacVerify(alg, key, msg, flip(want)), `${label}, flipped tag`).toBe(false);
          expect(h.hmacVerify(alg, key, msg, want.subarray(0, len - 1)), `${label}, truncated tag`).toBe(false);
          expect(h.hmacVerify(alg, key, msg, Buffer.concat([want, Buffer.alloc(1)])), `${label}, long tag`).toBe(false);
        }
      }
    }
  });
});

describe("RSA against node:crypto", () => {
  // OpenSSL only makes even-sized moduli (asking for 2049 bits gives 2048), so the odd sizes are
  // built from primes: 2057 bits (≡ 1 mod 8) is PSS's emLen = k - 1 case, 2053 a non-aligned one.
  const specs = [
    { bits: 2048, e: 65537 },
    { bits: 2048, e: 3 },
    { bits: 2050, e: 65537 },
    { bits: 2053, e: 65537 },
    { bits: 2057, e: 65537 },
    { bits: 3072, e: 65537 },
    { bits: 4096, e: 65537 },
  ];
  const keys: { bits: number; e: number; publicKey: KeyObject; privateKey: KeyObject; handle: number }[] = [];
  beforeAll(async () => {
    const pairs = await Promise.all(
      specs.map((s) => (s.bits % 2 === 1 ? rsaFromPrimes(s.bits, s.e) : genKeyPair("rsa", { modulusLength: s.bits, publicExponent: s.e }))),
    );
    for (const [i, pair] of pairs.entries()) {
      const jwk = pair.publicKey.export({ format: "jwk" });
      const handle = h.rsaKey(b64u(jwk.n), b64u(jwk.e));
      keys.push({ ...specs[i]!, ...pair, handle });
    }
  }, 300_000);

  it("accepts every generated key with the right size", () => {
    for (const k of keys) {
      expect(k.handle, `${k.bits}-bit key`).toBeGreaterThanOrEqual(0);
      expect(k.publicKey.asymmetricKeyDetails?.modulusLength).toBe(k.bits);
      expect((h.exports.rsaKeyBits as (x: number) => number)(k.handle)).toBe(k.bits);
    }
  });

  it("agrees on RSASSA-PKCS1-v1_5 signatures, tampered signatures and messages, and wrong hashes", () => {
    for (const k of keys) {
      for (const { alg, name } of HASHES) {
        for (let i = 0; i < 4; i++) {
          const msg = randomBytes(i * 97);
          const sig = sign(name, msg, k.privateKey);
          const label = `${k.bits}-bit e=${k.e} RS-${name} #${i}`;
          expect(h.rsaVerifyPkcs1(k.handle, alg, msg, sig), label).toBe(true);
          const badSig = flip(sig);
          expect(h.rsaVerifyPkcs1(k.handle, alg, msg, badSig), `${label} flipped sig`).toBe(verify(name, msg, k.publicKey, badSig));
          expect(h.rsaVerifyPkcs1(k.handle, alg, flip(Buffer.concat([msg, Buffer.from("x")])), sig), `${label} other msg`).toBe(false);
          const other = HASHES[(alg + 1) % 3]!;
          expect(h.rsaVerifyPkcs1(k.handle, other.alg, msg, sig), `${label} verified as ${other.name}`).toBe(false);
          expect(h.rsaVerifyPkcs1(k.handle, alg, msg, sig.subarray(1)), `${label} short sig`).toBe(false);
          expect(h.rsaVerifyPkcs1(k.handle, alg, msg, Buffer.concat([Buffer.alloc(1), sig])), `${label} zero-prefixed sig`).toBe(false);
        }
      }
    }
  });

  it("agrees on RSASSA-PSS signatures for salt lengths 0, hLen and the maximum", () => {
    for (const k of keys) {
      const emLen = Math.ceil((k.bits - 1) / 8);
      for (const { alg, name, len } of HASHES) {
        for (const salt of [0, len, emLen - len - 2]) {
          const msg = randomBytes(300);
          const sig = sign(name, msg, { key: k.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: salt });
          const label = `${k.bits}-bit PS-${name} salt ${salt}`;
          expect(h.rsaVerifyPss(k.handle, alg, msg, sig, salt), label).toBe(true);
          expect(h.rsaVerifyPss(k.handle, alg, msg, flip(sig), salt), `${label} flipped sig`).toBe(false);
          expect(h.rsaVerifyPss(k.handle, alg, flip(msg), sig, salt), `${label} flipped msg`).toBe(false);
          expect(h.rsaVerifyPss(k.handle, alg, msg, sig, salt + 1), `${label} checked with salt + 1`).toBe(false);
          if (salt > 0) expect(h.rsaVerifyPss(k.handle, alg, msg, sig, salt - 1), `${label} checked with salt - 1`).toBe(false);
          expect(h.rsaVerifyPkcs1(k.handle, alg, msg, sig), `${label} as PKCS#1 v1.5`).toBe(false);
        }
        const pkcs1 = sign(name, randomBytes(10), k.privateKey);
        expect(h.rsaVerifyPss(k.handle, alg, randomBytes(10), pkcs1, len), `${k.bits}-bit PKCS#1 v1.5 sig as PSS`).toBe(false);
      }
    }
  });

  it("rejects random signature values like node:crypto", () => {
    for (const k of keys) {
      const n = b64u(k.publicKey.export({ format: "jwk" }).n);
      for (let i = 0; i < 20; i++) {
        const sig = randomBytes(n.length);
        sig[0] = sig[0]! % (n[0]! + 1); // mostly below n, sometimes not
        expect(h.rsaVerifyPkcs1(k.handle, Hash.SHA256, "m", sig)).toBe(verify("sha256", Buffer.from("m"), k.publicKey, sig));
      }
    }
  });
});

describe("ECDSA against node:crypto", () => {
  const curves = [
    { crv: "P-256", id: Curve.P256, size: 32 },
    { crv: "P-384", id: Curve.P384, size: 48 },
  ] as const;

  it("agrees on P-256 and P-384 signatures with every hash (truncation included), tampering and high-s", async () => {
    for (const c of curves) {
      for (let kIdx = 0; kIdx < 4; kIdx++) {
        const { publicKey, privateKey } = await genKeyPair("ec", { namedCurve: c.crv });
        const jwk = publicKey.export({ format: "jwk" });
        const handle = h.ecKey(c.id, b64u(jwk.x), b64u(jwk.y));
        expect(handle, `${c.crv} key`).toBeGreaterThanOrEqual(0);
        const other = await genKeyPair("ec", { namedCurve: c.crv });
        const otherJwk = other.publicKey.export({ format: "jwk" });
        const otherHandle = h.ecKey(c.id, b64u(otherJwk.x), b64u(otherJwk.y));
        for (const { alg, name } of HASHES) {
          for (let i = 0; i < 5; i++) {
            const msg = randomBytes(i * 71);
            const sig = sign(name, msg, { key: privateKey, dsaEncoding: "ieee-p1363" });
            const label = `${c.crv} key ${kIdx} ${name} #${i}`;
            expect(sig.length).toBe(2 * c.size);
            expect(h.ecdsaVerify(handle, alg, msg, sig), label).toBe(true);
            expect(h.ecdsaVerify(otherHandle, alg, msg, sig), `${label} other key`).toBe(false);
            expect(h.ecdsaVerify(handle, alg, flip(msg.length ? msg : Buffer.from("x")), sig), `${label} other msg`).toBe(false);
            const bad = flip(sig);
            expect(h.ecdsaVerify(handle, alg, msg, bad), `${label} flipped sig`).toBe(
              verify(name, msg, { key: publicKey, dsaEncoding: "ieee-p1363" }, bad),
            );
            // (r, n - s) is also a valid ECDSA signature; JWS does not forbid it, nor does node.
            const highS = negateS(sig, c.size, c.crv);
            expect(h.ecdsaVerify(handle, alg, msg, highS), `${label} (r, n - s)`).toBe(
              verify(name, msg, { key: publicKey, dsaEncoding: "ieee-p1363" }, highS),
            );
            expect(h.ecdsaVerify(handle, alg, msg, sig.subarray(1)), `${label} short`).toBe(false);
            expect(h.ecdsaVerify(handle, alg, msg, Buffer.concat([sig, Buffer.alloc(1)])), `${label} long`).toBe(false);
          }
        }
      }
    }
  });

  it("refuses points off the curve, coordinates ≥ p and wrong lengths", async () => {
    for (const c of curves) {
      const { publicKey } = await genKeyPair("ec", { namedCurve: c.crv });
      const jwk = publicKey.export({ format: "jwk" });
      const x = b64u(jwk.x),
        y = b64u(jwk.y);
      expect(h.ecKey(c.id, x, y)).toBeGreaterThanOrEqual(0);
      expect(h.ecKey(c.id, x, flip(y)), "off-curve y").toBe(-1);
      expect(h.ecKey(c.id, Buffer.alloc(c.size), Buffer.alloc(c.size)), "(0, 0)").toBe(-1);
      expect(h.ecKey(c.id, Buffer.alloc(c.size, 0xff), y), "x ≥ p").toBe(-1);
      expect(h.ecKey(c.id, x.subarray(1), y), "short x").toBe(-1);
      expect(h.ecKey(c.id, Buffer.concat([Buffer.alloc(1), x]), y), "zero-prefixed x").toBe(-1);
      expect(h.ecKey(1 - c.id, x, y), "other curve").toBe(-1);
      // y and p - y are both on the curve (the point's negation) — accepted.
      expect(h.ecKey(c.id, x, modSub(PRIMES[c.crv]!, y, c.size))).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("Ed25519 against node:crypto and RFC 8032", () => {
  // Public keys are read from SPKI DER (its last 32 bytes), not exported as JWK: Node 20's
  // Ed25519 JWK export can deadlock against a key-generation job's destructor during GC.
  const raw = (k: KeyObject) => k.export({ format: "der", type: "spki" }).subarray(-32);

  it("verifies the RFC 8032 §7.1 vectors (tests 1-3)", () => {
    const vectors = [
      [
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
      ],
      [
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
      ],
      [
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
      ],
    ];
    for (const [pk, msg, sig] of vectors) {
      expect(h.ed25519Verify(Buffer.from(pk!, "hex"), Buffer.from(msg!, "hex"), Buffer.from(sig!, "hex"))).toBe(true);
    }
  });

  it("agrees on random keys, messages and tampered signatures; refuses S + L", async () => {
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    for (let i = 0; i < 150; i++) {
      const { publicKey, privateKey } = await genKeyPair("ed25519", {});
      const pk = raw(publicKey);
      const msg = randomBytes(i * 3);
      const sig = sign(null, msg, privateKey);
      expect(h.ed25519Verify(pk, msg, sig), `Ed25519 #${i}`).toBe(true);
      const bad = flip(sig);
      expect(h.ed25519Verify(pk, msg, bad), `Ed25519 #${i} flipped sig`).toBe(verify(null, msg, publicKey, bad));
      expect(h.ed25519Verify(pk, flip(Buffer.concat([msg, Buffer.from("x")])), sig), `Ed25519 #${i} other msg`).toBe(false);
      expect(h.ed25519Verify(flip(pk), msg, sig), `Ed25519 #${i} other key`).toBe(false);
      // S + L (still < 2^256) satisfies the group equation, but is not the canonical S.
      const s = BigInt(`0x${Buffer.from(sig.subarray(32)).reverse().toString("hex")}`);
      const malleated = Buffer.concat([sig.subarray(0, 32), Buffer.from((s + L).toString(16).padStart(64, "0"), "hex").reverse()]);
      expect(h.ed25519Verify(pk, msg, malleated), `Ed25519 #${i} S + L`).toBe(false);
    }
  });
});

const ORDERS: Record<string, bigint> = {
  "P-256": 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  "P-384": 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
};
const PRIMES: Record<string, bigint> = {
  "P-256": 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  "P-384": 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
};

function toBig(b: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);
}

function fromBig(v: bigint, size: number): Buffer {
  return Buffer.from(v.toString(16).padStart(size * 2, "0"), "hex");
}

function modSub(m: bigint, b: Uint8Array, size: number): Buffer {
  return fromBig((m - toBig(b)) % m, size);
}

function negateS(sig: Uint8Array, size: number, crv: string): Buffer {
  return Buffer.concat([sig.subarray(0, size), modSub(ORDERS[crv]!, sig.subarray(size), size)]);
}

/** An RSA key pair with a modulus of exactly `bits` bits (any parity), from two random primes. */
async function rsaFromPrimes(bits: number, e: number) {
  const E = BigInt(e);
  for (;;) {
    const p = generatePrimeSync(Math.ceil(bits / 2), { bigint: true });
    const q = generatePrimeSync(Math.floor(bits / 2), { bigint: true });
    const n = p * q;
    const phi = (p - 1n) * (q - 1n);
    if (n.toString(2).length !== bits || p === q || gcd(E, phi) !== 1n) continue;
    const d = modInverse(E, phi);
    const enc = (v: bigint) => {
      const hex = v.toString(16);
      return Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex").toString("base64url");
    };
    const jwk = {
      kty: "RSA",
      n: enc(n),
      e: enc(E),
      d: enc(d),
      p: enc(p),
      q: enc(q),
      dp: enc(d % (p - 1n)),
      dq: enc(d % (q - 1n)),
      qi: enc(modInverse(q, p)),
    };
    const privateKey = createPrivateKey({ key: jwk, format: "jwk" });
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}
