// Finding the API key in a request, and taking it out again, on the request's bytes as Envoy listed
// them (one proxy_get_header_map_pairs per request, see index.ts). Bytes, not strings: a key is
// whatever bytes the client sent (native api_key_auth compares bytes), so a non-UTF-8 key must not
// turn into U+FFFD and match another; and nothing is decoded that is not the key.
//
// Where a key is found mirrors Envoy's api_key_auth (source/extensions/filters/http/api_key_auth,
// Envoy 1.40), so the two give the same verdicts (test/e2e/key-auth-vs-native.test.ts):
//  - sources are tried in order; the first that yields a NON-EMPTY key is used, later ones are not
//    looked at (a key in a later source too changes nothing);
//  - header: its first value; a leading "Bearer " (exactly so) is dropped;
//  - query: the first parameter of `:path` whose percent-decoded name is the source's, its value
//    percent-decoded (%XX only; "+" stays "+"); an empty first value means "not in this source";
//  - cookie: the first cookie of that name over every Cookie header (split on ";", leading spaces
//    skipped, surrounding double quotes removed); an empty one means "not in this source".
import { pairFindAt } from "../../assembly/runtime/headers";
import { KeySource, SourceKind } from "./config";

/** Longest key looked up; a longer one is refused as invalid without hashing it. */
export const MAX_KEY_BYTES: i32 = 1024;

const BEARER = String.UTF8.encode("Bearer ");
const PATH = String.UTF8.encode(":path");
const COOKIE = String.UTF8.encode("cookie");

/** A growable byte buffer reused by every request of a plugin. */
export class ByteBuffer {
  bytes: ArrayBuffer = new ArrayBuffer(256);
  length: i32 = 0;

  get ptr(): usize { return changetype<usize>(this.bytes); }

  clear(): void { this.length = 0; }

  private reserve(n: i32): void {
    if (this.length + n <= this.bytes.byteLength) return;
    let cap = this.bytes.byteLength << 1;
    while (cap < this.length + n) cap <<= 1;
    const b = new ArrayBuffer(cap);
    memory.copy(changetype<usize>(b), changetype<usize>(this.bytes), <usize>this.length);
    this.bytes = b;
  }

  push(b: u8): void {
    this.reserve(1);
    store<u8>(this.ptr + <usize>this.length, b);
    this.length++;
  }

  append(ptr: usize, len: usize): void {
    this.reserve(<i32>len);
    memory.copy(this.ptr + <usize>this.length, ptr, len);
    this.length += <i32>len;
  }
}

/** One entry of a proxy-wasm pairs listing: count, (name size, value size)*, NUL-terminated bytes. */
class PairCursor {
  private base: usize = 0;
  private end: usize = 0;
  private count: usize = 0;
  private i: usize = 0;
  private data: usize = 0;
  name: usize = 0;
  nameLen: usize = 0;
  value: usize = 0;
  valueLen: usize = 0;

  start(base: usize, total: usize): void {
    this.base = base;
    this.end = base + total;
    this.i = 0;
    this.count = total < 4 ? 0 : <usize>load<u32>(base);
    if (this.count > (total - 4) / 8) this.count = 0;
    this.data = base + 4 + this.count * 8;
  }

  next(): bool {
    if (this.i >= this.count) return false;
    const nameLen = <usize>load<u32>(this.base + 4 + this.i * 8);
    const valueLen = <usize>load<u32>(this.base + 8 + this.i * 8);
    if (nameLen > this.end - this.data || valueLen + 2 > this.end - this.data - nameLen) {
      this.count = 0;
      return false;
    }
    this.name = this.data;
    this.nameLen = nameLen;
    this.value = this.data + nameLen + 1;
    this.valueLen = valueLen;
    this.data += nameLen + valueLen + 2;
    this.i++;
    return true;
  }

  is(key: ArrayBuffer): bool {
    return this.nameLen == <usize>key.byteLength && memory.compare(this.name, changetype<usize>(key), this.nameLen) == 0;
  }
}

function hexValue(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return <i32>l - 0x57;
  return -1;
}

/**
 * One step of percent-decoding as Envoy's PercentEncoding::decode does it: the byte read at `i`
 * (a valid `%XX` as its value, anything else as itself) in the low 8 bits, and how many input
 * bytes it took (1 or 3) above them.
 */
@inline function decodeStep(p: usize, len: usize, i: usize): u32 {
  const b = <u32>load<u8>(p + i);
  if (b == 0x25 && i + 2 < len) {
    const hi = hexValue(<u32>load<u8>(p + i + 1));
    const lo = hexValue(<u32>load<u8>(p + i + 2));
    if ((hi | lo) >= 0) return <u32>((hi << 4) | lo) | (3 << 8);
  }
  return b | (1 << 8);
}

