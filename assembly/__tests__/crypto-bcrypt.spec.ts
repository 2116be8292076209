import { sha1, Sha1 } from "../crypto/sha1";
import { bcryptBase64Decode, bcryptHashString, parseBcrypt, bcryptProblem } from "../crypto/bcrypt";
import { hexEncode } from "../encoding/hex";

function ascii(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function bytes(list: i32[]): Uint8Array {
  const out = new Uint8Array(list.length);
  for (let i = 0; i < list.length; i++) out[i] = <u8>list[i];
  return out;
}

function repeat(b: i32, n: i32): Uint8Array {
  const out = new Uint8Array(n);
  out.fill(<u8>b);
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** bcrypt of `pw` under the setting (cost and salt) of `expected`, as a full hash string. */
function rehash(pw: Uint8Array, expected: string): string {
  const h = parseBcrypt(expected);
  if (h === null) return "unparsable: " + bcryptProblem(expected);
  return bcryptHashString(h.minor, h.cost, h.salt, pw);
}

// FIPS 180-4 / NIST CSRC "Examples with Intermediate Values", and the one-million-'a' vector.
describe("SHA-1", () => {
  it("matches the FIPS 180 vectors", () => {
    expect(hexEncode(sha1(ascii("")))).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect(hexEncode(sha1(ascii("abc")))).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(hexEncode(sha1(ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")))).toBe("84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    expect(hexEncode(sha1(ascii("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")))).toBe("a49b2446a02c645bf419f995b67091253a04a259");
    expect(hexEncode(sha1(repeat(0x61, 1000000)))).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });

  it("gives the same digest fed in pieces across block boundaries", () => {
    const msg = repeat(0x62, 200);
    const want = hexEncode(sha1(msg));
    const h = new Sha1();
    for (let i = 0; i < 200; i += 7) h.updateRange(msg, i, i + 7);
    expect(hexEncode(h.final())).toBe(want);
  });
});

// jBCrypt's published vectors (Damien Miller, reproduced by py-bcrypt and Go's bcrypt tests), and
// crypt_blowfish's (Openwall; also in John the Ripper and PHP's tests) for 8-bit bytes, the
// 72-byte cut and $2y$.
describe("bcrypt", () => {
  it("matches jBCrypt's vectors at costs 6 and 8", () => {
    const cases: string[][] = [
      ["", "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s."],
      ["", "$2a$08$HqWuK6/Ng6sg9gQzbLrgb.Tl.ZHfXLhvt/SgVyWhQqgqcZ7ZuUtye"],
      ["a", "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe"],
      ["a", "$2a$08$cfcvVd2aQ8CMvoMpP2EBfeodLEkkFJ9umNEfPD18.hUF62qqlC/V."],
      ["abc", "$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i"],
      ["abc", "$2a$08$Ro0CUfOqk6cXEKf3dyaM7OhSCvnwM9s4wIX9JeLapehKK5YdLxKcm"],
      ["abcdefghijklmnopqrstuvwxyz", "$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC"],
      ["abcdefghijklmnopqrstuvwxyz", "$2a$08$aTsUwsyowQuzRrDqFflhgekJ8d9/7Z3GV3UcgvzQW3J5zMyrTvlz."],
      ["~!@#$%^&*()      ~!@#$%^&*()PNBFRD", "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO"],
      ["~!@#$%^&*()      ~!@#$%^&*()PNBFRD", "$2a$08$Eq2r4G/76Wv39MzSX262huzPz612MZiYHVUJe/OcOql2jo4.9UxTW"],
    ];
    for (let i = 0; i < cases.length; i++) expect(rehash(ascii(cases[i][0]), cases[i][1])).toBe(cases[i][1]);
  });

  it("matches crypt_blowfish's vectors, including 8-bit bytes and the 72-byte cut", () => {
    expect(rehash(ascii("U*U"), "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")).toBe("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
    expect(rehash(ascii("U*U*"), "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK")).toBe("$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK");
    expect(rehash(ascii("U*U*U"), "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a")).toBe("$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a");
    expect(rehash(ascii(""), "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy")).toBe("$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy");
    const long = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored";
    expect(rehash(ascii(long), "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui")).toBe("$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui");
    expect(rehash(bytes([0xa3]), "$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq")).toBe("$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq");
    expect(rehash(bytes([0xff, 0xa3, 0x33, 0x34, 0x35]), "$2y$05$/OK.fbVrR/bpIqNJ5ianF.nRht2l/HRhr6zmCp9vYUvvsqynflf9e")).toBe("$2y$05$/OK.fbVrR/bpIqNJ5ianF.nRht2l/HRhr6zmCp9vYUvvsqynflf9e");
    expect(rehash(bytes([0xa3, 0x61, 0x62]), "$2y$05$/OK.fbVrR/bpIqNJ5ianF.6IflQkJytoRVc1yuaNtHfiuq.FRlSIS")).toBe("$2y$05$/OK.fbVrR/bpIqNJ5ianF.6IflQkJytoRVc1yuaNtHfiuq.FRlSIS");
    const aa = concat(repeat(0xaa, 72), ascii("chars after 72 are ignored as usual"));
    expect(rehash(aa, "$2a$05$/OK.fbVrR/bpIqNJ5ianF.swQOIzjOiJ9GHEPuhEkvqrUyvWhEMx6")).toBe("$2a$05$/OK.fbVrR/bpIqNJ5ianF.swQOIzjOiJ9GHEPuhEkvqrUyvWhEMx6");
  });

  it("reads only the first 72 bytes of a password, and every one of them", () => {
    const h = parseBcrypt("$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui");
    expect(h === null).toBe(false);
    const p72 = repeat(0x41, 72);
    const base = bcryptHashString("b", 4, h!.salt, p72);
    expect(bcryptHashString("b", 4, h!.salt, concat(p72, ascii("anything")))).toBe(base);
    const p71 = repeat(0x41, 71);
    expect(bcryptHashString("b", 4, h!.salt, p71)).not.toBe(base);
    const last = repeat(0x41, 72);
    last[71] = 0x42;
    expect(bcryptHashString("b", 4, h!.salt, last)).not.toBe(base);
  });

  it("parses only canonical $2a$/$2b$/$2y$ strings and says why it refuses the rest", () => {
    const good = "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.";
    const h = parseBcrypt(good);
    expect(h === null).toBe(false);
    expect(h!.cost).toBe(6);
    expect(h!.toString()).toBe(good);
    expect(parseBcrypt("$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e") === null).toBe(true);
    expect(bcryptProblem("$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e").includes("$2x$")).toBe(true);
    expect(parseBcrypt("$2a$03$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.") === null).toBe(true);
    expect(bcryptProblem("$2a$03$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.").includes("cost")).toBe(true);
    expect(bcryptProblem(good)).toBe("");
    expect(parseBcrypt("$2a$6$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.") === null).toBe(true);
    expect(parseBcrypt(good.substring(0, 59)) === null).toBe(true);
    // "/" and "." differ only in the low bits the 22nd salt character leaves unused.
    expect(parseBcrypt("$2a$06$DCq7YPn5Rq63x1Lad4cll/TV4S6ytwfsfvkgY8jIucDrjc8deX1s.") === null).toBe(true);
    expect(parseBcrypt("$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s!") === null).toBe(true);
  });

  it("decodes bcrypt base64 to exact lengths only", () => {
    expect(bcryptBase64Decode("..", 1) === null).toBe(false);
    expect(bcryptBase64Decode("...", 1) === null).toBe(true);
    expect(bcryptBase64Decode(".", 1) === null).toBe(true);
    expect(bcryptBase64Decode(".=", 1) === null).toBe(true);
  });
});
