import { RsaPublicKey, rsaVerifyPkcs1v15, rsaVerifyPss, RSA_MAX_BITS } from "../crypto/rsa";
import { HashAlg, hash } from "../crypto/hash";
import { base64urlDecode } from "../encoding/base64url";
import { hexDecode } from "../encoding/hex";

// A 2048-bit key and signatures over a JWS signing input, made with node:crypto.
const N =
    "e311a15982cef05294ee53529b40d59daeb6f6b3dd839f6f2f7a3ebe19afd0634b37667c525bcea3fcc01c003ee0556a9bb7" +
    "699033a5f7193e819fa1bfc6c9128e153ca8b48d2af40e5ccfafe0fb67c4c8b4a09f42957696dd7248a9cc2caf06d6b1c804" +
    "cf446ca5cb7612275bd4cb96d35f4e21598e38b9ee5aea799ef691ccb3c1faf1230722b9f0dbdcc17dda2dd0f9a649dda12f" +
    "71b7204f718b1ca540386e7ca335c15f6422e1dba0e41f66a1c6f545fbc4612579846c7d727a6755fca132184205d07815e5" +
    "01a40f72165c04f054ba24f1b29e8efc52c7d9982ae03a2159c6a61c653c2e24ccc820a337554411dd4433b1d62669b8d8c6" +
    "b70db6088299";
const INPUT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJwb3J0aWNvIiwiaWF0IjoxNzAwMDAwMDAwfQ";
const RS256 =
    "mc3kO6basmzlrcENCDEdfP2mD6G-9l1xpyVbpCjMjv3hEiMGOXlXWHQhNzWDRoeYuIXxAd9EPrfhpcw9GRyD3nvSxMvUC65tMfQe" +
    "CZ2upUdjiH_i_e99JwBd48gOzb70CRmiTq6Yf7mmzyXbCo2mlObgSKaJV7PzxNEkx6B1kqoBXVhkP4T0UJjxXbOZ6Yl3_Qljv47s" +
    "iFoiTiItMSlNg-HsJlyjtlZqqeeEuzar8YsnSGvAf5noRphT6NJpS6taQ6IPzPd2YcyKAtrC7a7ApCKP5gpEOjYMrPQc2jrwBZ3n" +
    "1ehx9OTKVE4yEpuWWYLreQt3UkfbWiuTRkn9fYZvJw";
const RS512 =
    "0tiulBd6ti7rJIICqjs2FfKuxKcKzDb-iE1KOTgnrLZ5SUIvofXtW9baJH7Bqakeczu-WVqKhfm0oT_fxyRBw-J0e0FKqjBgWyT1" +
    "-34LsIXMOxkvJPr_MJ9DeHASkD0p4v_WL95FjVpUh1cZx3n-an2FXd9cqs94SaFHKplfmDTL_GGjwMwhvnAKryLbve-Se4Z3qohg" +
    "kzQdpGQvY9MT9yW2h4hwgLnri6tIvq_QNpXtYcLILtHq2pqmeQtfQeH3_XBCs-1dP-gF_XPctoUvXuaOrET-vju8wVh-m0Cf8Lm1" +
    "qHBAy1eRvb18DG5C96hhU3hAyhvOqZ9JJygtZ1X0gQ";
const PS256 =
    "4nm9UkBukT_aj3wc5vcrvc8BwZAQ7shvN0cZfq3l6PCBqUH01JeU5cTgV-rc_QGpVZYCYq6ThZn8eGMoFG-KAr5v1ahPN218puWY" +
    "-S-BzB2j08FpWs6y08ireaoWL-tycHV68B5uJF2z8pQ_U_cEHKQwYM-fkSRJDD4t8TdMslCouUKDdnjr81q2qYXa4T_gGHOX0PwK" +
    "24n5TviUso94Etj6NyDFcciYK7jDnVM9uQ0E9e84XO12ixD4SkCfJCWkYiOAw8nb0GuQWfINKC249pPFO7gBuPbekN045EpN-hoR" +
    "M5VX-w2wm5bj9Hm9j9RuOPIOkqgISoH9FbKw8QbBOQ";
