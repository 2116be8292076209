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
import { base64DecodePtrInto } from "../../assembly/encoding/base64url";

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

/** The most bytes the credentials of a value within MAX_AUTHORIZATION_BYTES decode to. */
const MAX_DECODED: i32 = (MAX_AUTHORIZATION_BYTES / 4) * 3;
/** Where the credentials are decoded: one buffer for every request, so a request allocates nothing here. */
const DECODED: usize = memory.data(MAX_DECODED, 16);
/** The credentials with "=" padding restored, for the padded decoder (bounded by MAX_AUTHORIZATION_BYTES). */
const PADDED: usize = memory.data(MAX_AUTHORIZATION_BYTES + 4, 16);

/**
 * One parse's result, reused from request to request. The user-id and password point into a
 * buffer the next parse overwrites: read them before parsing again.
 */
export class BasicCredentials {
  kind: AuthorizationKind = AuthorizationKind.Malformed;
  /** The decoded "user-id:password" is `decodedLen` bytes at DECODED (kind Basic). */
  decodedLen: i32 = 0;
  /** Where the first colon is in the decoded bytes. */
  colon: i32 = 0;

  get userPtr(): usize { return DECODED; }
  get userLen(): i32 { return this.colon; }
  get passwordPtr(): usize { return DECODED + <usize>(this.colon + 1); }
  get passwordLen(): i32 { return this.decodedLen - this.colon - 1; }
}

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
  let n2 = n;
  let text = ptr + <usize>start;
  if ((n & 3) != 0) {
    // No base64 text has a length of 1 (mod 4); an unpadded one has no "=" at all.
    if ((n & 3) == 1 || load<u8>(ptr + <usize>(len - 1)) == 0x3d) return;
    memory.copy(PADDED, text, <usize>n);
    const pad = 4 - (n & 3);
    memory.fill(PADDED + <usize>n, 0x3d, <usize>pad);
    text = PADDED;
    n2 = n + pad;
  }
  const decodedLen = base64DecodePtrInto(text, n2, DECODED, MAX_DECODED);
  if (decodedLen < 0) return;
  let colon = 0;
  while (colon < decodedLen && load<u8>(DECODED + <usize>colon) != 0x3a) colon++;
  if (colon == decodedLen) return;
  out.decodedLen = decodedLen;
  out.colon = colon;
  out.kind = AuthorizationKind.Basic;
}
