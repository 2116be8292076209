// Finding a token in a request (header with an optional scheme prefix, query parameter, or
// cookie) and removing it again. Pure string functions; the host I/O is in index.ts.
import { decodeUtf8Lossy } from "../../assembly/encoding/utf8";

/** The token in a header value after `prefix` (compared case-insensitively: "Bearer" is a scheme). */
export function fromHeaderValue(value: string, prefix: string): string | null {
  if (prefix.length == 0) {
    const t = value.trim();
    return t.length ? t : null;
  }
  if (value.length < prefix.length || !startsWithIgnoringCase(value, prefix)) return null;
  const t = value.substring(prefix.length).trim();
  return t.length ? t : null;
}

@inline function isAsciiSpace(b: u32): bool {
  return b == 0x20 || (b >= 0x09 && b <= 0x0d);
}

/**
 * fromHeaderValue on a header value's UTF-8 bytes (`len` at `ptr`, as the host listed them),
 * decoding only the token: the usual `Bearer <token>` costs one string, not the whole value and
 * then its substring. The answer is always fromHeaderValue's: the byte path only decides what it
 * can decide on ASCII bytes (an ASCII prefix, ASCII around the token, where the cut points fall
 * on characters and lossy decoding of the part is the part of the decoding); anything else
 * (a non-ASCII byte where the prefix or trimming looks) takes the string path.
 */
export function tokenFromHeaderBytes(ptr: usize, len: usize, prefix: string): string | null {
  const p = <usize>prefix.length;
  for (let i: usize = 0; i < p; i++) {
    const b = <i32>prefix.charCodeAt(<i32>i);
    if (b >= 0x80) return fromHeaderValue(decodeUtf8Lossy(ptr, len), prefix);
    if (i >= len) return null; // fewer bytes than the prefix's ASCII characters: fewer characters too
    const a = <i32>load<u8>(ptr + i);
    if (a >= 0x80) return fromHeaderValue(decodeUtf8Lossy(ptr, len), prefix);
    if (asciiLower(a) != asciiLower(b)) return null;
  }
  let start = p;
  let end = len;
  while (start < end && isAsciiSpace(<u32>load<u8>(ptr + start))) start++;
  while (end > start && isAsciiSpace(<u32>load<u8>(ptr + end - 1))) end--;
  if (start == end) return null;
  // String#trim also strips Unicode spaces (U+00A0, U+3000, ...): a non-ASCII byte at either end
  // may be one.
  if (load<u8>(ptr + start) >= 0x80 || load<u8>(ptr + end - 1) >= 0x80) return fromHeaderValue(decodeUtf8Lossy(ptr, len), prefix);
  return decodeUtf8Lossy(ptr + start, end - start);
}

function asciiLower(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/**
 * `value.substring(0, prefix.length).toLowerCase() == prefix.toLowerCase()` without building
 * the three strings on every request: ASCII is compared in place, and only a pair of differing
 * non-ASCII characters falls back to the full Unicode comparison.
 */
function startsWithIgnoringCase(value: string, prefix: string): bool {
  for (let i = 0; i < prefix.length; i++) {
    const a = value.charCodeAt(i);
    const b = prefix.charCodeAt(i);
    if (a == b) continue;
    if (a >= 0x80 || b >= 0x80) return value.substring(0, prefix.length).toLowerCase() == prefix.toLowerCase();
    if (asciiLower(a) != asciiLower(b)) return false;
  }
  return true;
}

/** The value of query parameter `name` in a `:path`, or null. */
export function fromQuery(path: string, name: string): string | null {
  const q = path.indexOf("?");
  if (q < 0) return null;
  const params = path.substring(q + 1).split("&");
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    const eq = p.indexOf("=");
    const key = eq < 0 ? p : p.substring(0, eq);
    if (key == name) {
      const v = eq < 0 ? "" : p.substring(eq + 1);
      return v.length ? v : null;
    }
  }
  return null;
}

/** `path` without query parameter `name` (the token must not travel upstream). */
export function withoutQueryParam(path: string, name: string): string {
  const q = path.indexOf("?");
  if (q < 0) return path;
  const params = path.substring(q + 1).split("&");
  const kept = new Array<string>();
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    const eq = p.indexOf("=");
    if ((eq < 0 ? p : p.substring(0, eq)) != name) kept.push(p);
  }
  const base = path.substring(0, q);
  return kept.length ? base + "?" + kept.join("&") : base;
}

/** The value of cookie `name` in a Cookie header, or null. */
export function fromCookie(header: string, name: string): string | null {
  const parts = header.split(";");
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i].trim();
    const eq = p.indexOf("=");
    if (eq > 0 && p.substring(0, eq) == name) {
      const v = p.substring(eq + 1);
      return v.length ? v : null;
    }
  }
  return null;
}

/** A Cookie header without cookie `name` ("" when nothing is left). */
export function withoutCookie(header: string, name: string): string {
  const parts = header.split(";");
  const kept = new Array<string>();
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i].trim();
    const eq = p.indexOf("=");
    if (p.length && !(eq > 0 && p.substring(0, eq) == name)) kept.push(p);
  }
  return kept.join("; ");
}
