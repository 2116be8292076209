import { sha256, sha384, sha512, Sha256, Sha384, Sha512, Hasher } from "../crypto/sha2";
import { HashAlg, hash, digestLength, blockLength, newHasher, digestInfoPrefix } from "../crypto/hash";
import { hexEncode } from "../encoding/hex";

function ascii(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function million(): Uint8Array {
  const a = new Uint8Array(1000000);
  a.fill(0x61);
  return a;
}

const MSG448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
const MSG896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

// FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values") and the one-million-'a' vector.
describe("SHA-256", () => {
  it("matches the FIPS 180-4 vectors", () => {
    expect(hexEncode(sha256(ascii("")))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hexEncode(sha256(ascii("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hexEncode(sha256(ascii(MSG448)))).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    expect(hexEncode(sha256(ascii(MSG896)))).toBe("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    expect(hexEncode(sha256(million()))).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });
});

describe("SHA-384", () => {
  it("matches the FIPS 180-4 vectors", () => {
    expect(hexEncode(sha384(ascii("")))).toBe("38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b");
    expect(hexEncode(sha384(ascii("abc")))).toBe("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
    expect(hexEncode(sha384(ascii(MSG448)))).toBe("3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c8452b");
    expect(hexEncode(sha384(ascii(MSG896)))).toBe("09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039");
    expect(hexEncode(sha384(million()))).toBe("9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985");
  });
});

describe("SHA-512", () => {
  it("matches the FIPS 180-4 vectors", () => {
    expect(hexEncode(sha512(ascii("")))).toBe("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
    expect(hexEncode(sha512(ascii("abc")))).toBe("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    expect(hexEncode(sha512(ascii(MSG448)))).toBe("204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445");
    expect(hexEncode(sha512(ascii(MSG896)))).toBe("8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
    expect(hexEncode(sha512(million()))).toBe("e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b");
  });
});

function splitEverywhere(h: Hasher, data: Uint8Array, want: string): i32 {
  let bad = 0;
  for (let cut = 0; cut <= data.length; cut++) {
    h.updateRange(data, 0, cut);
    h.updateRange(data, cut, data.length);
    if (hexEncode(h.final()) != want) bad++;
  }
  return bad;
}

describe("incremental hashing", () => {
  it("gives the one-shot digest however the input is split, across block boundaries", () => {
    const data = new Uint8Array(300);
    for (let i = 0; i < data.length; i++) data[i] = <u8>(i * 7 + 3);
    expect(splitEverywhere(new Sha256(), data, hexEncode(sha256(data)))).toBe(0);
    expect(splitEverywhere(new Sha384(), data, hexEncode(sha384(data)))).toBe(0);
    expect(splitEverywhere(new Sha512(), data, hexEncode(sha512(data)))).toBe(0);
  });

  it("hashes a JWS signing input in pieces, without concatenating, and resets after final", () => {
    const h = new Sha256();
    h.updateString("eyJhbGciOiJIUzI1NiJ9");
    h.update(ascii("."));
    h.updateString("e30");
    expect(hexEncode(h.final())).toBe(hexEncode(sha256(ascii("eyJhbGciOiJIUzI1NiJ9.e30"))));
    expect(hexEncode(h.final())).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("treats lengths at the padding boundaries (55/56, 111/112 bytes) correctly", () => {
    // Cross-checked with node:crypto in test/unit/crypto-node-oracle.test.ts; here: self-consistency
    // of byte-at-a-time against one-shot for every length up to 2 blocks + 1.
    for (let alg = 0; alg < 3; alg++) {
      const h = newHasher(<HashAlg>alg);
      let bad = 0;
      for (let n = 0; n <= 2 * h.blockSize + 1; n++) {
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          data[i] = <u8>(n + i);
          h.updateRange(data, i, i + 1);
        }
        if (hexEncode(h.final()) != hexEncode(hash(<HashAlg>alg, data))) bad++;
      }
      expect(bad).toBe(0);
    }
  });

  it("describes the algorithms", () => {
    expect(digestLength(HashAlg.Sha256)).toBe(32);
    expect(digestLength(HashAlg.Sha384)).toBe(48);
    expect(digestLength(HashAlg.Sha512)).toBe(64);
    expect(digestLength(<HashAlg>7)).toBe(0);
    expect(blockLength(HashAlg.Sha256)).toBe(64);
    expect(blockLength(HashAlg.Sha512)).toBe(128);
    expect(digestInfoPrefix(HashAlg.Sha384).length).toBe(19);
  });
});