/** Whether the `len` bytes at `p`, percent-decoded, are `want`. */
function decodedEquals(p: usize, len: usize, want: ArrayBuffer): bool {
  const w = changetype<usize>(want);
  const wl = <usize>want.byteLength;
  let o: usize = 0;
  for (let i: usize = 0; i < len; ) {
    const step = decodeStep(p, len, i);
    i += <usize>(step >> 8);
    if (o >= wl || <u32>load<u8>(w + o) != (step & 0xff)) return false;
    o++;
  }
  return o == wl;
}

/** Percent-decodes the `len` bytes at `p` into `out` (cleared first), at most `cap` bytes kept; returns the decoded length. */
function decodeInto(p: usize, len: usize, out: ByteBuffer, cap: i32): i32 {
  out.clear();
  let n = 0;
  for (let i: usize = 0; i < len; ) {
    const step = decodeStep(p, len, i);
    i += <usize>(step >> 8);
    if (n < cap) out.push(<u8>(step & 0xff));
    n++;
  }
  return n;
}

@inline function indexOfByte(p: usize, from: usize, end: usize, b: u8): usize {
  for (let i = from; i < end; i++) if (load<u8>(p + i) == b) return i;
  return end;
}

/** One parsed cookie of a Cookie header value, as Envoy's forEachCookie sees it. */
class CookieCursor {
  private p: usize = 0;
  private len: usize = 0;
  private at: usize = 0;
  /** The token (from its first non-space byte), its name, its value (quotes removed). */
  token: usize = 0;
  tokenLen: usize = 0;
  name: usize = 0;
  nameLen: usize = 0;
  value: usize = 0;
  valueLen: usize = 0;
  hasValue: bool = false;

  start(p: usize, len: usize): void {
    this.p = p;
    this.len = len;
    this.at = 0;
  }

  /** The next non-empty ";"-separated token; `hasValue` false for one without "=". */
  next(): bool {
    while (this.at < this.len) {
      const s = this.at;
      const e = indexOfByte(this.p, s, this.len, 0x3b);
      this.at = e + 1;
      if (e == s) continue; // empty token: splitToken drops it
      let first = s;
      while (first < e && load<u8>(this.p + first) == 0x20) first++;
      const eq = indexOfByte(this.p, s, e, 0x3d);
      this.token = this.p + first;
      this.tokenLen = e - first;
      this.hasValue = eq < e;
      if (!this.hasValue) return true;
      // Envoy: name from the first non-space byte to "=" (empty when the spaces run up to it).
      this.name = this.p + first;
      this.nameLen = eq > first ? eq - first : 0;
      let v = eq + 1;
      let vl = e - v;
      if (vl >= 2 && load<u8>(this.p + v) == 0x22 && load<u8>(this.p + e - 1) == 0x22) {
        v++;
        vl -= 2;
      }
      this.value = this.p + v;
      this.valueLen = vl;
      return true;
    }
    return false;
  }

  named(name: ArrayBuffer): bool {
    return this.hasValue && this.nameLen == <usize>name.byteLength && memory.compare(this.name, changetype<usize>(name), this.nameLen) == 0;
  }
}

/** Finds and removes keys; one per plugin, reused by every request. */
export class KeyFinder {
  /** The key found by find(): `len` bytes at `ptr` (in the listing, or in `decoded`). */
  ptr: usize = 0;
  len: usize = 0;
  /** Longer than MAX_KEY_BYTES: `ptr`/`len` hold only its first bytes. */
  tooLong: bool = false;
  private decoded: ByteBuffer = new ByteBuffer();
  private pairs: PairCursor = new PairCursor();
  private cookies: CookieCursor = new CookieCursor();
  /** The rewritten `:path` or Cookie value from without*(). */
  readonly out: ByteBuffer = new ByteBuffer();

  /**
   * Looks for a key in `sources`, in order, in the request listing (`total` bytes at `base`):
   * the index of the source that gave one (ptr/len/tooLong set), or -1 when none did.
   */
  find(sources: KeySource[], base: usize, total: usize): i32 {
    for (let i = 0; i < sources.length; i++) {
      const s = sources[i];
      let found = false;
      if (s.kind == SourceKind.Header) found = this.fromHeader(s, base, total);
      else if (s.kind == SourceKind.Query) found = this.fromQuery(s, base, total);
      else found = this.fromCookie(s, base, total);
      if (found) return i;
    }
    return -1;
  }

