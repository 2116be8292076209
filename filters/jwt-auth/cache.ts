// Verified tokens, so a repeated token costs a lookup instead of a signature check. Keyed by
// provider and the token itself (no digest to compute per request, and a hit needs the exact
// token); entries are only ever added after a full verification, and their time claims are
// re-checked on every hit, so a cached token still expires on time. Bounded: the oldest entry
// goes when the cache is full.
import { JsonValue } from "../../assembly/json";

export class CachedToken {
  constructor(public readonly payload: JsonValue, public readonly payloadText: string) {}
}

export class TokenCache {
  /** One map per provider index. */
  private maps: Array<Map<string, CachedToken>> = [];
  /** Insertion order, for eviction: provider index and token of each entry. */
  private orderProvider: i32[] = [];
  private orderToken: string[] = [];
  private next: i32 = 0;

  constructor(private capacity: i32) {}

  get(providerIndex: i32, token: string): CachedToken | null {
    if (providerIndex >= this.maps.length) return null;
    const map = this.maps[providerIndex];
    return map.has(token) ? map.get(token) : null;
  }

  put(providerIndex: i32, token: string, entry: CachedToken): void {
    while (this.maps.length <= providerIndex) this.maps.push(new Map());
    const map = this.maps[providerIndex];
    if (map.has(token)) return;
    if (this.orderToken.length < this.capacity) {
      this.orderProvider.push(providerIndex);
      this.orderToken.push(token);
    } else {
      this.maps[this.orderProvider[this.next]].delete(this.orderToken[this.next]);
      this.orderProvider[this.next] = providerIndex;
      this.orderToken[this.next] = token;
      this.next = (this.next + 1) % this.capacity;
    }
    map.set(token, entry);
  }

  clear(): void {
    for (let i = 0; i < this.maps.length; i++) this.maps[i].clear();
    this.orderProvider.length = 0;
    this.orderToken.length = 0;
    this.next = 0;
  }
}
