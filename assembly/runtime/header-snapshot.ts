// One read of a header map serving every lookup of a callback.
//
// Each proxy_get_header_map_value is a host call (about 1.3 µs in Envoy, plus a call into our
// malloc for the result); a request that needs several headers pays that per header. A snapshot
// lists the map once (proxy_get_header_map_pairs) on the first lookup and answers the later ones
// from those bytes, decoding only the values asked for. It is only right while the map is as it
// was read: owners call `reset()` at the start of each callback and after changing the map
// (or, like header-rewrite's writer, stop asking it about the names they changed).
//
// The listing arrives in the host-result scratch (host-alloc.ts), which the next host call that
// returns data overwrites, while a snapshot answers lookups across such calls: so it copies the
// listing into a buffer of its own. Owners keep one snapshot per root context, so that buffer is
// reused by every request instead of being a new object each time; one grown past RETAIN_MAX for
// an unusually large map is dropped at the next reset, so what a VM keeps stays bounded.
import { HeaderMap, listHeaderPairs, pairCountAt, pairFindAt, pairFirstAt, pairValuesAt } from "./headers";
import { hostResultPtr, hostResultSize, releaseHostResult } from "./host";

const RETAIN_MAX: i32 = 16 * 1024;
const MIN_BYTES: i32 = 512;

export class HeaderSnapshot {
  private bytes: ArrayBuffer | null = null;
  private size: usize = 0;
  private available: bool = false;
  private loaded: bool = false;

  constructor(public readonly map: HeaderMap) {}

  /** Forgets the read, so the next lookup lists the map again. */
  reset(): void {
    this.loaded = false;
    this.available = false;
    this.size = 0;
    const b = this.bytes;
    if (b !== null && b.byteLength > RETAIN_MAX) this.bytes = null;
  }

  /**
   * Uses the listing of this map the caller just made in this callback (listHeaderPairs; it saves
   * the host call): copies it from the host result, which stays the caller's to release.
   */
  adoptHostResult(): void {
    this.keep(hostResultPtr(), hostResultSize());
  }

  /** The first value of `key` (UTF-8 lowercase name), as proxy_get_header_map_value gives it; null when absent. */
  first(key: ArrayBuffer): string | null {
    if (!this.load()) return null;
    return pairFirstAt(changetype<usize>(this.bytes), this.size, key);
  }

  /** Whether the map has `key`, without decoding its value. */
  has(key: ArrayBuffer): bool {
    return this.load() && pairFindAt(changetype<usize>(this.bytes), this.size, key) >= 0;
  }

  /** How many entries named `key` the map has (a client may send a header more than once). */
  count(key: ArrayBuffer): i32 {
    if (!this.load()) return 0;
    return pairCountAt(changetype<usize>(this.bytes), this.size, key);
  }

  /**
   * Where the first value of `key` is, as bytes the caller decodes only in part: true when present,
   * with the value at `foundPtr` (`foundLen` bytes), valid until this snapshot is reset or reloaded.
   */
  find(key: ArrayBuffer): bool {
    if (!this.load()) return false;
    const base = changetype<usize>(this.bytes);
    const at = pairFindAt(base, this.size, key);
    if (at < 0) return false;
    this.foundPtr = base + <usize>(at >>> 32);
    this.foundLen = <usize>(at & 0xffffffff);
    return true;
  }

  foundPtr: usize = 0;
  foundLen: usize = 0;

  /**
   * Reads the map if this snapshot has not yet: then the whole listing (proxy-wasm pair encoding)
   * is the `listingSize` bytes at `listingPtr`, for a caller that walks every entry (all Cookie
   * headers, say), valid until this snapshot is reset or reloaded. False when the map is unavailable.
   */
  listing(): bool {
    if (!this.load()) return false;
    this.listingPtr = changetype<usize>(this.bytes);
    this.listingSize = this.size;
    return true;
  }

  listingPtr: usize = 0;
  listingSize: usize = 0;

  /** Every value of `key`, in order; into `out` (emptied first, for a caller that reuses one) when given. */
  all(key: ArrayBuffer, out: string[] = new Array<string>()): string[] {
    if (!this.load()) {
      out.length = 0;
      return out;
    }
    return pairValuesAt(changetype<usize>(this.bytes), this.size, key, false, out);
  }

  /** Whether the map could be read; an unavailable map reads as empty, as single lookups do (they answer null). */
  private load(): bool {
    if (!this.loaded) {
      if (listHeaderPairs(this.map)) {
        this.keep(hostResultPtr(), hostResultSize());
        releaseHostResult();
      } else {
        this.loaded = true;
        this.available = false;
      }
    }
    return this.available;
  }

  private keep(ptr: usize, size: usize): void {
    let b = this.bytes;
    if (b === null || <usize>b.byteLength < size) {
      // Doubling up to RETAIN_MAX (a buffer kept for the next requests); past it, the exact size.
      let cap: usize = b === null ? <usize>MIN_BYTES : <usize>b.byteLength;
      while (cap < size && cap < <usize>RETAIN_MAX) cap <<= 1;
      if (cap < size) cap = size;
      b = new ArrayBuffer(<i32>cap);
      this.bytes = b;
    }
    if (size > 0) memory.copy(changetype<usize>(b), ptr, size);
    this.size = size;
    this.loaded = true;
    this.available = true;
  }
}
