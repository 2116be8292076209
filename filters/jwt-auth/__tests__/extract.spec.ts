// tokenFromHeaderBytes (the token read from the header listing's bytes, the per-request path)
// must answer exactly what fromHeaderValue answers on the decoded value, for every value.
import { fromHeaderValue, tokenFromHeaderBytes } from "../extract";
import { decodeUtf8Lossy } from "../../../assembly/encoding/utf8";

function bytesOf(values: u8[]): ArrayBuffer {
  const buf = new ArrayBuffer(values.length);
  for (let i = 0; i < values.length; i++) store<u8>(changetype<usize>(buf) + <usize>i, values[i]);
  return buf;
}

function fromBytes(buf: ArrayBuffer, prefix: string): string | null {
  return tokenFromHeaderBytes(changetype<usize>(buf), <usize>buf.byteLength, prefix);
}

function agrees(buf: ArrayBuffer, prefix: string): void {
  const value = decodeUtf8Lossy(changetype<usize>(buf), <usize>buf.byteLength);
  const expected = fromHeaderValue(value, prefix);
  const got = fromBytes(buf, prefix);
  expect(got === null).toBe(expected === null, value + " / " + prefix);
  if (got !== null && expected !== null) expect(got).toBe(expected, value + " / " + prefix);
}

describe("tokenFromHeaderBytes", () => {
  it("reads the token after a scheme, case-insensitively, trimmed", () => {
    expect(fromBytes(String.UTF8.encode("Bearer abc.def.ghi"), "Bearer ")).toBe("abc.def.ghi");
    expect(fromBytes(String.UTF8.encode("bearer  abc \t"), "Bearer ")).toBe("abc");
    expect(fromBytes(String.UTF8.encode("Basic abc"), "Bearer ")).toBeNull();
    expect(fromBytes(String.UTF8.encode("Bearer    "), "Bearer ")).toBeNull();
    expect(fromBytes(String.UTF8.encode("Bear"), "Bearer ")).toBeNull();
    expect(fromBytes(String.UTF8.encode("  tok  "), "")).toBe("tok");
  });

  it("answers what fromHeaderValue answers on the decoded value, Unicode and invalid bytes included", () => {
    const prefixes: string[] = ["Bearer ", "", "Tok\u00e9n ", "X"];
    const values: string[] = [
      "Bearer a.b.c", "BEARER a", "Bearer \u00a0a.b\u00a0", "Bearer \u3000", "Bearer a\u00e9b", "\u00e9Bearer a",
      "Tok\u00c9n x", "tok\u00e9n  y ", "", " ", "Bearer", "x", "X y", "\u00a0tok\u00a0", "Bearer \u1680t\u1680", "Bearer a\u00a0",
    ];
    for (let i = 0; i < prefixes.length; i++) {
      for (let k = 0; k < values.length; k++) agrees(String.UTF8.encode(values[k]), prefixes[i]);
      agrees(bytesOf([0x42, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20, 0xff, 0x61]), prefixes[i]); // "Bearer \xffa"
      agrees(bytesOf([0x42, 0x65, 0x61, 0x72, 0x65, 0x72, 0x20, 0x61, 0xc3]), prefixes[i]); // cut short at the end
      agrees(bytesOf([0x42, 0xc3, 0xa9, 0x20, 0x61]), prefixes[i]); // non-ASCII inside the prefix
      agrees(bytesOf([0x20, 0x61, 0xe2, 0x82, 0x20]), prefixes[i]);
    }
  });
});
