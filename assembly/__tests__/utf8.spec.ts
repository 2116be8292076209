// Lossy UTF-8 decoding of host bytes (found by the filter fuzz tests' non-UTF-8 header values:
// AssemblyScript's own decoder let an invalid byte swallow the bytes after it).
import { decodeUtf8Lossy } from "../encoding/utf8";

function decode(bytes: u8[]): string {
  const buf = new ArrayBuffer(bytes.length);
  for (let i = 0; i < bytes.length; i++) store<u8>(changetype<usize>(buf) + <usize>i, bytes[i]);
  return decodeUtf8Lossy(changetype<usize>(buf), <usize>bytes.length);
}

describe("decodeUtf8Lossy", () => {
  it("decodes well-formed UTF-8 of every length", () => {
    expect(decode([0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x99, 0x82])).toBe("aé€🙂");
    expect(decode([])).toBe("");
  });

  it("widens ASCII of every length and alignment to the same string the decoder gives", () => {
    const text = "Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig-_~!#$%&'*+^`|";
    for (let start = 0; start < 9; start++) {
      for (let len = 0; start + len <= text.length; len++) {
        const bytes = new Array<u8>(len);
        for (let i = 0; i < len; i++) bytes[i] = <u8>text.charCodeAt(start + i);
        expect(decode(bytes)).toBe(text.substr(start, len));
      }
    }
    // One non-ASCII byte anywhere in a long run leaves the fast path: still decoded right.
    expect(decode([0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0xc3, 0xa9, 0x6a])).toBe("abcdefghiéj");
    expect(decode([0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0xff])).toBe("abcdefgh\uFFFD");
  });

  it("replaces each byte that starts no well-formed sequence, keeping what follows", () => {
    expect(decode([0x61, 0xff, 0x62])).toBe("a\uFFFDb");
    expect(decode([0x70, 0x72, 0x6f, 0x64, 0xff, 0x78])).toBe("prod\uFFFDx");
    expect(decode([0xc3])).toBe("\uFFFD"); // cut short
    expect(decode([0xc0, 0xaf])).toBe("\uFFFD\uFFFD"); // overlong
    expect(decode([0xed, 0xa0, 0x80])).toBe("\uFFFD\uFFFD\uFFFD"); // a surrogate
    expect(decode([0xf4, 0x90, 0x80, 0x80])).toBe("\uFFFD\uFFFD\uFFFD\uFFFD"); // above U+10FFFF
    expect(decode([0xe2, 0x82, 0x61])).toBe("\uFFFD\uFFFDa");
    expect(decode([0xff, 0xf0, 0x9f, 0x99, 0x82, 0xc3, 0xa9])).toBe("\uFFFD🙂é");
  });

  it("stays linear on a huge invalid value (the filter fuzz tests' 200,000 0xff bytes once hung it)", () => {
    const n = 1_000_000;
    const buf = new ArrayBuffer(n);
    memory.fill(changetype<usize>(buf), 0xff, n);
    const s = decodeUtf8Lossy(changetype<usize>(buf), n);
    expect(s.length).toBe(n);
    expect(s.charCodeAt(n - 1)).toBe(0xfffd);
  });
});
