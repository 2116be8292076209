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

/** Whether the `len` bytes at `ptr` are all ASCII (high bits checked eight bytes at a time). */
function isAscii(ptr: usize, len: usize): bool {
  const end = ptr + len;
  let p = ptr;
  for (; p + 8 <= end; p += 8) if ((load<u64>(p) & 0x8080808080808080) != 0) return false;
  for (; p < end; p++) if ((<u32>load<u8>(p) & 0x80) != 0) return false;
  return true;
}

/** ASCII bytes as a string: each byte is its UTF-16 code unit, so they are widened, not decoded. */
function widenAscii(ptr: usize, len: usize): string {
  const out = changetype<string>(__new(len << 1, idof<String>()));
  const base = changetype<usize>(out);
  let i: usize = 0;
  for (; i + 4 <= len; i += 4) {
    const w = <u64>load<u32>(ptr + i);
    store<u64>(base + (i << 1), (w & 0xff) | ((w & 0xff00) << 8) | ((w & 0xff0000) << 16) | ((w & 0xff000000) << 24));
  }
  for (; i < len; i++) store<u16>(base + (i << 1), <u16>load<u8>(ptr + i));
  return out;
}

/**
 * Decodes `len` bytes at `ptr`; each byte that starts no well-formed sequence becomes U+FFFD.
 * Header values and tokens are nearly always ASCII: those are widened without decoding (a JWT
 * of ~540 bytes went through the validating loop, then the decoder: half of jwt-auth's own
 * time per request).
 * Linear time: one UTF-16 buffer (never more units than bytes), no string concatenation (a
 * value of 200,000 invalid bytes once took minutes that way).
 */
export function decodeUtf8Lossy(ptr: usize, len: usize): string {
  if (isAscii(ptr, len)) return widenAscii(ptr, len); // the usual case
  const end = ptr + len;
  if (validRunEnd(ptr, end) == end) return String.UTF8.decodeUnsafe(ptr, len);
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
