// Verified tokens, so a repeated token costs a hash and a lookup instead of a signature check.
// Keyed by provider and the SHA-256 of the token; entries are only ever added after a full
// verification, and their time claims are re-checked on every hit, so a cached token still
// expires on time. Bounded: the oldest entry goes when the cache is full.
import { hash, HashAlg } from "../../assembly/crypto/hash";
import { hexEncode } from "../../assembly/encoding/hex";
import { JsonValue } from "../../assembly/json";

export class CachedToken {
  constructor(public readonly payload: JsonValue, public readonly payloadText: string) {}
}

export class TokenCache {
  private map: Map<string, CachedToken> = new Map();
  private order: string[] = [];
  private next: i32 = 0;

  constructor(private capacity: i32) {}

  key(providerIndex: i32, token: string): string {
    return providerIndex.toString() + ":" + hexEncode(hash(HashAlg.Sha256, Uint8Array.wrap(String.UTF8.encode(token))));
  }

  get(key: string): CachedToken | null {
    return this.map.has(key) ? this.map.get(key) : null;
  }

  put(key: string, entry: CachedToken): void {
    if (this.map.has(key)) return;
    if (this.order.length < this.capacity) this.order.push(key);
    else {
      this.map.delete(this.order[this.next]);
      this.order[this.next] = key;
      this.next = (this.next + 1) % this.capacity;
    }
    this.map.set(key, entry);
  }

  get size(): i32 { return this.map.size; }

  clear(): void {
    this.map.clear();
    this.order.length = 0;
    this.next = 0;
  }
}
