// A small protobuf wire-format codec: what a filter needs to speak a gRPC service (build a request
// message, read the fields it cares about from the answer). Hand-written because no maintained
// protobuf library for AssemblyScript fits: as-proto and protobuf-as need generated code, a
// toolchain step per .proto and a runtime sized for every feature; the messages here have a
// handful of fields.
//
// Wire format (protobuf.dev/programming-guides/encoding): a field is a varint tag
// (field_number << 3 | wire_type) followed by a varint (type 0), 8 bytes (type 1), a
// varint length and that many bytes (type 2: strings, bytes, nested messages, packed repeated)
// or 4 bytes (type 5). Groups (types 3 and 4) are deprecated and refused here.
//
// The reader never traps on bad input: every read is bounds-checked, and a malformed message
// makes `ok` false for good (later reads return zero values); callers check `ok` at the end.

import { decodeUtf8Lossy } from "./utf8";

export const WIRE_VARINT: u32 = 0;
export const WIRE_FIXED64: u32 = 1;
export const WIRE_LEN: u32 = 2;
export const WIRE_FIXED32: u32 = 5;

/** A varint is at most 10 bytes (64 bits, 7 per byte). */
const MAX_VARINT_BYTES: i32 = 10;

/** How many bytes the varint of `v` takes. */
function varintSize(v: u64): i32 {
  let n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/**
 * Builds one message. A nested message is either built in its own writer and added with
 * `message`, or written in place between `begin` and `end` (no writer, no copy of its own: what a
 * message built per request wants).
 */
export class ProtoWriter {
  private buf: ArrayBuffer;
  private len: i32 = 0;

  constructor(capacity: i32 = 64) {
    this.buf = new ArrayBuffer(capacity > 16 ? capacity : 16);
  }

  get length(): i32 {
    return this.len;
  }

  /** Empties the writer, keeping its buffer (a writer reused for every request). */
  reset(): this {
    this.len = 0;
    return this;
  }

  private reserve(n: i32): void {
    const need = this.len + n;
    if (need <= this.buf.byteLength) return;
    let cap = this.buf.byteLength << 1;
    while (cap < need) cap <<= 1;
    const next = new ArrayBuffer(cap);
    memory.copy(changetype<usize>(next), changetype<usize>(this.buf), <usize>this.len);
    this.buf = next;
  }

  varint(v: u64): this {
    this.reserve(MAX_VARINT_BYTES);
    let at = changetype<usize>(this.buf) + <usize>this.len;
    const start = at;
    while (v >= 0x80) {
      store<u8>(at++, <u8>(v & 0x7f) | 0x80);
      v >>= 7;
    }
    store<u8>(at++, <u8>v);
    this.len += <i32>(at - start);
    return this;
  }

  tag(field: u32, wire: u32): this {
    return this.varint((<u64>field << 3) | <u64>wire);
  }

  /** A varint field (uint32, uint64, enum, bool; an int32/int64 as its two's complement u64). */
  uint(field: u32, v: u64): this {
    return this.tag(field, WIRE_VARINT).varint(v);
  }

  /** A length-delimited field from raw memory. */
  bytesAt(field: u32, ptr: usize, len: i32): this {
    this.tag(field, WIRE_LEN).varint(<u64>len);
    this.reserve(len);
    memory.copy(changetype<usize>(this.buf) + <usize>this.len, ptr, <usize>len);
    this.len += len;
    return this;
  }

  bytes(field: u32, data: ArrayBuffer): this {
    return this.bytesAt(field, changetype<usize>(data), data.byteLength);
  }

  /** A string field, UTF-8, encoded straight into the message. */
  string(field: u32, s: string): this {
    const n = String.UTF8.byteLength(s);
    this.tag(field, WIRE_LEN).varint(<u64>n);
    this.reserve(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, changetype<usize>(this.buf) + <usize>this.len);
    this.len += n;
    return this;
  }

  /** A nested message field. */
  message(field: u32, m: ProtoWriter): this {
    return this.bytesAt(field, changetype<usize>(m.buf), m.len);
  }

  /** Starts a nested message field written in place; pass what it returns to `end`. */
  begin(field: u32): i32 {
    this.tag(field, WIRE_LEN);
    return this.len;
  }

  /**
   * Ends the nested message `begin` started: its bytes move up by the size of its length, which
   * goes in front of them (the length is only known now).
   */
  end(mark: i32): this {
    const size = this.len - mark;
    const n = varintSize(<u64>size);
    this.reserve(n);
    const at = changetype<usize>(this.buf) + <usize>mark;
    memory.copy(at + <usize>n, at, <usize>size);
    let p = at;
    let v = <u64>size;
    while (v >= 0x80) {
      store<u8>(p++, <u8>(v & 0x7f) | 0x80);
      v >>= 7;
    }
    store<u8>(p, <u8>v);
    this.len += n;
    return this;
  }

  /** The encoded message (a copy of exactly its bytes). */
  finish(): ArrayBuffer {
    const out = new ArrayBuffer(this.len);
    memory.copy(changetype<usize>(out), changetype<usize>(this.buf), <usize>this.len);
    return out;
  }
}

/**
 * Reads one message over [ptr, ptr + len), field by field:
 *   while (r.next()) switch (r.field) { case 1: x = r.uint(); break; default: r.skip(); }
 *   if (!r.ok) ...
 * `next()` reads a tag; the caller then reads the value with the reader matching the wire type
 * (a mismatch fails the reader) or skips it. The memory must stay valid while it is read.
 */
export class ProtoReader {
  private pos: usize;
  private readonly end: usize;
  /** False once the input was found malformed; never true again. */
  ok: bool = true;
  /** The current field's number and wire type (after next()). */
  field: u32 = 0;
  wire: u32 = 0;
  /** Where the last length-delimited value starts and how long it is (after lenAt()). */
  valuePtr: usize = 0;
  valueLen: i32 = 0;
  /** The buffer read (when the reader was made from one): the pointer alone would not keep it from the collector. */
  private owner: ArrayBuffer | null = null;

  constructor(ptr: usize, len: usize) {
    this.pos = ptr;
    this.end = ptr + len;
  }

  static of(buf: ArrayBuffer): ProtoReader {
    const r = new ProtoReader(changetype<usize>(buf), <usize>buf.byteLength);
    r.owner = buf;
    return r;
  }

  private fail(): bool {
    this.ok = false;
    this.pos = this.end;
    return false;
  }

  private readVarint(): u64 {
    let v: u64 = 0;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.end) {
        this.fail();
        return 0;
      }
      const b = <u64>load<u8>(this.pos++);
      v |= (b & 0x7f) << (<u64>(7 * i));
      if (b < 0x80) return v;
    }
    this.fail(); // more than 10 bytes: not a varint
    return 0;
  }

  /** Reads the next field's tag; false at the end of the message or on malformed input. */
  next(): bool {
    if (!this.ok || this.pos >= this.end) return false;
    const tag = this.readVarint();
    if (!this.ok) return false;
    const field = <u32>(tag >> 3);
    const wire = <u32>(tag & 7);
    if (field == 0 || tag >> 32 != 0) return this.fail();
    if (wire != WIRE_VARINT && wire != WIRE_FIXED64 && wire != WIRE_LEN && wire != WIRE_FIXED32) return this.fail();
    this.field = field;
    this.wire = wire;
    return true;
  }

  /** The current varint field's value (0 and failed when the field is not a varint). */
  uint(): u64 {
    if (this.wire != WIRE_VARINT) {
      this.fail();
      return 0;
    }
    return this.readVarint();
  }

  /** The current length-delimited field: its bytes in valuePtr/valueLen; false when malformed. */
  lenAt(): bool {
    if (this.wire != WIRE_LEN) return this.fail();
    const n = this.readVarint();
    if (!this.ok) return false;
    if (n > <u64>(this.end - this.pos)) return this.fail();
    this.valuePtr = this.pos;
    this.valueLen = <i32>n;
    this.pos += <usize>n;
    return true;
  }

  /** The current length-delimited field as a nested reader (failed and empty when malformed). */
  message(): ProtoReader {
    if (!this.lenAt()) {
      const r = new ProtoReader(0, 0);
      r.ok = false;
      return r;
    }
    const r = new ProtoReader(this.valuePtr, <usize>this.valueLen);
    r.owner = this.owner;
    return r;
  }

  /** The current length-delimited field as a string (UTF-8, bad bytes replaced; "" and failed when malformed). */
  string(): string {
    if (!this.lenAt()) return "";
    return decodeUtf8Lossy(this.valuePtr, <usize>this.valueLen);
  }

  /** Skips the current field's value, whatever its type. */
  skip(): bool {
    switch (this.wire) {
      case WIRE_VARINT:
        this.readVarint();
        return this.ok;
      case WIRE_LEN:
        return this.lenAt();
      case WIRE_FIXED64:
        return this.advance(8);
      case WIRE_FIXED32:
        return this.advance(4);
      default:
        return this.fail();
    }
  }

  private advance(n: usize): bool {
    if (this.end - this.pos < n) return this.fail();
    this.pos += n;
    return true;
  }
}
