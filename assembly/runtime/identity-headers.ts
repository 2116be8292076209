// Identity headers: request headers a filter writes for the upstream to trust (a verified
// subject, its roles, a consumer name). A client must not be able to send its own, and "its own"
// is wider than the exact name: many upstreams (CGI, PHP-FPM, most WSGI servers, nginx with
// `underscores_in_headers`) read `x_jwt_sub` or `X_Jwt-Sub` as `x-jwt-sub`, and an Envoy that
// allows underscores in names (its default) forwards them. So every request header whose name
// folds (ASCII lower case, `_` as `-`) to an identity header's folded name is removed, whatever
// the listener's headers_with_underscores_action says.
import { HeaderMap, removeHeaderBytes } from "./headers";
import { currentListing } from "./header-listing";

@inline function foldByte(c: u32): u32 {
  if (c >= 0x41 && c <= 0x5a) return c | 0x20; // A-Z
  return c == 0x5f ? 0x2d : c; // _ -> -
}

/** `name` as a lenient upstream reads it: ASCII letters in lower case, `_` as `-`. */
export function foldHeaderName(name: string): string {
  let out = "";
  for (let i = 0; i < name.length; i++) out += String.fromCharCode(foldByte(name.charCodeAt(i)));
  return out;
}

/** Whether the `len` bytes at `name` fold to exactly `folded` (already folded). */
function foldsTo(name: usize, len: usize, folded: ArrayBuffer): bool {
  if (len != <usize>folded.byteLength) return false;
  const f = changetype<usize>(folded);
  for (let i: usize = 0; i < len; i++) {
    if (foldByte(<u32>load<u8>(name + i)) != <u32>load<u8>(f + i)) return false;
  }
  return true;
}

function sameBytes(a: usize, len: usize, b: ArrayBuffer): bool {
  return len == <usize>b.byteLength && memory.compare(a, changetype<usize>(b), len) == 0;
}

/** The identity headers of one filter configuration, folded once (at configure time). */
export class IdentityHeaders {
  private readonly folded: ArrayBuffer[] = [];
  /** The names strip() found, reused by every request (usually none). */
  private readonly found: ArrayBuffer[] = [];

  /** `names`: every header the filter may write; duplicates and spelling variants count once. */
  constructor(names: string[]) {
    const seen = new Set<string>();
    for (let i = 0; i < names.length; i++) {
      const f = foldHeaderName(names[i]);
      if (seen.has(f)) continue;
      seen.add(f);
      this.folded.push(String.UTF8.encode(f));
    }
  }

  /** How many distinct folded names; 0 means strip() costs nothing. */
  get size(): i32 {
    return this.folded.length;
  }

  /**
   * The header names in a proxy-wasm pairs buffer (count, (name size, value size)*, then
   * NUL-terminated bytes) that fold to one of ours, each once, as sent. A malformed buffer yields
   * what could be read before the damage.
   */
  spoofedIn(pairs: ArrayBuffer): ArrayBuffer[] {
    return this.spoofedAt(changetype<usize>(pairs), <usize>pairs.byteLength);
  }

  /** spoofedIn on the `total` bytes at `base`, into `found` (emptied first) when given. */
  spoofedAt(base: usize, total: usize, found: ArrayBuffer[] = new Array<ArrayBuffer>()): ArrayBuffer[] {
    found.length = 0;
    if (total < 4 || this.folded.length == 0) return found;
    const count = <usize>load<u32>(base);
    if (count > (total - 4) / 8) return found;
    let data = base + 4 + count * 8;
    const end = base + total;
    for (let i: usize = 0; i < count; i++) {
      const nameLen = <usize>load<u32>(base + 4 + i * 8);
      const valueLen = <usize>load<u32>(base + 8 + i * 8);
      if (nameLen > end - data || valueLen + 2 > end - data - nameLen) break;
      const name = data;
      data += nameLen + valueLen + 2;
      if (!this.matches(name, nameLen) || this.listed(found, name, nameLen)) continue;
      const copy = new ArrayBuffer(<i32>nameLen);
      memory.copy(changetype<usize>(copy), name, nameLen);
      found.push(copy);
    }
    return found;
  }

  /**
   * Removes from the request every header whose name folds to one of ours: found in the
   * callback's listing of the request headers (header-listing.ts: one host call when no filter
   * listed them yet, which the callback's later lookups then share), then one host call per name
   * found; no host call at all when there are no identity headers.
   */
  strip(): void {
    if (this.folded.length == 0) return;
    const l = currentListing(HeaderMap.RequestHeaders);
    if (l === null) return;
    // The names are copies: removing one changes the listing they were found in.
    const names = this.spoofedAt(l.ptr, l.size, this.found);
    for (let i = 0; i < names.length; i++) removeHeaderBytes(HeaderMap.RequestHeaders, names[i]);
  }

  private matches(name: usize, len: usize): bool {
    for (let k = 0; k < this.folded.length; k++) if (foldsTo(name, len, this.folded[k])) return true;
    return false;
  }

  private listed(found: ArrayBuffer[], name: usize, len: usize): bool {
    for (let k = 0; k < found.length; k++) if (sameBytes(name, len, found[k])) return true;
    return false;
  }
}
