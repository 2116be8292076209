// A small, strict JSON document model (RFC 8259) for configs and token payloads.
//
// Why our own: the AssemblyScript JSON libraries either deserialize into classes through a
// compiler transform (json-as) or are unmaintained (assemblyscript-json); neither reports
// where a document is malformed, rejects duplicate object keys, or bounds nesting, which
// configs (errors must name the field) and JWTs (strict JSON is a security property) need.

export const enum JsonKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

export function kindName(kind: JsonKind): string {
  switch (kind) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return "a boolean";
    case JsonKind.Number: return "a number";
    case JsonKind.String: return "a string";
    case JsonKind.Array: return "an array";
    default: return "an object";
  }
}

export class JsonValue {
  kind: JsonKind;
  bool: bool = false;
  num: f64 = 0;
  /** For numbers: true when the literal had no fraction or exponent. */
  integral: bool = false;
  str: string = "";
  items: JsonValue[] | null = null;
  keys: string[] | null = null;
  values: JsonValue[] | null = null;

  constructor(kind: JsonKind) {
    this.kind = kind;
  }

  static null(): JsonValue { return new JsonValue(JsonKind.Null); }
  static boolean(b: bool): JsonValue { const v = new JsonValue(JsonKind.Bool); v.bool = b; return v; }
  static number(n: f64, integral: bool): JsonValue {
    const v = new JsonValue(JsonKind.Number); v.num = n; v.integral = integral; return v;
  }
  static string(s: string): JsonValue { const v = new JsonValue(JsonKind.String); v.str = s; return v; }
  static array(items: JsonValue[]): JsonValue { const v = new JsonValue(JsonKind.Array); v.items = items; return v; }
  static object(keys: string[], values: JsonValue[]): JsonValue {
    const v = new JsonValue(JsonKind.Object); v.keys = keys; v.values = values; return v;
  }

  get isNull(): bool { return this.kind == JsonKind.Null; }
  get isBool(): bool { return this.kind == JsonKind.Bool; }
  get isNumber(): bool { return this.kind == JsonKind.Number; }
  get isString(): bool { return this.kind == JsonKind.String; }
  get isArray(): bool { return this.kind == JsonKind.Array; }
  get isObject(): bool { return this.kind == JsonKind.Object; }

  /** Number of array items or object members; 0 for scalars. */
  get length(): i32 {
    if (this.kind == JsonKind.Array) return (this.items as JsonValue[]).length;
    if (this.kind == JsonKind.Object) return (this.keys as string[]).length;
    return 0;
  }

  /** The member named `key` of an object, or null (also for non-objects). */
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    const keys = this.keys as string[];
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] == key) return (this.values as JsonValue[])[i];
    }
    return null;
  }

  has(key: string): bool { return this.get(key) !== null; }

  at(index: i32): JsonValue { return (this.items as JsonValue[])[index]; }
  keyAt(index: i32): string { return (this.keys as string[])[index]; }
  valueAt(index: i32): JsonValue { return (this.values as JsonValue[])[index]; }

  /** Follows a path of object keys (e.g. ["realm_access", "roles"]); null if any step is missing. */
  getPath(path: string[]): JsonValue | null {
    let cur: JsonValue | null = this;
    for (let i = 0; i < path.length && cur !== null; i++) cur = (cur as JsonValue).get(path[i]);
    return cur;
  }

  /** Compact JSON text of this value (object member order is kept). */
  toJson(): string {
    switch (this.kind) {
      case JsonKind.Null: return "null";
      case JsonKind.Bool: return this.bool ? "true" : "false";
      case JsonKind.Number: return formatNumber(this.num, this.integral);
      case JsonKind.String: return quoteJson(this.str);
      case JsonKind.Array: {
        const items = this.items as JsonValue[];
        const parts = new Array<string>(items.length);
        for (let i = 0; i < items.length; i++) parts[i] = items[i].toJson();
        return "[" + parts.join(",") + "]";
      }
      default: {
        const keys = this.keys as string[];
        const values = this.values as JsonValue[];
        const parts = new Array<string>(keys.length);
        for (let i = 0; i < keys.length; i++) parts[i] = quoteJson(keys[i]) + ":" + values[i].toJson();
        return "{" + parts.join(",") + "}";
      }
    }
  }

  /**
   * The length in UTF-8 bytes of toJson(), measured without building it: a suite (filters/suite)
   * applies a member's size limit to the member's part of its document this way, instead of
   * writing the part out as text for the member to parse again.
   */
  toJsonByteLength(): i64 {
    switch (this.kind) {
      case JsonKind.Null: return 4;
      case JsonKind.Bool: return this.bool ? 4 : 5;
      case JsonKind.Number: return formatNumber(this.num, this.integral).length; // ASCII
      case JsonKind.String: return quotedUtf8Length(this.str);
      case JsonKind.Array: {
        const items = this.items as JsonValue[];
        let n: i64 = 2 + (items.length > 0 ? items.length - 1 : 0); // brackets, commas
        for (let i = 0; i < items.length; i++) n += items[i].toJsonByteLength();
        return n;
      }
      default: {
        const keys = this.keys as string[];
        const values = this.values as JsonValue[];
        let n: i64 = 2 + (keys.length > 0 ? keys.length - 1 : 0) + keys.length; // braces, commas, colons
        for (let i = 0; i < keys.length; i++) n += quotedUtf8Length(keys[i]) + values[i].toJsonByteLength();
        return n;
      }
    }
  }

  /**
   * The value as header-friendly text: strings as they are, numbers without a trailing
   * ".0" when integral, booleans and null as their literals, arrays and objects as JSON.
   */
  toText(): string {
    if (this.kind == JsonKind.String) return this.str;
    return this.toJson();
  }
}

