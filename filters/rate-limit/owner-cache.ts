// The owner ids of recently seen keys, so a client that sends many requests (the usual case on a
// keep-alive connection) costs one SHA-256 per key, not one per request. SHA-256 was about a
// third of this filter's own Wasm time per request.
//
// Direct-mapped, by the key's slot hash (FNV, already computed per request): an entry answers
// only for the exact key it was computed from (full string comparison), so the cache cannot make
// two keys share an owner id; a collision of FNV indexes only evicts. Bounded: SIZE entries, and
// keys longer than MAX_KEY_CHARS (a header value can be kilobytes) are never kept.
import { Sha256 } from "../../assembly/crypto/sha256";

const SIZE: i32 = 64; // a power of two
const MAX_KEY_CHARS: i32 = 64;
const ID_BYTES: i32 = 32;

export class OwnerIdCache {
  private keys: (string | null)[] = new Array<string | null>(SIZE).fill(null);
  private ids: ArrayBuffer = new ArrayBuffer(SIZE * ID_BYTES);
  private hasher: Sha256 = new Sha256();
  /** The answer of the last lookup, valid until the next one. */
  private out: ArrayBuffer = new ArrayBuffer(ID_BYTES);

  /** SHA-256 of `key` (its first bytes are the owner id); `hash` is the key's FNV hash. */
  lookup(key: string, hash: u32): ArrayBuffer {
    const i = <i32>(hash & <u32>(SIZE - 1));
    const slot = changetype<usize>(this.ids) + <usize>(i * ID_BYTES);
    const cached = unchecked(this.keys[i]);
    if (cached !== null && cached == key) {
      memory.copy(changetype<usize>(this.out), slot, ID_BYTES);
      return this.out;
    }
    this.hasher.updateString(key);
    this.hasher.finalInto(changetype<usize>(this.out));
    if (key.length <= MAX_KEY_CHARS) {
      memory.copy(slot, changetype<usize>(this.out), ID_BYTES);
      unchecked((this.keys[i] = key));
    }
    return this.out;
  }
}
