// Strict JSON parser over UTF-8 bytes. Rejects what RFC 8259 does not allow (trailing commas,
// leading zeros, raw control characters, invalid UTF-8), plus what I-JSON (RFC 7493) rules out
// for interoperable documents: duplicate object keys and unpaired surrogate escapes. Nesting is
// bounded so hostile input cannot exhaust the stack.
import { JsonValue } from "./value";

export const DEFAULT_MAX_DEPTH: i32 = 64;

export class JsonParseResult {
  constructor(
    public value: JsonValue | null,
    public error: string,
    /** Byte offset of the error in the input. */
    public offset: i32,
  ) {}

  get ok(): bool { return this.value !== null; }
}

class ParseFailure {
  constructor(public message: string, public offset: i32) {}
}

class Parser {
  pos: i32 = 0;
  failure: ParseFailure | null = null;

  constructor(private buf: usize, private end: i32, private maxDepth: i32) {}

  byteAt(i: i32): u32 { return <u32>load<u8>(this.buf + <usize>i); }

  fail(message: string, offset: i32 = this.pos): JsonValue | null {
    if (this.failure === null) this.failure = new ParseFailure(message, offset);
    return null;
  }

  skipWhitespace(): void {
    while (this.pos < this.end) {
      const c = this.byteAt(this.pos);
      if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) this.pos++;
      else break;
    }
  }

  parseValue(depth: i32): JsonValue | null {
    this.skipWhitespace();
    if (this.pos >= this.end) return this.fail("unexpected end of input");
    const c = this.byteAt(this.pos);
    if (c == 0x7b) return this.parseObject(depth + 1);
    if (c == 0x5b) return this.parseArray(depth + 1);
    if (c == 0x22) {
      const s = this.parseString();
      return s === null ? null : JsonValue.string(s);
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
    if (this.literal("true")) return JsonValue.boolean(true);
    if (this.literal("false")) return JsonValue.boolean(false);
    if (this.literal("null")) return JsonValue.null();
    return this.fail("unexpected character '" + String.fromCharCode(c) + "'");
  }

  literal(word: string): bool {
    const n = word.length;
    if (this.pos + n > this.end) return false;
    for (let i = 0; i < n; i++) {
      if (this.byteAt(this.pos + i) != <u32>word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  parseObject(depth: i32): JsonValue | null {
    if (depth > this.maxDepth) return this.fail("nesting deeper than " + this.maxDepth.toString());
    this.pos++; // '{'
    const keys = new Array<string>();
    const values = new Array<JsonValue>();
    this.skipWhitespace();
    if (this.pos < this.end && this.byteAt(this.pos) == 0x7d) {
      this.pos++;
      return JsonValue.object(keys, values);
    }
    while (true) {
      this.skipWhitespace();
      if (this.pos >= this.end || this.byteAt(this.pos) != 0x22) return this.fail("expected a string key");
      const keyOffset = this.pos;
      const key = this.parseString();
      if (key === null) return null;
      if (keys.includes(key)) return this.fail("duplicate key \"" + key + "\"", keyOffset);
      this.skipWhitespace();
      if (this.pos >= this.end || this.byteAt(this.pos) != 0x3a) return this.fail("expected ':'");
      this.pos++;
      const value = this.parseValue(depth);
      if (value === null) return null;
      keys.push(key);
      values.push(value);
      this.skipWhitespace();
      if (this.pos >= this.end) return this.fail("unterminated object");
      const c = this.byteAt(this.pos);
      this.pos++;
      if (c == 0x2c) continue;
      if (c == 0x7d) return JsonValue.object(keys, values);
      return this.fail("expected ',' or '}'", this.pos - 1);
    }
  }

  parseArray(depth: i32): JsonValue | null {
    if (depth > this.maxDepth) return this.fail("nesting deeper than " + this.maxDepth.toString());
    this.pos++; // '['
    const items = new Array<JsonValue>();
    this.skipWhitespace();
    if (this.pos < this.end && this.byteAt(this.pos) == 0x5d) {
      this.pos++;
      return JsonValue.array(items);
    }
    while (true) {
      const item = this.parseValue(depth);
      if (item === null) return null;
      items.push(item);
      this.skipWhitespace();
      if (this.pos >= this.end) return this.fail("unterminated array");
      const c = this.byteAt(this.pos);
      this.pos++;
      if (c == 0x2c) continue;
      if (c == 0x5d) return JsonValue.array(items);
      return this.fail("expected ',' or ']'", this.pos - 1);
    }
  }

  parseNumber(): JsonValue | null {
    const start = this.pos;
    let integral = true;
    if (this.byteAt(this.pos) == 0x2d) this.pos++;
    if (this.pos >= this.end) return this.fail("invalid number", start);
    let c = this.byteAt(this.pos);
    if (c == 0x30) {
      this.pos++;
      if (this.pos < this.end && isDigit(this.byteAt(this.pos))) return this.fail("leading zero in number", start);
    } else if (isDigit(c)) {
      while (this.pos < this.end && isDigit(this.byteAt(this.pos))) this.pos++;
    } else {
      return this.fail("invalid number", start);
    }
    if (this.pos < this.end && this.byteAt(this.pos) == 0x2e) {
      integral = false;
      this.pos++;
      if (this.pos >= this.end || !isDigit(this.byteAt(this.pos))) return this.fail("digit expected after '.'");
      while (this.pos < this.end && isDigit(this.byteAt(this.pos))) this.pos++;
    }
    if (this.pos < this.end) {
      c = this.byteAt(this.pos);
      if (c == 0x65 || c == 0x45) {
        integral = false;
        this.pos++;
        if (this.pos < this.end) {
          c = this.byteAt(this.pos);
          if (c == 0x2b || c == 0x2d) this.pos++;
        }
        if (this.pos >= this.end || !isDigit(this.byteAt(this.pos))) return this.fail("digit expected in exponent");
        while (this.pos < this.end && isDigit(this.byteAt(this.pos))) this.pos++;
      }
    }
    const text = String.UTF8.decodeUnsafe(this.buf + <usize>start, <usize>(this.pos - start));
    const n = parseFloat(text);
    if (!isFinite(n)) return this.fail("number out of range", start);
    return JsonValue.number(n, integral);
  }

  /** Parses a string starting at the opening quote; validates UTF-8 and escapes. */
  parseString(): string | null {
    const open = this.pos;
    this.pos++;
    // Runs between escapes and the escapes themselves, joined once at the end: appending each to
    // a growing string copied it every time (quadratic: a 500 KB string of escapes took seconds
    // and, without a collection between, ran the VM out of memory).
    let parts: string[] | null = null;
    let runStart = this.pos;
    while (true) {
      if (this.pos >= this.end) {
        this.fail("unterminated string", open);
        return null;
      }
      const c = this.byteAt(this.pos);
      if (c == 0x22) {
        const run = String.UTF8.decodeUnsafe(this.buf + <usize>runStart, <usize>(this.pos - runStart));
        this.pos++;
        if (parts === null) return run;
        parts.push(run);
        return parts.join("");
      }
      if (c == 0x5c) {
        if (parts === null) parts = new Array<string>();
        parts.push(String.UTF8.decodeUnsafe(this.buf + <usize>runStart, <usize>(this.pos - runStart)));
        const escaped = this.parseEscape();
        if (escaped === null) return null;
        parts.push(escaped);
        runStart = this.pos;
        continue;
      }
      if (c < 0x20) {
        this.fail("control character in string");
        return null;
      }
      if (c < 0x80) {
        this.pos++;
        continue;
      }
      const n = utf8SequenceLength(this.buf, this.pos, this.end);
      if (n == 0) {
        this.fail("invalid UTF-8");
        return null;
      }
      this.pos += n;
    }
  }

  parseEscape(): string | null {
    const at = this.pos;
    this.pos++; // backslash
    if (this.pos >= this.end) {
      this.fail("unterminated escape", at);
      return null;
    }
    const c = this.byteAt(this.pos);
    this.pos++;
    switch (c) {
      case 0x22: return "\"";
      case 0x5c: return "\\";
      case 0x2f: return "/";
      case 0x62: return "\b";
      case 0x66: return "\f";
      case 0x6e: return "\n";
      case 0x72: return "\r";
      case 0x74: return "\t";
      case 0x75: {
        const hi = this.hex4();
        if (hi < 0) return null;
        if (hi >= 0xdc00 && hi <= 0xdfff) {
          this.fail("unpaired surrogate escape", at);
          return null;
        }
        if (hi >= 0xd800 && hi <= 0xdbff) {
          if (!(this.pos + 1 < this.end && this.byteAt(this.pos) == 0x5c && this.byteAt(this.pos + 1) == 0x75)) {
            this.fail("unpaired surrogate escape", at);
            return null;
          }
          this.pos += 2;
          const lo = this.hex4();
          if (lo < 0) return null;
          if (lo < 0xdc00 || lo > 0xdfff) {
            this.fail("unpaired surrogate escape", at);
            return null;
          }
          return String.fromCharCodes([hi, lo]);
        }
        return String.fromCharCode(hi);
      }
      default:
        this.fail("invalid escape", at);
        return null;
    }
  }

  hex4(): i32 {
    if (this.pos + 4 > this.end) {
      this.fail("truncated \\u escape");
      return -1;
    }
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const d = hexValue(this.byteAt(this.pos + i));
      if (d < 0) {
        this.fail("invalid \\u escape");
        return -1;
      }
      v = (v << 4) | d;
    }
    this.pos += 4;
    return v;
  }
}

// @ts-ignore: decorator
@inline function isDigit(c: u32): bool { return c >= 0x30 && c <= 0x39; }

function hexValue(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  if (c >= 0x41 && c <= 0x46) return <i32>(c - 0x41 + 10);
  return -1;
}

/** Length of the well-formed UTF-8 sequence at `pos` (2..4), or 0 if it is malformed. */
export function utf8SequenceLength(buf: usize, pos: i32, end: i32): i32 {
  const b0 = <u32>load<u8>(buf + <usize>pos);
  let n = 0;
  let min: u32 = 0;
  let cp: u32 = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) { n = 2; cp = b0 & 0x1f; min = 0x80; }
  else if (b0 >= 0xe0 && b0 <= 0xef) { n = 3; cp = b0 & 0x0f; min = 0x800; }
  else if (b0 >= 0xf0 && b0 <= 0xf4) { n = 4; cp = b0 & 0x07; min = 0x10000; }
  else return 0;
  if (pos + n > end) return 0;
  for (let i = 1; i < n; i++) {
    const b = <u32>load<u8>(buf + <usize>(pos + i));
    if ((b & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

function finish(p: Parser, value: JsonValue | null): JsonParseResult {
  if (value !== null) {
    p.skipWhitespace();
    if (p.pos != p.end) {
      p.fail("unexpected data after the JSON value");
      value = null;
    }
  }
  if (value === null) {
    const f = p.failure as ParseFailure;
    return new JsonParseResult(null, f.message, f.offset);
  }
  return new JsonParseResult(value, "", -1);
}

/** Parses `len` bytes at `ptr`. The memory must stay alive for the call. */
export function parseJsonBytes(ptr: usize, len: i32, maxDepth: i32 = DEFAULT_MAX_DEPTH): JsonParseResult {
  const p = new Parser(ptr, len, maxDepth);
  return finish(p, p.parseValue(0));
}

export function parseJsonBuffer(buf: ArrayBuffer, maxDepth: i32 = DEFAULT_MAX_DEPTH): JsonParseResult {
  return parseJsonBytes(changetype<usize>(buf), buf.byteLength, maxDepth);
}

export function parseJson(text: string, maxDepth: i32 = DEFAULT_MAX_DEPTH): JsonParseResult {
  return parseJsonBuffer(String.UTF8.encode(text), maxDepth);
}
