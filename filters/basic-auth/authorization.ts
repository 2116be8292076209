// Reading `Authorization: Basic <base64(user-id ":" password)>` (RFC 7617) from the header's
// bytes. Pure: the request path hands it the value as Envoy gave it.
//
//  - The scheme is case-insensitive (RFC 7235 §2.1): "basic" and "BASIC" are Basic.
//  - One or more spaces separate it from the credentials (RFC 7235: 1*SP). A value that starts
//    with "basic" without the space ("BasicYWxp...") is a malformed Basic credential.
//  - The credentials are base64 (RFC 4648 §4), padded or not, in the canonical form only; anything
//    else (a stray character, whitespace inside, non-zero unused bits) is malformed.
//  - The user-id ends at the FIRST colon (RFC 7617 §2: a user-id cannot contain one); the password
//    is everything after it, colons included, as bytes (any charset: they are only hashed).
//  - A value longer than MAX_AUTHORIZATION_BYTES is malformed without being decoded.
import { base64DecodePtr } from "../../assembly/encoding/base64url";

/** The longest Authorization value read; longer ones are refused (a bound on the work per request). */
export const MAX_AUTHORIZATION_BYTES: i32 = 4096;

export enum AuthorizationKind {
  /** Basic credentials, split into user-id and password. */
  Basic = 0,
  /** Another scheme (Bearer, Digest, ...): no Basic credential in this request. */
  OtherScheme = 1,
  /** Claims to be Basic (or is unreadable) but is not a well-formed Basic credential. */
  Malformed = 2,
}

/** One parse's result, reused from request to request. */
export class BasicCredentials {
  kind: AuthorizationKind = AuthorizationKind.Malformed;
  /** The decoded "user-id:password" bytes (kind Basic). */
  decoded: Uint8Array = new Uint8Array(0);
  /** Where the first colon is in `decoded`. */
  colon: i32 = 0;

  get userPtr(): usize { return this.decoded.dataStart; }
  get userLen(): i32 { return this.colon; }
  get passwordPtr(): usize { return this.decoded.dataStart + <usize>(this.colon + 1); }
  get passwordLen(): i32 { return this.decoded.length - this.colon - 1; }
}

/** The credentials with "=" padding restored, for the padded decoder (bounded by MAX_AUTHORIZATION_BYTES). */
const PADDED: usize = memory.data(MAX_AUTHORIZATION_BYTES + 4, 16);

@inline function lower(c: u32): u32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** Whether the 5 bytes at p spell "basic" in any case. */
function isBasicScheme(p: usize): bool {
  return lower(load<u8>(p)) == 0x62 && lower(load<u8>(p, 1)) == 0x61 && lower(load<u8>(p, 2)) == 0x73
    && lower(load<u8>(p, 3)) == 0x69 && lower(load<u8>(p, 4)) == 0x63;
}

/** Parses the `len` bytes of an Authorization value at `ptr` into `out`. */
export function parseAuthorization(ptr: usize, len: i32, out: BasicCredentials): void {
  out.kind = AuthorizationKind.Malformed;
  if (len > MAX_AUTHORIZATION_BYTES || len <= 0) return;
  // The scheme: the token up to the first space (or the whole value).
  let sp = 0;
  while (sp < len && load<u8>(ptr + <usize>sp) != 0x20) sp++;
  if (len < 5 || !isBasicScheme(ptr)) {
    out.kind = AuthorizationKind.OtherScheme;
    return;
  }
  // "Basicxyz" is a Basic credential missing its space, not another scheme: refused, not anonymous.
  if (sp != 5) return;
  let start = sp;
  while (start < len && load<u8>(ptr + <usize>start) == 0x20) start++;
  const n = len - start;
  if (n == 0) return; // "Basic" alone
  let decoded: Uint8Array | null;
  if ((n & 3) == 0) {
    decoded = base64DecodePtr(ptr + <usize>start, n);
  } else {
    // No base64 text has a length of 1 (mod 4); an unpadded one has no "=" at all.
    if ((n & 3) == 1 || load<u8>(ptr + <usize>(len - 1)) == 0x3d) return;
    memory.copy(PADDED, ptr + <usize>start, <usize>n);
    const pad = 4 - (n & 3);
    memory.fill(PADDED + <usize>n, 0x3d, <usize>pad);
    decoded = base64DecodePtr(PADDED, n + pad);
  }
  if (decoded === null) return;
  const d = decoded.dataStart;
  let colon = 0;
  while (colon < decoded.length && load<u8>(d + <usize>colon) != 0x3a) colon++;
  if (colon == decoded.length) return;
  out.decoded = decoded;
  out.colon = colon;
  out.kind = AuthorizationKind.Basic;
}