const PS384 =
    "k47YFYq0nP5OmY26LE_7-OqPELpHBGp5-As9NVBglaE_g0XEh1PM-8injoNMrHHEBzDSBuA0Q_DBqfA2naSdT_EXqBGk7Aaq0mz-" +
    "E45ue_19MZz_8gURgH8VBMjNHPTFS4Yn_eQRkpTu_TD4xHXSNzjRApAlnPPtNsh_I4gVwiKFedJ2oQQyIh4S2YWZGq24FmImf9vv" +
    "tfS0cIvJVSXnARGEny9BoTRo9yXgPXt0yIeCBdKP-FY4vK-mneKgLFSz71SEjk6KzRV1FMZHaoZTJ7nz4WQ3oloCuKyMJExFVFOQ" +
    "2dVrfHaBO4SWAcfdOyUtnnIZ2PYRhdD8ktJeFlydmA";

function ascii(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function key(): RsaPublicKey {
  return RsaPublicKey.fromModulusExponent(hexDecode(N)!, hexDecode("010001")!)!;
}

function digest(alg: HashAlg): Uint8Array {
  return hash(alg, ascii(INPUT));
}

function sig(b64: string): Uint8Array {
  return base64urlDecode(b64)!;
}

describe("RsaPublicKey.fromModulusExponent", () => {
  it("accepts a 2048-bit key and ignores leading zero bytes", () => {
    const k = key();
    expect(k.bitLength).toBe(2048);
    expect(k.byteLength).toBe(256);
    const padded = new Uint8Array(258);
    padded.set(hexDecode(N)!, 2);
    const k2 = RsaPublicKey.fromModulusExponent(padded, hexDecode("00010001")!);
    expect(k2 !== null).toBe(true);
    expect(k2!.byteLength).toBe(256);
    expect(rsaVerifyPkcs1v15(k2!, HashAlg.Sha256, digest(HashAlg.Sha256), sig(RS256))).toBe(true);
  });

  it("refuses even moduli, short moduli, oversized moduli and bad exponents", () => {
    const n = hexDecode(N)!;
    const even = n.slice();
    even[255] &= 0xfe;
    expect(RsaPublicKey.fromModulusExponent(even, hexDecode("010001")!) === null).toBe(true);
    expect(RsaPublicKey.fromModulusExponent(n.subarray(1), hexDecode("010001")!) === null).toBe(true); // 2040 bits
    expect(RsaPublicKey.fromModulusExponent(n.subarray(1), hexDecode("010001")!, 1024) !== null).toBe(true); // explicit minBits
    const huge = new Uint8Array(RSA_MAX_BITS / 8 + 1);
    huge[0] = 1;
    huge[huge.length - 1] = 1;
    expect(RsaPublicKey.fromModulusExponent(huge, hexDecode("010001")!) === null).toBe(true);
    expect(RsaPublicKey.fromModulusExponent(n, hexDecode("010000")!) === null).toBe(true); // even e
    expect(RsaPublicKey.fromModulusExponent(n, hexDecode("01")!) === null).toBe(true); // e = 1
    expect(RsaPublicKey.fromModulusExponent(n, hexDecode("0000")!) === null).toBe(true); // e = 0
    expect(RsaPublicKey.fromModulusExponent(n, new Uint8Array(0)) === null).toBe(true);
    expect(RsaPublicKey.fromModulusExponent(new Uint8Array(0), hexDecode("03")!) === null).toBe(true);
    expect(RsaPublicKey.fromModulusExponent(n, hexDecode("010000000000000001")!) === null).toBe(true); // > 64 bits
    expect(RsaPublicKey.fromModulusExponent(n, hexDecode("03")!) !== null).toBe(true);
    // e ≥ n (only reachable with a small modulus)
    const small = hexDecode("c5")!;
    expect(RsaPublicKey.fromModulusExponent(small, hexDecode("c7")!, 8) === null).toBe(true);
    expect(RsaPublicKey.fromModulusExponent(small, hexDecode("c5")!, 8) === null).toBe(true);
    expect(RsaPublicKey.fromModulusExponent(small, hexDecode("03")!, 8) !== null).toBe(true);
  });
});

describe("RSASSA-PKCS1-v1_5", () => {
  it("verifies RS256 and RS512 signatures", () => {
    expect(rsaVerifyPkcs1v15(key(), HashAlg.Sha256, digest(HashAlg.Sha256), sig(RS256))).toBe(true);
    expect(rsaVerifyPkcs1v15(key(), HashAlg.Sha512, digest(HashAlg.Sha512), sig(RS512))).toBe(true);
  });

  it("rejects the wrong hash, the wrong digest length, other messages and altered signatures", () => {
    const k = key();
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha512, digest(HashAlg.Sha512), sig(RS256))).toBe(false);
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, digest(HashAlg.Sha512), sig(RS256))).toBe(false);
    expect(rsaVerifyPkcs1v15(k, <HashAlg>9, digest(HashAlg.Sha256), sig(RS256))).toBe(false);
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, hash(HashAlg.Sha256, ascii(INPUT + ".")), sig(RS256))).toBe(false);
    const s = sig(RS256);
    let accepted = 0;
    for (let i = 0; i < s.length; i += 7) {
      const bad = s.slice();
      bad[i] ^= 0x10;
      if (rsaVerifyPkcs1v15(k, HashAlg.Sha256, digest(HashAlg.Sha256), bad)) accepted++;
    }
    expect(accepted).toBe(0);
  });

  it("requires the signature to be exactly k bytes and below n", () => {
    const k = key();
    const s = sig(RS256);
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, digest(HashAlg.Sha256), s.subarray(1))).toBe(false);
    const longer = new Uint8Array(257);
    longer.set(s, 1);
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, digest(HashAlg.Sha256), longer)).toBe(false);
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, digest(HashAlg.Sha256), hexDecode(N)!)).toBe(false); // s = n
    const ff = new Uint8Array(256);
    ff.fill(0xff);
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, digest(HashAlg.Sha256), ff)).toBe(false); // s > n
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, digest(HashAlg.Sha256), new Uint8Array(256))).toBe(false); // s = 0
    const one = new Uint8Array(256);
    one[255] = 1;
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, digest(HashAlg.Sha256), one)).toBe(false); // s = 1
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, digest(HashAlg.Sha256), new Uint8Array(0))).toBe(false);
  });
});

