import { hmac, hmacVerify, Hmac, constantTimeEqual } from "../crypto/hmac";
import { HashAlg } from "../crypto/hash";
import { hexEncode, hexDecode } from "../encoding/hex";
import { base64urlDecode, base64urlEncode } from "../encoding/base64url";

function ascii(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function repeat(b: u8, n: i32): Uint8Array {
  const a = new Uint8Array(n);
  a.fill(b);
  return a;
}

function h(hex: string): Uint8Array {
  return hexDecode(hex)!;
}

class Rfc4231Case {
  constructor(public key: Uint8Array, public data: Uint8Array, public s256: string, public s384: string, public s512: string) {}
}

// RFC 4231 §4.2-4.8 (test case 5, truncated output, is checked on its first 128 bits).
function cases(): Rfc4231Case[] {
  return [
    new Rfc4231Case(repeat(0x0b, 20), ascii("Hi There"),
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
      "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"),
    new Rfc4231Case(ascii("Jefe"), ascii("what do ya want for nothing?"),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
      "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"),
    new Rfc4231Case(repeat(0xaa, 20), repeat(0xdd, 50),
      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
      "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
      "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"),
    new Rfc4231Case(h("0102030405060708090a0b0c0d0e0f10111213141516171819"), repeat(0xcd, 50),
      "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
      "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
      "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"),
    new Rfc4231Case(repeat(0x0c, 20), ascii("Test With Truncation"),
      "a3b6167473100ee06e0c796c2955552b",
      "3abf34c3503b2a23a46efc619baef897",
      "415fad6271580a531d4179bc891d87a6"),
    new Rfc4231Case(repeat(0xaa, 131), ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
      "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
      "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"),
    new Rfc4231Case(repeat(0xaa, 131),
      ascii("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
      "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
      "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
      "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"),
  ];
}

describe("HMAC (RFC 4231)", () => {
  it("matches every RFC 4231 vector for SHA-256, SHA-384 and SHA-512", () => {
    const all = cases();
    for (let i = 0; i < all.length; i++) {
      const c = all[i];
      const got256 = hexEncode(hmac(HashAlg.Sha256, c.key, c.data));
      const got384 = hexEncode(hmac(HashAlg.Sha384, c.key, c.data));
      const got512 = hexEncode(hmac(HashAlg.Sha512, c.key, c.data));
      const n = c.s256.length; // test case 5 compares only the first 128 bits
      expect(got256.substr(0, n)).toBe(c.s256, "case " + (i + 1).toString());
      expect(got384.substr(0, n == 32 ? 32 : got384.length)).toBe(c.s384, "case " + (i + 1).toString());
      expect(got512.substr(0, n == 32 ? 32 : got512.length)).toBe(c.s512, "case " + (i + 1).toString());
      if (n != 32) {
        expect(hmacVerify(HashAlg.Sha256, c.key, c.data, h(c.s256))).toBe(true);
        expect(hmacVerify(HashAlg.Sha512, c.key, c.data, h(c.s512))).toBe(true);
      }
    }
  });

  it("verifies RFC 7515 Appendix A.1 (HS256 JWS)", () => {
    const key = base64urlDecode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")!;
    const input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
    const mac = new Hmac(HashAlg.Sha256, key);
    mac.update(ascii(input));
    const tag = mac.final();
    expect(base64urlEncode(tag)).toBe("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    // reusable after final(): same key, same message, same tag
    mac.update(ascii(input));
    expect(mac.verify(base64urlDecode("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")!)).toBe(true);
  });

  it("rejects altered, truncated and extended tags", () => {
    const key = ascii("Jefe");
    const data = ascii("what do ya want for nothing?");
    const tag = hmac(HashAlg.Sha256, key, data);
    expect(hmacVerify(HashAlg.Sha256, key, data, tag)).toBe(true);
    for (let i = 0; i < tag.length; i++) {
      const bad = tag.slice();
      bad[i] ^= 0x01;
      expect(hmacVerify(HashAlg.Sha256, key, data, bad)).toBe(false);
    }
    expect(hmacVerify(HashAlg.Sha256, key, data, tag.subarray(0, 16))).toBe(false);
    expect(hmacVerify(HashAlg.Sha256, key, data, new Uint8Array(0))).toBe(false);
    const longer = new Uint8Array(33);
    longer.set(tag);
    expect(hmacVerify(HashAlg.Sha256, key, data, longer)).toBe(false);
  });
});

describe("constantTimeEqual", () => {
  it("compares contents and lengths", () => {
    expect(constantTimeEqual(h("00"), h("00"))).toBe(true);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(constantTimeEqual(h("0001"), h("0000"))).toBe(false);
    expect(constantTimeEqual(h("8000"), h("0000"))).toBe(false);
    expect(constantTimeEqual(h("00"), h("0000"))).toBe(false);
    expect(constantTimeEqual(h("ff"), h("fe"))).toBe(false);
  });

  it("tells apart any single flipped bit, in the 8-byte steps and in the rest, at every length to 24", () => {
    for (let len = 1; len <= 24; len++) {
      const a = new Uint8Array(len);
      for (let i = 0; i < len; i++) a[i] = <u8>(i * 37 + 11);
      const b = a.slice();
      expect(constantTimeEqual(a, b)).toBe(true);
      for (let i = 0; i < len; i++) {
        for (let bit = 0; bit < 8; bit++) {
          b[i] = <u8>(<i32>b[i] ^ (1 << bit));
          expect(constantTimeEqual(a, b)).toBe(false, "length " + len.toString() + ", byte " + i.toString() + ", bit " + bit.toString());
          b[i] = <u8>(<i32>b[i] ^ (1 << bit));
        }
      }
      expect(constantTimeEqual(a, b)).toBe(true);
    }
  });
});
