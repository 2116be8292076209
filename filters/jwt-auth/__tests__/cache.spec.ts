// The fingerprint the verified-token cache is keyed by reads every byte. (The cache's own rules,
// a hit needs the exact token for the same provider, are tested through the filter in
// test/jwt-auth.test.ts: as-pect cannot compile its reflection of the cache's entries.)
import { fingerprint } from "../cache";

describe("fingerprint", () => {
  it("changes when any one byte changes, whole words and the tail alike", () => {
    const len = 37; // four 8-byte words and a 5-byte tail
    const buf = new Uint8Array(len);
    for (let i = 0; i < len; i++) buf[i] = <u8>(i * 7 + 1);
    const base = fingerprint(buf.dataStart, len);
    for (let i = 0; i < len; i++) {
      buf[i] ^= 0x40;
      expect(fingerprint(buf.dataStart, len)).not.toBe(base, "byte " + i.toString());
      buf[i] ^= 0x40;
    }
    expect(fingerprint(buf.dataStart, len)).toBe(base);
  });

  it("tells lengths apart, also of zero bytes", () => {
    const buf = new Uint8Array(16);
    expect(fingerprint(buf.dataStart, 8)).not.toBe(fingerprint(buf.dataStart, 9));
    expect(fingerprint(buf.dataStart, 0)).not.toBe(fingerprint(buf.dataStart, 16));
  });
});
