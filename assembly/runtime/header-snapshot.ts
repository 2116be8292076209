// Lookups in a header map answered from the callback's one listing of it (header-listing.ts).
//
// Each proxy_get_header_map_value is a host call (about 1.3 µs in Envoy, plus a call into our
// malloc for the result); a request that needs several headers pays that per header. A snapshot
// answers them from the listing of the map the running callback shares (listed on the first
// lookup of the callback, by whichever filter asks first), decoding only the values asked for.
// The listing follows the changes made through the runtime (setHeaderBytes, ...), so a lookup
// always sees the map as Envoy has it now; nothing to reset between callbacks or after a change.
import { HeaderMap, pairCountAt, pairFindAt, pairFirstAt, pairValuesAt } from "./headers";
import { MapListing, currentListing } from "./header-listing";

export class HeaderSnapshot {
  constructor(public readonly map: HeaderMap) {}

  /** The first value of `key` (UTF-8 lowercase name), as proxy_get_header_map_value gives it; null when absent. */
  first(key: ArrayBuffer): string | null {
    const l = this.load();
    return l === null ? null : pairFirstAt(l.ptr, l.size, key);
  }

  /** Whether the map has `key`, without decoding its value. */
  has(key: ArrayBuffer): bool {
    const l = this.load();
    return l !== null && pairFindAt(l.ptr, l.size, key) >= 0;
  }

  /** How many entries named `key` the map has (a client may send a header more than once). */
  count(key: ArrayBuffer): i32 {
    const l = this.load();
    return l === null ? 0 : pairCountAt(l.ptr, l.size, key);
  }

  /**
   * Where the first value of `key` is, as bytes the caller decodes only in part: true when present,
   * with the value at `foundPtr` (`foundLen` bytes), valid until the map is changed.
   */
  find(key: ArrayBuffer): bool {
    const l = this.load();
    if (l === null) return false;
    const base = l.ptr;
    const at = pairFindAt(base, l.size, key);
    if (at < 0) return false;
    this.foundPtr = base + <usize>(at >>> 32);
    this.foundLen = <usize>(at & 0xffffffff);
    return true;
  }

  foundPtr: usize = 0;
  foundLen: usize = 0;

  /**
   * The whole listing (proxy-wasm pair encoding) is the `listingSize` bytes at `listingPtr`, for a
   * caller that walks every entry (all Cookie headers, say), valid until the map is changed
   * (header-listing.ts). False when the map is unavailable.
   */
  listing(): bool {
    const l = this.load();
    if (l === null) return false;
    this.listingPtr = l.ptr;
    this.listingSize = l.size;
    return true;
  }

  listingPtr: usize = 0;
  listingSize: usize = 0;

  /** Every value of `key`, in order; into `out` (emptied first, for a caller that reuses one) when given. */
  all(key: ArrayBuffer, out: string[] = new Array<string>()): string[] {
    const l = this.load();
    if (l === null) {
      out.length = 0;
      return out;
    }
    return pairValuesAt(l.ptr, l.size, key, false, out);
  }

  /** The map's listing now; null when the map is unavailable (it reads as empty, as single lookups do: they answer null). */
  private load(): MapListing | null {
    return currentListing(this.map);
  }
}