describe("RSASSA-PSS", () => {
  it("verifies PS256 and PS384 signatures (salt = hash length, RFC 7518 §3.5)", () => {
    expect(rsaVerifyPss(key(), HashAlg.Sha256, digest(HashAlg.Sha256), sig(PS256), 32)).toBe(true);
    expect(rsaVerifyPss(key(), HashAlg.Sha384, digest(HashAlg.Sha384), sig(PS384), 48)).toBe(true);
  });

  it("rejects wrong salt lengths, hashes, messages, altered signatures and PKCS#1 v1.5 signatures", () => {
    const k = key();
    const d = digest(HashAlg.Sha256);
    expect(rsaVerifyPss(k, HashAlg.Sha256, d, sig(PS256), 31)).toBe(false);
    expect(rsaVerifyPss(k, HashAlg.Sha256, d, sig(PS256), 33)).toBe(false);
    expect(rsaVerifyPss(k, HashAlg.Sha256, d, sig(PS256), 0)).toBe(false);
    expect(rsaVerifyPss(k, HashAlg.Sha256, d, sig(PS256), -1)).toBe(false);
    expect(rsaVerifyPss(k, HashAlg.Sha256, d, sig(PS256), 1000000)).toBe(false);
    expect(rsaVerifyPss(k, HashAlg.Sha384, digest(HashAlg.Sha384), sig(PS256), 48)).toBe(false);
    expect(rsaVerifyPss(k, HashAlg.Sha256, hash(HashAlg.Sha256, ascii("x")), sig(PS256), 32)).toBe(false);
    expect(rsaVerifyPss(k, HashAlg.Sha256, d, sig(RS256), 32)).toBe(false);
    expect(rsaVerifyPkcs1v15(k, HashAlg.Sha256, d, sig(PS256))).toBe(false);
    const s = sig(PS256);
    let accepted = 0;
    for (let i = 0; i < s.length; i += 5) {
      const bad = s.slice();
      bad[i] ^= 0x01;
      if (rsaVerifyPss(k, HashAlg.Sha256, d, bad, 32)) accepted++;
    }
    expect(accepted).toBe(0);
  });
});