export function formatNumber(n: f64, integral: bool): string {
  if (integral && Math.abs(n) < 9007199254740992.0) return (<i64>n).toString();
  return n.toString();
}

const HEX = "0123456789abcdef";

/** Characters `c` takes inside a JSON string literal: 1, 2 (`\"`, `\\`, `\n`, `\r`, `\t`) or 6 (`\u00XX`). */
@inline function quotedLength(c: u32): i32 {
  if (c >= 0x20 && c != 0x22 && c != 0x5c) return 1;
  return c == 0x22 || c == 0x5c || c == 0x0a || c == 0x0d || c == 0x09 ? 2 : 6;
}

/** UTF-8 bytes of quoteJson(s), as String.UTF8.encode writes it (an unpaired surrogate as U+FFFD). */
function quotedUtf8Length(s: string): i64 {
  const n = s.length;
  let len: i64 = 2;
  for (let i = 0; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c < 0x80) len += quotedLength(c);
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (<u32>s.charCodeAt(i + 1) & 0xfc00) == 0xdc00) {
      len += 4;
      i++;
    } else len += 3;
  }
  return len;
}

/**
 * `s` as a JSON string literal. Measured first, then written into one string of that length:
 * linear whatever `s` holds. (Appending piece by piece copied the output so far at every escape,
 * quadratic in the escapes; a configuration of 100,000 control characters, re-serialised by the
 * suite for its member, ran the VM out of memory before the collector could run.)
 */
export function quoteJson(s: string): string {
  const n = s.length;
  let len = 2;
  for (let i = 0; i < n; i++) len += quotedLength(s.charCodeAt(i));
  const out = changetype<string>(__new(<usize>len << 1, idof<String>()));
  const base = changetype<usize>(out);
  const hex = changetype<usize>(HEX);
  store<u16>(base, 0x22);
  let at = base + 2;
  for (let i = 0; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    const w = quotedLength(c);
    if (w == 1) {
      store<u16>(at, <u16>c);
    } else if (w == 2) {
      store<u16>(at, 0x5c);
      store<u16>(at, <u16>(c == 0x0a ? 0x6e : c == 0x0d ? 0x72 : c == 0x09 ? 0x74 : c), 2);
    } else {
      store<u64>(at, 0x0030_0030_0075_005c); // \u00
      store<u16>(at, load<u16>(hex + ((<usize>c >> 4) << 1)), 8);
      store<u16>(at, load<u16>(hex + ((<usize>c & 15) << 1)), 10);
    }
    at += <usize>w << 1;
  }
  store<u16>(at, 0x22);
  return out;
}
