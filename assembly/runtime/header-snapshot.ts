// One read of a header map serving every lookup of a callback.
//
// Each proxy_get_header_map_value is a host call (about 1.3 µs in Envoy, plus a call into our
// malloc for the result); a request that needs several headers pays that per header. A snapshot
// lists the map once (proxy_get_header_map_pairs) on the first lookup and answers the later ones
// from those bytes, decoding only the values asked for. It is only right while the map is as it
// was read: owners call `reset()` at the start of each callback and after changing the map
// (or, like header-rewrite's writer, stop asking it about the names they changed).
import { HeaderMap, getHeaderPairsBytes, pairValues } from "./headers";

export class HeaderSnapshot {
  private pairs: ArrayBuffer | null = null;
  private loaded: bool = false;

  constructor(public readonly map: HeaderMap) {}

  /** Forgets the read, so the next lookup lists the map again. */
  reset(): void {
    this.pairs = null;
    this.loaded = false;
  }

  /** Uses a listing the caller already made in this callback (it saves the host call). */
  adopt(pairs: ArrayBuffer): void {
    this.pairs = pairs;
    this.loaded = true;
  }

  /** The first value of `key` (UTF-8 lowercase name), as proxy_get_header_map_value gives it; null when absent. */
  first(key: ArrayBuffer): string | null {
    const buf = this.load();
    if (buf === null) return null;
    const v = pairValues(buf, key, true);
    return v.length == 0 ? null : v[0];
  }

  /** Every value of `key`, in order. */
  all(key: ArrayBuffer): string[] {
    const buf = this.load();
    return buf === null ? [] : pairValues(buf, key, false);
  }

  private load(): ArrayBuffer | null {
    if (!this.loaded) {
      // An unavailable map reads as empty, as single lookups do (they answer null).
      this.pairs = getHeaderPairsBytes(this.map);
      this.loaded = true;
    }
    return this.pairs;
  }
}
