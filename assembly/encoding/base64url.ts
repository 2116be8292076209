// Strict base64url (RFC 4648 §5, as profiled by RFC 7515 §2 for JWS) and strict standard
// base64 (RFC 4648 §4, for x5c certificate chains).
//
// "Strict" means exactly one encoding is accepted for any byte string:
//   - base64url: alphabet A-Z a-z 0-9 - _ only, no padding, no whitespace; a length ≡ 1 (mod 4)
//     is impossible and rejected; the unused low bits of the last character must be zero
//     (RFC 4648 §3.5 "canonical encoding"), so "AB" and "AC" cannot both decode to 0x00.
//   - base64: alphabet A-Z a-z 0-9 + /, length a multiple of 4, padding '=' only as the last
//     one or two characters and only where required, same canonical-bits rule.
// A token or JWKS document that is not canonical is rejected instead of being "repaired".
//
// The character → value mapping is branch-free arithmetic rather than a table lookup: `k` of an
// `oct` JWK (an HMAC secret) goes through this decoder, and secret-indexed table loads are the
// classic cache-timing leak. Invalid characters do not short-circuit either; an error flag is
// accumulated and checked once at the end (the input's length is not secret).

/** Maps one base64url (url = true) or base64 character to 0..63, or to a negative value. */
// @ts-ignore: decorator
@inline
function decodeChar(c: i32, url: bool): i32 {
  // ((lo - c) & (c - hi)) >> 31 is all-ones exactly when lo < c < hi.
  let v: i32 = -1;
  v += (((0x40 - c) & (c - 0x5b)) >> 31) & (c - 64); // 'A'..'Z' → 0..25 (+1)
  v += (((0x60 - c) & (c - 0x7b)) >> 31) & (c - 70); // 'a'..'z' → 26..51 (+1)
  v += (((0x2f - c) & (c - 0x3a)) >> 31) & (c + 5); //  '0'..'9' → 52..61 (+1)
  if (url) {
    v += (((0x2c - c) & (c - 0x2e)) >> 31) & 63; // '-' → 62 (+1)
    v += (((0x5e - c) & (c - 0x60)) >> 31) & 64; // '_' → 63 (+1)
  } else {
    v += (((0x2a - c) & (c - 0x2c)) >> 31) & 63; // '+' → 62 (+1)
    v += (((0x2e - c) & (c - 0x30)) >> 31) & 64; // '/' → 63 (+1)
  }
  return v;
}

/** Maps 0..63 to its character, branch-free (see decodeChar for why). */
// @ts-ignore: decorator
@inline
function encodeChar(v: i32, url: bool): i32 {
  let c = v + 65; // 'A'
  c += ((25 - v) >> 31) & 6; // v ≥ 26: 'a' + (v - 26)
  c += ((51 - v) >> 31) & -75; // v ≥ 52: '0' + (v - 52)
  c += ((61 - v) >> 31) & (url ? -13 : -15); // v = 62: '-' or '+'
  c += ((62 - v) >> 31) & (url ? 49 : 3); // v = 63: '_' or '/'
  return c;
}

// @ts-ignore: decorator
@inline
function charAt<T>(src: usize, i: i32): i32 {
  return <i32>load<T>(src + (<usize>i << alignof<T>()));
}

/** Bytes that `len` characters (without padding) decode to; -1 for a length no base64 text has. */
function decodedLength(len: i32): i32 {
  if (len < 0) return -1;
  const rem = len & 3;
  if (rem == 1) return -1; // 6 bits cannot make a whole byte
  return (len >> 2) * 3 + (rem == 0 ? 0 : rem - 1);
}

/**
 * Core decoder over `len` characters of type T (u8: ASCII bytes, u16: a string's code units) into
 * `dst`, which has room for decodedLength(len) bytes. `len` excludes any padding (checked by the
 * callers). Returns false on any invalid input (`dst` then holds garbage).
 */
function decodeCoreInto<T>(src: usize, len: i32, url: bool, dst: usize): bool {
  const rem = len & 3;
  const full = len >> 2;
  let err: i32 = 0;
  let o: usize = 0;
  let i = 0;
  for (let g = 0; g < full; g++, i += 4) {
    const a = decodeChar(charAt<T>(src, i), url);
    const b = decodeChar(charAt<T>(src, i + 1), url);
    const c = decodeChar(charAt<T>(src, i + 2), url);
    const d = decodeChar(charAt<T>(src, i + 3), url);
    err |= a | b | c | d;
    const w = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(dst + o, <u8>(w >> 16));
    store<u8>(dst + o + 1, <u8>(w >> 8));
    store<u8>(dst + o + 2, <u8>w);
    o += 3;
  }
  if (rem == 2) {
    const a = decodeChar(charAt<T>(src, i), url);
    const b = decodeChar(charAt<T>(src, i + 1), url);
    err |= a | b | -(b & 0x0f); // RFC 4648 §3.5: the 4 unused bits must be zero
    store<u8>(dst + o, <u8>((a << 2) | (b >> 4)));
  } else if (rem == 3) {
    const a = decodeChar(charAt<T>(src, i), url);
    const b = decodeChar(charAt<T>(src, i + 1), url);
    const c = decodeChar(charAt<T>(src, i + 2), url);
    err |= a | b | c | -(c & 0x03); // the 2 unused bits must be zero
    store<u8>(dst + o, <u8>((a << 2) | (b >> 4)));
    store<u8>(dst + o + 1, <u8>((b << 4) | (c >> 2)));
  }
  return err >= 0;
}

