import {
  base64urlDecode, base64urlDecodePtr, base64urlDecodeBytes, base64urlEncode, base64Decode, base64DecodePtr, base64Encode,
} from "../encoding/base64url";
import { hexEncode, hexDecode } from "../encoding/hex";

function ascii(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function dec(s: string): string {
  const r = base64urlDecode(s);
  return r === null ? "null" : hexEncode(r);
}

function decStd(s: string): string {
  const r = base64Decode(s);
  return r === null ? "null" : hexEncode(r);
}

describe("base64url (RFC 4648 §5, unpadded as in RFC 7515 §2)", () => {
  it("decodes and encodes the RFC 4648 §10 vectors", () => {
    const plain = ["", "f", "fo", "foo", "foob", "fooba", "foobar"];
    const enc = ["", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"];
    for (let i = 0; i < plain.length; i++) {
      expect(dec(enc[i])).toBe(hexEncode(ascii(plain[i])), enc[i]);
      expect(base64urlEncode(ascii(plain[i]))).toBe(enc[i]);
    }
  });

  it("uses - and _ for 62 and 63", () => {
    expect(dec("-_8")).toBe("fbff");
    expect(base64urlEncode(hexDecode("fbff")!)).toBe("-_8");
    expect(dec("____")).toBe("ffffff");
    expect(dec("AAAA")).toBe("000000");
  });

  it("round-trips every single byte and every pair of bytes", () => {
    const one = new Uint8Array(1);
    for (let b = 0; b < 256; b++) {
      one[0] = <u8>b;
      expect(dec(base64urlEncode(one))).toBe(hexEncode(one));
    }
    const two = new Uint8Array(2);
    let bad = 0;
    for (let v = 0; v < 65536; v++) {
      two[0] = <u8>(v >> 8);
      two[1] = <u8>v;
      const r = base64urlDecode(base64urlEncode(two));
      if (r === null || r.length != 2 || r[0] != two[0] || r[1] != two[1]) bad++;
    }
    expect(bad).toBe(0);
  });

  it("rejects padding, the standard alphabet, whitespace and non-ASCII", () => {
    const bad = ["Zg==", "Zg=", "Zm9vYg==", "+/8", "ab/c", "ab+c", "Zm9v YmFy", "Zm9v\nYmFy", " Zm9v", "Zm9v ", "Zm\u00e99v", "Zm9v\u0000", "=", "Zm9v=", "Zm\uD83D\uDE00"];
    for (let i = 0; i < bad.length; i++) expect(dec(bad[i])).toBe("null", bad[i]);
  });

  it("rejects lengths ≡ 1 mod 4", () => {
    expect(dec("Z")).toBe("null");
    expect(dec("Zm9vY")).toBe("null");
    expect(dec("Zm9vYmFyZ")).toBe("null");
  });

  it("rejects non-canonical encodings (non-zero unused bits, RFC 4648 §3.5)", () => {
    expect(dec("Zg")).toBe("66");
    for (let c = 1; c < 16; c++) {
      // "Z" + a character whose low 4 bits are set: decodes to the same byte 0x66 if lenient.
      const alt = base64urlEncode(hexDecode("66")!).charCodeAt(1) + c;
      expect(dec("Z" + String.fromCharCode(alt))).toBe("null");
    }
    expect(dec("Zm8")).toBe("666f");
    expect(dec("Zm9")).toBe("null");
    expect(dec("Zm-")).toBe("null");
    expect(dec("AB")).toBe("null");
    expect(dec("AQ")).toBe("01");
  });

  it("decodes from bytes without a string copy, with bounds checks", () => {
    const b = ascii("xxZm9vYmFyxx");
    expect(hexEncode(base64urlDecodeBytes(b, 2, 10)!)).toBe(hexEncode(ascii("foobar")));
    expect(hexEncode(base64urlDecodePtr(b.dataStart + 2, 8)!)).toBe(hexEncode(ascii("foobar")));
    expect(base64urlDecodeBytes(b, 2, 13) === null).toBe(true);
    expect(base64urlDecodeBytes(b, -1, 4) === null).toBe(true);
    expect(base64urlDecodeBytes(b, 5, 4) === null).toBe(true);
    expect(hexEncode(base64urlDecodeBytes(b, 0, 4)!)).toBe("c71666"); // "xxZm"
  });
});

describe("standard base64 (RFC 4648 §4, padded)", () => {
  it("decodes and encodes the RFC 4648 §10 vectors", () => {
    const plain = ["", "f", "fo", "foo", "foob", "fooba", "foobar"];
    const enc = ["", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"];
    for (let i = 0; i < plain.length; i++) {
      expect(decStd(enc[i])).toBe(hexEncode(ascii(plain[i])), enc[i]);
      expect(base64Encode(ascii(plain[i]))).toBe(enc[i]);
    }
    expect(decStd("+/8=")).toBe("fbff");
    expect(base64Encode(hexDecode("fbff")!)).toBe("+/8=");
    expect(hexEncode(base64DecodePtr(ascii("Zm8=").dataStart, 4)!)).toBe("666f");
  });

  it("requires exact padding and the standard alphabet", () => {
    const bad = ["Zg", "Zg=", "Zg===", "Zm8", "Zm8==", "====", "Zm9v====", "Z===", "Zm=v", "=Zm9", "-_8=", "Zh==", "Zm9=", "Zm9v\n"];
    for (let i = 0; i < bad.length; i++) expect(decStd(bad[i])).toBe("null", bad[i]);
  });
});
