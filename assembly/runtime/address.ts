// The IP part of an address as Envoy writes `source.address`: "ip:port" or "[v6]:port" (a bare
// address, without a port, is kept whole).
import { decodeUtf8Lossy } from "../encoding/utf8";

/** Strips the port from "ip:port" or "[v6]:port". */
export function addressIp(address: string): string {
  if (address.startsWith("[")) {
    const close = address.indexOf("]");
    return close > 0 ? address.substring(1, close) : address;
  }
  const colon = address.lastIndexOf(":");
  // A bare IPv6 address has several colons and no port.
  if (colon < 0 || address.indexOf(":") != colon) return address;
  return address.substring(0, colon);
}

/**
 * addressIp of the `len` bytes at `ptr` (as the host returned them), decoding only the IP: one
 * string instead of the address and then its substring. The same cut: '[', ']' and ':' are ASCII,
 * which never occurs inside a multi-byte UTF-8 sequence, and the lossy decoder replaces each bad
 * byte on its own, so decoding the cut bytes is cutting the decoded text.
 */
export function addressIpAt(ptr: usize, len: usize): string {
  if (len > 0 && load<u8>(ptr) == 0x5b) {
    let close: usize = 1;
    while (close < len && load<u8>(ptr + close) != 0x5d) close++;
    return close < len ? decodeUtf8Lossy(ptr + 1, close - 1) : decodeUtf8Lossy(ptr, len);
  }
  let first: isize = -1;
  let last: isize = -1;
  for (let i: usize = 0; i < len; i++) {
    if (load<u8>(ptr + i) != 0x3a) continue;
    if (first < 0) first = <isize>i;
    last = <isize>i;
  }
  if (last < 0 || first != last) return decodeUtf8Lossy(ptr, len);
  return decodeUtf8Lossy(ptr, <usize>last);
}
