import { ed25519Verify } from "../crypto/ed25519";
import { hexDecode } from "../encoding/hex";

function h(hex: string): Uint8Array {
  return hexDecode(hex)!;
}

// RFC 8032 §7.1, tests 1-3 (pure Ed25519).
const PK1 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const SIG1 = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
const PK2 = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
const SIG2 = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";
const PK3 = "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025";
const SIG3 = "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a";
// SIG1 with S replaced by S + L: the same point equation holds, but S is not canonical.
const SIG1_S_PLUS_L = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901554c8c7872aa064e049dbb3013fbf29380d25bf5f0595bbe24655141438e7a101b";

// Encodings of the eight small-order points (the torsion subgroup).
const SMALL_ORDER: string[] = [
  "0100000000000000000000000000000000000000000000000000000000000000", // identity
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // (0, -1), order 2
  "0000000000000000000000000000000000000000000000000000000000000000", // order 4
  "0000000000000000000000000000000000000000000000000000000000000080", // order 4
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
];

describe("Ed25519 (RFC 8032)", () => {
  it("verifies the RFC 8032 §7.1 test vectors", () => {
    expect(ed25519Verify(h(PK1), new Uint8Array(0), h(SIG1))).toBe(true);
    expect(ed25519Verify(h(PK2), h("72"), h(SIG2))).toBe(true);
    expect(ed25519Verify(h(PK3), h("af82"), h(SIG3))).toBe(true);
  });

  it("rejects other messages, keys and altered signatures", () => {
    expect(ed25519Verify(h(PK1), h("00"), h(SIG1))).toBe(false);
    expect(ed25519Verify(h(PK2), h("73"), h(SIG2))).toBe(false);
    expect(ed25519Verify(h(PK2), h("af82"), h(SIG3))).toBe(false);
    const s = h(SIG3);
    let accepted = 0;
    for (let i = 0; i < 64; i++) {
      const bad = s.slice();
      bad[i] ^= <u8>(1 << <u8>(i & 7));
      if (ed25519Verify(h(PK3), h("af82"), bad)) accepted++;
    }
    expect(accepted).toBe(0);
  });

  it("rejects S ≥ L (RFC 8032 §5.1.7 step 1)", () => {
    expect(ed25519Verify(h(PK1), new Uint8Array(0), h(SIG1_S_PLUS_L))).toBe(false);
    const s = h(SIG1);
    for (let i = 32; i < 64; i++) s[i] = 0xff;
    expect(ed25519Verify(h(PK1), new Uint8Array(0), s)).toBe(false);
  });

  it("rejects wrong lengths", () => {
    expect(ed25519Verify(h(PK1).subarray(1), new Uint8Array(0), h(SIG1))).toBe(false);
    expect(ed25519Verify(h(PK1), new Uint8Array(0), h(SIG1).subarray(1))).toBe(false);
    expect(ed25519Verify(h(PK1), new Uint8Array(0), new Uint8Array(0))).toBe(false);
  });

  it("rejects small-order public keys, even with the signature they make valid for every message", () => {
    // Under A = O, (R = O, S = 0) satisfies [S]B = R + [k]A for any message.
    const trivial = h("0100000000000000000000000000000000000000000000000000000000000000" + "00".repeat(32));
    for (let i = 0; i < SMALL_ORDER.length; i++) {
      expect(ed25519Verify(h(SMALL_ORDER[i]), h("deadbeef"), trivial)).toBe(false, SMALL_ORDER[i]);
      expect(ed25519Verify(h(SMALL_ORDER[i]), new Uint8Array(0), h(SIG1))).toBe(false);
    }
  });

  it("rejects non-canonical and invalid point encodings", () => {
    // y = p, y = p + 1 (≡ 1): not canonical (§5.1.3 step 1)
    expect(ed25519Verify(h("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), new Uint8Array(0), h(SIG1))).toBe(false);
    expect(ed25519Verify(h("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"), new Uint8Array(0), h(SIG1))).toBe(false);
    // x = 0 with the sign bit set (§5.1.3 step 4): y = 1 encoded with bit 255 set
    expect(ed25519Verify(h("0100000000000000000000000000000000000000000000000000000000000080"), new Uint8Array(0), h(SIG1))).toBe(false);
    // y = 2 has no x on the curve
    expect(ed25519Verify(h("0200000000000000000000000000000000000000000000000000000000000000"), new Uint8Array(0), h(SIG1))).toBe(false);
    // the same y with the other sign of x is a different (valid) key
    const pk1 = h(PK1);
    pk1[31] ^= 0x80; // the other x: a different key
    expect(ed25519Verify(pk1, new Uint8Array(0), h(SIG1))).toBe(false);
  });
});
