// The protobuf wire codec (assembly/encoding/protobuf.ts): encodings checked byte for byte against
// the examples of protobuf.dev's encoding guide, round trips of every value size, and malformed
// input (truncated anywhere, overlong varints, bad wire types, lengths past the end) failing
// cleanly instead of trapping.
import { ProtoReader, ProtoWriter, WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from "../encoding/protobuf";
import { hexDecode, hexEncode } from "../encoding/hex";

function hex(buf: ArrayBuffer): string {
  return hexEncode(Uint8Array.wrap(buf));
}

function reader(h: string): ProtoReader {
  return ProtoReader.of(hexDecode(h)!.buffer);
}

/** Reads a whole message, skipping every field; whether it was well-formed. */
function wellFormed(buf: ArrayBuffer, len: i32): bool {
  const r = new ProtoReader(changetype<usize>(buf), <usize>len);
  while (r.next()) r.skip();
  return r.ok;
}

describe("ProtoWriter", () => {
  it("encodes the encoding guide's examples byte for byte", () => {
    // message Test1 { int32 a = 1; } with a = 150: 08 96 01
    expect(hex(new ProtoWriter().uint(1, 150).finish())).toBe("089601");
    // message Test2 { string b = 2; } with b = "testing": 12 07 74 65 73 74 69 6e 67
    expect(hex(new ProtoWriter().string(2, "testing").finish())).toBe("120774657374696e67");
    // message Test3 { Test1 c = 3; } with c.a = 150: 1a 03 08 96 01
    expect(hex(new ProtoWriter().message(3, new ProtoWriter().uint(1, 150)).finish())).toBe("1a03089601");
  });

  it("writes a nested message in place (begin/end) byte for byte as a separate writer would, at every length size", () => {
    const sizes: i32[] = [0, 1, 125, 126, 127, 128, 300, 16383, 16384, 70000];
    for (let i = 0; i < sizes.length; i++) {
      const body = "é".repeat(sizes[i] / 2) + (sizes[i] % 2 ? "x" : "");
      const separate = new ProtoWriter(16).uint(1, 9).message(2, new ProtoWriter(16).string(1, body).uint(2, 5)).uint(3, 7).finish();
      const w = new ProtoWriter(16).uint(1, 9);
      const mark = w.begin(2);
      w.string(1, body).uint(2, 5).end(mark).uint(3, 7);
      expect(hex(w.finish())).toBe(hex(separate));
    }
    // Nested twice, and reused after reset.
    const w = new ProtoWriter(16);
    for (let round = 0; round < 2; round++) {
      w.reset();
      const outer = w.begin(1);
      const inner = w.begin(2);
      w.string(1, "k").string(2, "v").end(inner).end(outer);
      expect(hex(w.finish())).toBe(hex(new ProtoWriter().message(1, new ProtoWriter().message(2, new ProtoWriter().string(1, "k").string(2, "v"))).finish()));
    }
  });

  it("encodes varints of every length, up to 10 bytes for u64 max", () => {
    expect(hex(new ProtoWriter().varint(0).finish())).toBe("00");
    expect(hex(new ProtoWriter().varint(127).finish())).toBe("7f");
    expect(hex(new ProtoWriter().varint(128).finish())).toBe("8001");
    expect(hex(new ProtoWriter().varint(u64.MAX_VALUE).finish())).toBe("ffffffffffffffffff01");
  });

  it("grows past its initial capacity", () => {
    const w = new ProtoWriter(16);
    const long = "x".repeat(1000);
    w.string(1, long).uint(2, 7);
    const r = ProtoReader.of(w.finish());
    expect(r.next()).toBe(true);
    expect(r.string()).toBe(long);
    expect(r.next()).toBe(true);
    expect(r.uint()).toBe(7);
    expect(r.next()).toBe(false);
    expect(r.ok).toBe(true);
  });
});

describe("ProtoReader", () => {
  it("round-trips varints of every size, strings, UTF-8 and nested messages", () => {
    const values: u64[] = [0, 1, 127, 128, 16383, 16384, 0xffffffff, 0x100000000, u64.MAX_VALUE];
    for (let i = 0; i < values.length; i++) {
      const r = ProtoReader.of(new ProtoWriter().uint(5, values[i]).finish());
      expect(r.next()).toBe(true);
      expect(r.field).toBe(5);
      expect(r.wire).toBe(WIRE_VARINT);
      expect(r.uint()).toBe(values[i]);
      expect(r.next()).toBe(false);
      expect(r.ok).toBe(true);
    }
    const outer = new ProtoWriter().string(1, "héllo 🙂").message(2, new ProtoWriter().string(1, "k").string(2, "")).uint(536870911, 3);
    const r = ProtoReader.of(outer.finish());
    expect(r.next()).toBe(true);
    expect(r.string()).toBe("héllo 🙂");
    expect(r.next()).toBe(true);
    const inner = r.message();
    expect(inner.next()).toBe(true);
    expect(inner.string()).toBe("k");
    expect(inner.next()).toBe(true);
    expect(inner.string()).toBe("");
    expect(inner.next()).toBe(false);
    expect(inner.ok).toBe(true);
    expect(r.next()).toBe(true);
    expect(r.field).toBe(536870911); // the largest field number
    expect(r.uint()).toBe(3);
    expect(r.next()).toBe(false);
    expect(r.ok).toBe(true);
  });

  it("skips fields of every wire type, so unknown fields never derail the known ones", () => {
    // 1: varint 150; 2: fixed64; 3: length-delimited "ab"; 4: fixed32; 5: varint 1
    const r = reader("089601" + "11" + "0102030405060708" + "1a026162" + "25" + "01020304" + "2801");
    const wires: u32[] = [];
    while (r.next()) {
      wires.push(r.wire);
      if (r.field == 5) expect(r.uint()).toBe(1);
      else expect(r.skip()).toBe(true);
    }
    expect(r.ok).toBe(true);
    expect(wires).toStrictEqual([WIRE_VARINT, WIRE_FIXED64, WIRE_LEN, WIRE_FIXED32, WIRE_VARINT]);
  });

  it("an empty message is well-formed: no fields", () => {
    const r = new ProtoReader(0, 0);
    expect(r.next()).toBe(false);
    expect(r.ok).toBe(true);
  });

  it("fails, without trapping, on a message truncated at any byte", () => {
    const full = new ProtoWriter().uint(1, 300).string(2, "testing").message(3, new ProtoWriter().uint(1, 150)).finish();
    expect(wellFormed(full, full.byteLength)).toBe(true);
    // Every prefix that ends inside a field is malformed; the ones that end between fields are whole messages.
    const boundaries: i32[] = [0, 3, 12, full.byteLength];
    for (let len = 0; len <= full.byteLength; len++) {
      expect(wellFormed(full, len)).toBe(boundaries.includes(len), "prefix of " + len.toString() + " bytes");
    }
  });

  it("fails on malformed input: overlong varints, group and unknown wire types, field 0, lengths past the end", () => {
    const bad: string[] = [
      "08ffffffffffffffffffff01", // an 11-byte varint
      "0b", // wire type 3 (start group)
      "0c", // wire type 4 (end group)
      "0e", // wire type 6
      "0f", // wire type 7
      "0001", // field number 0
      "0a05616263", // 5 bytes announced, 3 there
      "0affffffff0f", // a length of 4 GiB
      "11010203", // fixed64 with 3 bytes
      "15010203", // fixed32 with 3 bytes
      "80808080808001", // a tag above 32 bits
    ];
    for (let i = 0; i < bad.length; i++) {
      const buf = hexDecode(bad[i])!.buffer;
      expect(wellFormed(buf, buf.byteLength)).toBe(false, bad[i]);
    }
  });

  it("fails when a field is read as the wrong type, and stays failed", () => {
    const r = reader("089601" + "1a026162");
    expect(r.next()).toBe(true);
    expect(r.string()).toBe(""); // a varint read as a string
    expect(r.ok).toBe(false);
    expect(r.next()).toBe(false);
    const m = reader("1a026162");
    expect(m.next()).toBe(true);
    expect(m.uint()).toBe(0); // a string read as a varint
    expect(m.ok).toBe(false);
    const nested = reader("1a04" + "0a0a6162"); // the nested message's own field overruns it
    expect(nested.next()).toBe(true);
    const inner = nested.message();
    expect(inner.next()).toBe(true);
    expect(inner.skip()).toBe(false);
    expect(inner.ok).toBe(false);
  });

  it("survives random bytes: every read bounded, never a trap", () => {
    let seed: u32 = 12345;
    const buf = new ArrayBuffer(64);
    for (let round = 0; round < 5000; round++) {
      const len = <i32>(seed % 65);
      for (let i = 0; i < len; i++) {
        seed = seed * 1103515245 + 12345;
        store<u8>(changetype<usize>(buf) + <usize>i, <u8>(seed >> 16));
      }
      const r = new ProtoReader(changetype<usize>(buf), <usize>len);
      let steps = 0;
      while (r.next() && steps < 100) {
        if (r.wire == WIRE_LEN && (seed & 1) == 0) {
          const inner = r.message();
          while (inner.next()) inner.skip();
        } else r.skip();
        steps++;
      }
      seed = seed * 1103515245 + 12345;
    }
    expect(seed).not.toBe(0);
  });
});