/** decodeCoreInto a new array; null on any invalid input. */
function decodeCore<T>(src: usize, len: i32, url: bool): Uint8Array | null {
  const outLen = decodedLength(len);
  if (outLen < 0) return null;
  const out = new Uint8Array(outLen);
  return decodeCoreInto<T>(src, len, url, out.dataStart) ? out : null;
}

/** Decodes unpadded base64url from a string (e.g. a JWT segment). */
export function base64urlDecode(s: string): Uint8Array | null {
  return decodeCore<u16>(changetype<usize>(s), s.length, true);
}

/** Decodes unpadded base64url from `len` ASCII bytes at `ptr`, avoiding a string copy. */
export function base64urlDecodePtr(ptr: usize, len: i32): Uint8Array | null {
  return decodeCore<u8>(ptr, len, true);
}

/** Decodes base64url from bytes[start, end) (end = -1: to the end); null if out of range. */
export function base64urlDecodeBytes(bytes: Uint8Array, start: i32 = 0, end: i32 = -1): Uint8Array | null {
  if (end < 0) end = bytes.length;
  if (start < 0 || start > end || end > bytes.length) return null;
  return decodeCore<u8>(bytes.dataStart + <usize>start, end - start, true);
}

/** Number of '=' at the end of a padded base64 text of length len; -1 if malformed. */
function paddedDataLength<T>(src: usize, len: i32): i32 {
  if (len < 0 || (len & 3) != 0) return -1;
  let n = len;
  if (n > 0 && charAt<T>(src, n - 1) == 0x3d) n--;
  if (n > 0 && charAt<T>(src, n - 1) == 0x3d) n--;
  // A third '=' would leave a length ≡ 1 (mod 4), which decodeCore rejects, and any '=' before
  // the padding is not in the alphabet, so it is rejected there too.
  return n;
}

/** Decodes padded standard base64 (RFC 4648 §4), e.g. an x5c certificate. */
export function base64Decode(s: string): Uint8Array | null {
  const src = changetype<usize>(s);
  const n = paddedDataLength<u16>(src, s.length);
  return n < 0 ? null : decodeCore<u16>(src, n, false);
}

/** Padded standard base64 from `len` ASCII bytes at `ptr`. */
export function base64DecodePtr(ptr: usize, len: i32): Uint8Array | null {
  const n = paddedDataLength<u8>(ptr, len);
  return n < 0 ? null : decodeCore<u8>(ptr, n, false);
}

/**
 * Padded standard base64 from `len` ASCII bytes at `ptr`, into the `cap` bytes at `dst` (no
 * allocation: for a per-request decode into a buffer of the caller's). Returns the decoded length,
 * or -1 when the text is invalid or would not fit.
 */
export function base64DecodePtrInto(ptr: usize, len: i32, dst: usize, cap: i32): i32 {
  const n = paddedDataLength<u8>(ptr, len);
  const outLen = n < 0 ? -1 : decodedLength(n);
  if (outLen < 0 || outLen > cap) return -1;
  return decodeCoreInto<u8>(ptr, n, false, dst) ? outLen : -1;
}

function encodeCore(src: usize, len: i32, url: bool): string {
  const full = len / 3;
  const rem = len - full * 3;
  let outLen = full * 4;
  if (rem != 0) outLen += url ? rem + 1 : 4;
  const out = changetype<string>(__new(<usize>outLen << 1, idof<string>()));
  const dst = changetype<usize>(out);
  let o: usize = 0;
  let i: usize = 0;
  for (let g = 0; g < full; g++, i += 3) {
    const w = (<i32>load<u8>(src + i) << 16) | (<i32>load<u8>(src + i + 1) << 8) | <i32>load<u8>(src + i + 2);
    store<u16>(dst + o, <u16>encodeChar((w >> 18) & 63, url));
    store<u16>(dst + o + 2, <u16>encodeChar((w >> 12) & 63, url));
    store<u16>(dst + o + 4, <u16>encodeChar((w >> 6) & 63, url));
    store<u16>(dst + o + 6, <u16>encodeChar(w & 63, url));
    o += 8;
  }
  if (rem != 0) {
    const a = <i32>load<u8>(src + i);
    const b = rem == 2 ? <i32>load<u8>(src + i + 1) : 0;
    const w = (a << 16) | (b << 8);
    store<u16>(dst + o, <u16>encodeChar((w >> 18) & 63, url));
    store<u16>(dst + o + 2, <u16>encodeChar((w >> 12) & 63, url));
    if (rem == 2) store<u16>(dst + o + 4, <u16>encodeChar((w >> 6) & 63, url));
    else if (!url) store<u16>(dst + o + 4, 0x3d);
    if (!url) store<u16>(dst + o + 6, 0x3d);
  }
  return out;
}

/** Encodes as unpadded base64url (RFC 7515 §2). */
export function base64urlEncode(data: Uint8Array): string {
  return encodeCore(data.dataStart, data.length, true);
}

/** Encodes `len` bytes at `ptr` as unpadded base64url. */
export function base64urlEncodePtr(ptr: usize, len: i32): string {
  return encodeCore(ptr, len, true);
}

/** Encodes as padded standard base64 (RFC 4648 §4). */
export function base64Encode(data: Uint8Array): string {
  return encodeCore(data.dataStart, data.length, false);
}