  private take(ptr: usize, len: usize): bool {
    this.ptr = ptr;
    this.len = len;
    this.tooLong = len > <usize>MAX_KEY_BYTES;
    return len > 0;
  }

  private fromHeader(s: KeySource, base: usize, total: usize): bool {
    const at = pairFindAt(base, total, s.header!.bytes);
    if (at < 0) return false;
    let p = base + <usize>(at >>> 32);
    let len = <usize>(at & 0xffffffff);
    const bl = <usize>BEARER.byteLength;
    if (len >= bl && memory.compare(p, changetype<usize>(BEARER), bl) == 0) {
      p += bl;
      len -= bl;
    }
    return this.take(p, len);
  }

  private fromQuery(s: KeySource, base: usize, total: usize): bool {
    const at = pairFindAt(base, total, PATH);
    if (at < 0) return false;
    const p = base + <usize>(at >>> 32);
    const len = <usize>(at & 0xffffffff);
    let i = indexOfByte(p, 0, len, 0x3f);
    if (i == len) return false;
    i++;
    while (i < len) {
      const end = indexOfByte(p, i, len, 0x26);
      const eq = indexOfByte(p, i, end, 0x3d);
      if (decodedEquals(p + i, eq - i, s.nameBytes)) {
        // The first parameter of that name decides, as native's first value does.
        if (eq == end) return false;
        const n = decodeInto(p + eq + 1, end - eq - 1, this.decoded, MAX_KEY_BYTES + 1);
        if (n == 0) return false;
        this.ptr = this.decoded.ptr;
        this.len = <usize>min(n, MAX_KEY_BYTES + 1);
        this.tooLong = n > MAX_KEY_BYTES;
        return true;
      }
      i = end + 1;
    }
    return false;
  }

  private fromCookie(s: KeySource, base: usize, total: usize): bool {
    const pairs = this.pairs;
    const c = this.cookies;
    pairs.start(base, total);
    while (pairs.next()) {
      if (!pairs.is(COOKIE)) continue;
      c.start(pairs.value, pairs.valueLen);
      // The first cookie of that name decides, even an empty one.
      while (c.next()) if (c.named(s.nameBytes)) return this.take(c.value, c.valueLen);
    }
    return false;
  }

  /** Whether `:path` (the `len` bytes at `p`) has a parameter named as a query source; when so, `out` is it without them. */
  withoutQueryKeys(sources: KeySource[], p: usize, len: usize): bool {
    const q = indexOfByte(p, 0, len, 0x3f);
    if (q == len) return false;
    const out = this.out;
    out.clear();
    out.append(p, q);
    let removed = false;
    let kept = 0;
    let i = q + 1;
    while (i <= len) {
      const end = indexOfByte(p, i, len, 0x26);
      const eq = indexOfByte(p, i, end, 0x3d);
      if (isQuerySource(sources, p + i, eq - i)) removed = true;
      else {
        out.push(kept == 0 ? 0x3f : 0x26);
        out.append(p + i, end - i);
        kept++;
      }
      i = end + 1;
    }
    return removed;
  }

  /**
   * Whether any Cookie header of the listing has a cookie named as a cookie source; when so, `out`
   * is every Cookie header's other cookies joined with "; " (possibly empty).
   */
  withoutCookieKeys(sources: KeySource[], base: usize, total: usize): bool {
    const pairs = this.pairs;
    const c = this.cookies;
    const out = this.out;
    out.clear();
    let removed = false;
    pairs.start(base, total);
    while (pairs.next()) {
      if (!pairs.is(COOKIE)) continue;
      c.start(pairs.value, pairs.valueLen);
      while (c.next()) {
        if (isCookieSource(sources, c)) {
          removed = true;
          continue;
        }
        if (out.length) {
          out.push(0x3b);
          out.push(0x20);
        }
        out.append(c.token, c.tokenLen);
      }
    }
    return removed;
  }
}

function isQuerySource(sources: KeySource[], p: usize, len: usize): bool {
  for (let k = 0; k < sources.length; k++) {
    const s = sources[k];
    if (s.kind == SourceKind.Query && decodedEquals(p, len, s.nameBytes)) return true;
  }
  return false;
}

function isCookieSource(sources: KeySource[], c: CookieCursor): bool {
  for (let k = 0; k < sources.length; k++) {
    const s = sources[k];
    if (s.kind == SourceKind.Cookie && c.named(s.nameBytes)) return true;
  }
  return false;
}
