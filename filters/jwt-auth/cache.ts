// Verified tokens, so a repeated token costs a lookup instead of a signature check. Entries are
// only ever added after a full verification, and their time claims are re-checked on every hit,
// so a cached token still expires on time. Bounded: the oldest entry goes when the cache is full.
//
// Keyed by a 64-bit fingerprint of the token's bytes, read eight at a time, and a hit needs the
// exact token, compared in constant time. A map keyed by the token string itself hashed it in
// small steps and then compared it with an early exit: about a microsecond per request for the
// bench's 500-character token, the largest part of a cached verification. The fingerprint is not
// a secret and need not resist collisions: a token that collides with a cached one fails the
// comparison and is verified in full, as on a miss. The comparison is constant-time because a
// cached token is another caller's credential.
import { JsonValue } from "../../assembly/json";
import { constantTimeEqualPtr } from "../../assembly/crypto/ct";

export class CachedToken {
  constructor(public readonly token: string, public readonly payload: JsonValue, public readonly payloadText: string) {}
}

const MULTIPLIER: u64 = 0x9e3779b97f4a7c15;

/** A 64-bit fingerprint of the `len` bytes at `ptr`: every byte counts, eight per step. */
export function fingerprint(ptr: usize, len: usize): u64 {
  let h: u64 = <u64>len * MULTIPLIER;
  let i: usize = 0;
  for (; i + 8 <= len; i += 8) h = mix(h ^ load<u64>(ptr + i));
  let tail: u64 = 0;
  for (let shift: u64 = 0; i < len; i++, shift += 8) tail |= <u64>load<u8>(ptr + i) << shift;
  return mix(h ^ tail);
}

// @ts-ignore: decorator
@inline function mix(h: u64): u64 {
  h *= MULTIPLIER;
  return h ^ (h >> 29);
}

function tokenKey(token: string): u64 {
  return fingerprint(changetype<usize>(token), <usize>token.length << 1);
}

function sameToken(a: string, b: string): bool {
  return a.length == b.length && constantTimeEqualPtr(changetype<usize>(a), changetype<usize>(b), a.length << 1);
}

export class TokenCache {
  /** One map per provider index. */
  private maps: Array<Map<u64, CachedToken>> = [];
  /** Insertion order, for eviction: provider index and key of each entry. */
  private orderProvider: i32[] = [];
  private orderKey: u64[] = [];
  private next: i32 = 0;

  constructor(private capacity: i32) {}

  get(providerIndex: i32, token: string): CachedToken | null {
    if (providerIndex >= this.maps.length) return null;
    const map = this.maps[providerIndex];
    const key = tokenKey(token);
    if (!map.has(key)) return null;
    const entry = map.get(key);
    return sameToken(entry.token, token) ? entry : null;
  }

  /**
   * Caches `entry` for `entry.token`. A different token already held under the same key stays
   * (a fingerprint collision between two verified tokens): the new one is verified in full each time.
   */
  put(providerIndex: i32, entry: CachedToken): void {
    while (this.maps.length <= providerIndex) this.maps.push(new Map());
    const map = this.maps[providerIndex];
    const key = tokenKey(entry.token);
    if (map.has(key)) return;
    if (this.orderKey.length < this.capacity) {
      this.orderProvider.push(providerIndex);
      this.orderKey.push(key);
    } else {
      this.maps[this.orderProvider[this.next]].delete(this.orderKey[this.next]);
      this.orderProvider[this.next] = providerIndex;
      this.orderKey[this.next] = key;
      this.next = (this.next + 1) % this.capacity;
    }
    map.set(key, entry);
  }

  clear(): void {
    for (let i = 0; i < this.maps.length; i++) this.maps[i].clear();
    this.orderProvider.length = 0;
    this.orderKey.length = 0;
    this.next = 0;
  }
}
