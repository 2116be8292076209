import { parseJson, parseJsonBuffer, JsonKind } from "../json";
import { quoteJson } from "../json/value";

function bytes(list: i32[]): ArrayBuffer {
  const b = new Uint8Array(list.length);
  for (let i = 0; i < list.length; i++) b[i] = <u8>list[i];
  return b.buffer;
}

describe("strict JSON parser", () => {
  it("parses nested documents and keeps member order", () => {
    const r = parseJson('{"b": [1, 2.5, -3e2, true, null], "a": {"x": "y\\u00e9\\n"}}');
    expect(r.ok).toBe(true);
    const v = r.value!;
    expect(v.keyAt(0)).toBe("b");
    expect(v.keyAt(1)).toBe("a");
    const b = v.get("b")!;
    expect(b.length).toBe(5);
    expect(b.at(0).num).toBe(1.0);
    expect(b.at(0).integral).toBe(true);
    expect(b.at(1).integral).toBe(false);
    expect(b.at(2).num).toBe(-300.0);
    expect(b.at(3).bool).toBe(true);
    expect(b.at(4).kind).toBe(JsonKind.Null);
    expect(v.getPath(["a", "x"])!.str).toBe("y\u00e9\n");
  });

  it("decodes surrogate pairs and raw UTF-8", () => {
    expect(parseJson('"\\ud83d\\ude00"').value!.str).toBe("\u{1F600}");
    expect(parseJson('"h\u00e9llo \u{1F600}"').value!.str).toBe("h\u00e9llo \u{1F600}");
  });

  it("joins a string of 200,000 escapes once (appending each copied the string: quadratic)", () => {
    const n = 200_000;
    const r = parseJson('"' + "a\\u0041".repeat(n / 2) + '"');
    expect(r.ok).toBe(true);
    const v = r.value!.str;
    expect(v.length).toBe(n);
    expect(v.substring(n - 4)).toBe("aAaA");
  });

  it("round-trips through toJson", () => {
    const text = '{"a":[1,"two",{"t":false}],"b":null,"c":"q\\"uote"}';
    expect(parseJson(text).value!.toJson()).toBe(text);
  });

  it("measures toJson's UTF-8 length without building it (what a suite member's size limit reads)", () => {
    const docs = [
      '{"a":[1,"two",{"t":false}],"b":null,"c":"q\\"uote","d":[],"e":{},"f":1.5,"g":1e3,"h":-0.25}',
      '["\\u0001\\n\\t","\u00e9\u20ac","\\ud83d\\ude00",true,12345678901234567890]',
      '"plain"',
      "0",
    ];
    for (let i = 0; i < docs.length; i++) {
      const v = parseJson(docs[i]).value!;
      expect(v.toJsonByteLength()).toBe(<i64>String.UTF8.byteLength(v.toJson()), docs[i]);
    }
  });

  it("quotes every escape JSON needs, and round-trips each control character", () => {
    expect(quoteJson("a\"b\\c\nd\re\tf\u0000g\u001fh\u007f\u00e9\u20ac")).toBe('"a\\"b\\\\c\\nd\\re\\tf\\u0000g\\u001fh\u007f\u00e9\u20ac"');
    expect(quoteJson("")).toBe('""');
    for (let c = 0; c < 0x80; c++) {
      const s = "x" + String.fromCharCode(c) + "y";
      const back = parseJson(quoteJson(s));
      expect(back.ok).toBe(true, c.toString());
      expect(back.value!.str).toBe(s, c.toString());
    }
  });

  it("quotes in linear time and one allocation: 100,000 escapes (it once ran the VM out of memory)", () => {
    const s = "\u0000".repeat(100_000);
    const q = quoteJson(s);
    expect(q.length).toBe(600_002);
    expect(q.substring(0, 13)).toBe('"\\u0000\\u0000');
  });

  it("rejects what RFC 8259 forbids, with the offset", () => {
    const bad = ['{"a":1,}', "[1,]", "01", "1.", ".5", "+1", "'x'", '"a\tb"', "[1 2]", "{a:1}", "tru", '"\\x"', "1 2", "", "   ", "NaN", "[", '{"a"}', "-", "1e", "1e+"];
    for (let i = 0; i < bad.length; i++) {
      const r = parseJson(bad[i]);
      expect(r.ok).toBe(false, bad[i]);
      expect(r.error.length).toBeGreaterThan(0);
    }
    expect(parseJson('{"a":1,}').offset).toBe(7);
  });

  it("rejects duplicate keys and unpaired surrogates (I-JSON)", () => {
    const dup = parseJson('{"a":1,"a":2}');
    expect(dup.ok).toBe(false);
    expect(dup.error).toBe('duplicate key "a"');
    expect(parseJson('"\\ud800"').ok).toBe(false);
    expect(parseJson('"\\udc00x"').ok).toBe(false);
    expect(parseJson('"\\ud800\\u0041"').ok).toBe(false);
  });

  it("rejects invalid UTF-8", () => {
    expect(parseJsonBuffer(bytes([0x22, 0xc0, 0x80, 0x22])).ok).toBe(false); // overlong NUL
    expect(parseJsonBuffer(bytes([0x22, 0xed, 0xa0, 0x80, 0x22])).ok).toBe(false); // encoded surrogate
    expect(parseJsonBuffer(bytes([0x22, 0xe2, 0x82, 0x22])).ok).toBe(false); // truncated sequence
    expect(parseJsonBuffer(bytes([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22])).ok).toBe(false); // above U+10FFFF
    expect(parseJsonBuffer(bytes([0x22, 0xe2, 0x82, 0xac, 0x22])).value!.str).toBe("€");
  });

  it("bounds nesting depth", () => {
    let deep = "";
    for (let i = 0; i < 70; i++) deep += "[";
    for (let i = 0; i < 70; i++) deep += "]";
    const r = parseJson(deep);
    expect(r.ok).toBe(false);
    expect(r.error).toBe("nesting deeper than 64");
    let ok = "";
    for (let i = 0; i < 64; i++) ok += "[";
    for (let i = 0; i < 64; i++) ok += "]";
    expect(parseJson(ok).ok).toBe(true);
  });

  it("keeps integers exact and formats them without a fraction", () => {
    const v = parseJson("[1700000000, 9007199254740991, 1.5]").value!;
    expect(v.at(0).toText()).toBe("1700000000");
    expect(v.at(1).toText()).toBe("9007199254740991");
    expect(v.at(2).toText()).toBe("1.5");
  });
});
