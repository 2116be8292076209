// Lossy UTF-8 decoding for bytes from the host (header values, properties). Envoy hands a filter
// header values as they came, and obs-text bytes (0x80-0xff) are not UTF-8. AssemblyScript's
// String.UTF8.decodeUnsafe does not validate: an invalid byte swallows the bytes after it (so
// "a\xffb" read as "a", and "prod\xff..." could match an exact "prod"). Here every byte that does
// not start a well-formed sequence becomes U+FFFD, and the rest is kept.

@inline function isCont(b: u32): bool { return (b & 0xc0) == 0x80; }

/** Length (1-4) of the well-formed UTF-8 sequence at `p`, or 0 when none starts there. */
function sequenceAt(p: usize, end: usize): usize {
  const b0 = <u32>load<u8>(p);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) return end - p >= 2 && isCont(<u32>load<u8>(p + 1)) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (end - p < 3) return 0;
    const b1 = <u32>load<u8>(p + 1);
    if ((b0 == 0xe0 && b1 < 0xa0) || (b0 == 0xed && b1 > 0x9f)) return 0; // overlong, surrogate
    return isCont(b1) && isCont(<u32>load<u8>(p + 2)) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (end - p < 4) return 0;
    const b1 = <u32>load<u8>(p + 1);
    if ((b0 == 0xf0 && b1 < 0x90) || (b0 == 0xf4 && b1 > 0x8f)) return 0; // overlong, above U+10FFFF
    return isCont(b1) && isCont(<u32>load<u8>(p + 2)) && isCont(<u32>load<u8>(p + 3)) ? 4 : 0;
  }
  return 0;
}

/** The end of the run of well-formed sequences starting at `p`. */
function validRunEnd(p: usize, end: usize): usize {
  while (p < end) {
    const n = sequenceAt(p, end);
    if (n == 0) break;
    p += n;
  }
  return p;
}

/**
 * Decodes `len` bytes at `ptr`; each byte that starts no well-formed sequence becomes U+FFFD.
 * Linear time: one UTF-16 buffer (never more units than bytes), no string concatenation (a
 * value of 200,000 invalid bytes once took minutes that way).
 */
export function decodeUtf8Lossy(ptr: usize, len: usize): string {
  const end = ptr + len;
  if (validRunEnd(ptr, end) == end) return String.UTF8.decodeUnsafe(ptr, len); // the usual case
  const out = new ArrayBuffer(<i32>(len << 1));
  const base = changetype<usize>(out);
  let units: usize = 0;
  let p = ptr;
  while (p < end) {
    const n = sequenceAt(p, end);
    const b0 = <u32>load<u8>(p);
    let unit: u32 = 0xfffd;
    if (n == 1) unit = b0;
    else if (n == 2) unit = ((b0 & 0x1f) << 6) | (<u32>load<u8>(p + 1) & 0x3f);
    else if (n == 3) unit = ((b0 & 0x0f) << 12) | ((<u32>load<u8>(p + 1) & 0x3f) << 6) | (<u32>load<u8>(p + 2) & 0x3f);
    else if (n == 4) {
      const cp = (((b0 & 0x07) << 18) | ((<u32>load<u8>(p + 1) & 0x3f) << 12) | ((<u32>load<u8>(p + 2) & 0x3f) << 6) | (<u32>load<u8>(p + 3) & 0x3f)) - 0x10000;
      store<u16>(base + (units << 1), <u16>(0xd800 | (cp >> 10)));
      units++;
      unit = 0xdc00 | (cp & 0x3ff);
    }
    store<u16>(base + (units << 1), <u16>unit);
    units++;
    p += n == 0 ? 1 : n;
  }
  return String.UTF16.decodeUnsafe(base, units << 1);
}
