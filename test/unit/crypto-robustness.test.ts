// Hostile-input robustness of the crypto library (through the crypto-harness module): strict
// base64url against a reference definition, and random garbage into every entry point, which
// must be rejected without a trap (a trap would kill the Envoy worker's Wasm VM).
import { beforeAll, describe, expect, it } from "vitest";
import { randomBytes, randomInt } from "node:crypto";
import { loadCryptoHarness, Hash, Curve, type CryptoHarness } from "../fixtures/wasm/crypto-harness/load.mjs";

let h: CryptoHarness;
beforeAll(async () => {
  h = await loadCryptoHarness();
}, 120_000);

/** The strict base64url of RFC 7515 §2, by definition: alphabet, no padding, canonical. */
function referenceDecode(text: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : null; // canonical: re-encodes identically
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const NOISE = `${ALPHABET}+/= .\n\t\u00e9\u0000~`;

describe("base64url against its definition", () => {
  it("decodes exactly the canonical unpadded strings, byte-for-byte", () => {
    for (let i = 0; i < 20000; i++) {
      const len = randomInt(0, 40);
      const pool = i % 4 === 0 ? NOISE : ALPHABET;
      let text = "";
      for (let j = 0; j < len; j++) text += pool[randomInt(0, pool.length)];
      const want = referenceDecode(text);
      const got = h.b64Decode(text, true);
      if (want === null) expect(got, JSON.stringify(text)).toBeNull();
      else expect(got && Buffer.from(got).equals(want), JSON.stringify(text)).toBe(true);
    }
  });

  it("encodes like Node and round-trips", () => {
    for (let n = 0; n < 300; n++) {
      const data = randomBytes(n);
      const text = h.b64urlEncode(data);
      expect(text).toBe(data.toString("base64url"));
      expect(Buffer.from(h.b64Decode(text, true)!).equals(data)).toBe(true);
      const std = data.toString("base64");
      expect(Buffer.from(h.b64Decode(std, false)!).equals(data)).toBe(true);
    }
  });
});

describe("garbage in, rejection out (never a trap)", () => {
  const lengths = [0, 1, 2, 31, 32, 33, 47, 48, 49, 63, 64, 65, 95, 96, 97, 255, 256, 257, 512, 513, 1024, 1025];
  const garbage = (n: number) => (randomInt(0, 4) === 0 ? Buffer.alloc(n, randomInt(0, 2) ? 0xff : 0) : randomBytes(n));

  it("RSA keys and signatures", () => {
    for (let i = 0; i < 300; i++) {
      const n = garbage(lengths[randomInt(0, lengths.length)]!);
      if (n.length > 0 && i % 2 === 0) n[n.length - 1]! |= 1; // odd, to get past the cheapest check
      const e = garbage(randomInt(0, 12));
      const k = h.rsaKey(n, e, randomInt(0, 3) === 0 ? 8 : 2048);
      if (k < 0) continue;
      for (let j = 0; j < 3; j++) {
        const sig = garbage(randomInt(0, 3) === 0 ? n.length : lengths[randomInt(0, lengths.length)]!);
        expect(h.rsaVerifyPkcs1(k, randomInt(0, 3), garbage(40), sig)).toBe(false);
        expect(h.rsaVerifyPss(k, randomInt(0, 3), garbage(40), sig, randomInt(-2, 70))).toBe(false);
      }
    }
  });

  it("EC keys and signatures", () => {
    for (let i = 0; i < 300; i++) {
      const curve = randomInt(0, 3) as 0 | 1 | 2;
      const size = [32, 48, 40][curve]!;
      const k = h.ecKey(curve, garbage(i % 3 === 0 ? size : lengths[randomInt(0, lengths.length)]!), garbage(size));
      expect(k).toBe(-1); // random coordinates are (overwhelmingly) not on the curve
    }
    // A valid key, garbage signatures of every length, including r or s = 0, n, all-ones.
    const x = Buffer.from("60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6", "hex");
    const y = Buffer.from("7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299", "hex");
    const k = h.ecKey(Curve.P256, x, y);
    expect(k).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 300; i++) {
      const sig = garbage(i % 2 === 0 ? 64 : lengths[randomInt(0, lengths.length)]!);
      expect(h.ecdsaVerify(k, randomInt(0, 3), garbage(10), sig)).toBe(false);
    }
  });

  it("Ed25519 keys and signatures", () => {
    for (let i = 0; i < 300; i++) {
      const pk = garbage(i % 2 === 0 ? 32 : lengths[randomInt(0, lengths.length)]!);
      const sig = garbage(i % 3 === 0 ? 64 : lengths[randomInt(0, lengths.length)]!);
      if (sig.length === 64 && i % 5 === 0) sig.fill(0, 32); // S = 0 gets past the S < L check
      expect(h.ed25519Verify(pk, garbage(randomInt(0, 100)), sig)).toBe(false);
    }
  });

  it("HMAC with any key, message and tag size", () => {
    for (let i = 0; i < 300; i++) {
      const alg = randomInt(0, 3);
      expect(
        h.hmacVerify(alg, garbage(randomInt(0, 300)), garbage(randomInt(0, 300)), garbage(lengths[randomInt(0, lengths.length)]!)),
      ).toBe(false);
    }
  });

  it("unknown hash algorithms are refused, not defaulted", () => {
    expect(h.sha(7, "abc").length).toBe(0);
    expect(h.hmacVerify(9, "k", "m", randomBytes(32))).toBe(false);
    expect(h.hmacVerify(Hash.SHA256, "k", "m", randomBytes(32))).toBe(false);
  });
});
