// The configured keys, by SHA-256 digest. A request's key is hashed and looked up here: the map
// narrows the candidates by the digest's first 8 bytes (a hash table, not a scan of every key), and
// the whole digest is then compared in constant time, so how long the answer takes says nothing
// about how many bytes of a configured digest matched. The first 8 bytes of a SHA-256 say nothing
// useful about the key, and two configured digests sharing them (not expected outside crafted
// configs) are chained, each compared.
import { constantTimeEqualPtr } from "../../assembly/crypto/ct";
import { ConsumerIdentity } from "../../assembly/runtime/consumer";

export const DIGEST_BYTES: i32 = 32;

export class KeyEntry {
  /** The credential id as written to filter state and x-credential-identifier ("key:<id>"), encoded once. */
  readonly credential: ArrayBuffer;
  readonly credentialText: string;
  /** Another key whose digest starts with the same 8 bytes. */
  next: KeyEntry | null = null;

  constructor(
    public readonly id: string,
    /** The SHA-256 of the key (32 bytes). */
    public readonly digest: ArrayBuffer,
    /** Index of the consumer in the consumers block. */
    public readonly consumer: i32,
    public readonly owner: ConsumerIdentity,
    /** Where the config gives it (consumers[i].keys[j]), for configuration errors. */
    public readonly path: string,
  ) {
    const text = "key:" + id;
    this.credentialText = text;
    this.credential = String.UTF8.encode(text);
  }
}

@inline function bucketOf(digest: usize): u64 {
  return load<u64>(digest);
}

export class KeyTable {
  private buckets: Map<u64, KeyEntry> = new Map();
  size: i32 = 0;

  add(e: KeyEntry): void {
    const b = bucketOf(changetype<usize>(e.digest));
    if (this.buckets.has(b)) e.next = this.buckets.get(b);
    this.buckets.set(b, e);
    this.size++;
  }

  /** The key whose digest is the 32 bytes at `digest`, or null. */
  find(digest: usize): KeyEntry | null {
    const b = bucketOf(digest);
    if (!this.buckets.has(b)) return null;
    let e: KeyEntry | null = this.buckets.get(b);
    let found: KeyEntry | null = null;
    while (e !== null) {
      // Every candidate of the bucket is compared in full, whichever matches.
      if (constantTimeEqualPtr(changetype<usize>(e.digest), digest, DIGEST_BYTES)) found = e;
      e = e.next;
    }
    return found;
  }
}
