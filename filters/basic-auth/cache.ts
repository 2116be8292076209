// The cache of verified credentials: what makes a correct bcrypt password cost one hash per TTL
// and worker instead of one per request.
//
// Key: SHA-256(username ‖ 0x00 ‖ password), over the bytes the client sent. A username has no NUL
// (config.ts), so the key names one (username, password) pair. Value: the user it verified as,
// and when the entry expires. Rules that keep it from helping a guesser:
//  - Only successes are stored: a wrong password is never remembered, so every guess costs a
//    full verification (and is rationed by the budget, budget.ts).
//  - A hit needs the full 32-byte key to match (compared in constant time) and the same user:
//    there is no shortcut by prefix, and nothing to learn from which slot answered.
//  - Entries expire after the TTL; a new configuration starts a new cache (the root makes one per
//    configure), so a changed or removed password stops working at once.
// Direct-mapped: the slot is the key's first four bytes modulo the size, and a new success
// replaces whatever was there. The key is a hash, so slots are uniform; an attacker could only
// evict entries by logging in successfully, which they can do anyway.
import { constantTimeEqualPtr } from "../../assembly/crypto/ct";

export const KEY_BYTES: i32 = 32;

export class VerifiedCache {
  private readonly keys: Uint8Array;
  private readonly users: Int32Array;
  private readonly expires: Int64Array;

  constructor(public readonly size: i32, public readonly ttlMs: i64) {
    this.keys = new Uint8Array(size * KEY_BYTES);
    const users = new Int32Array(size);
    users.fill(-1);
    this.users = users;
    this.expires = new Int64Array(size);
  }

  private slot(key: usize): i32 {
    return <i32>(load<u32>(key) % <u32>this.size);
  }

  /** Whether the 32-byte key at `key` was verified as `user` and has not expired at `now`. */
  has(key: usize, user: i32, now: i64): bool {
    const i = this.slot(key);
    const same = constantTimeEqualPtr(this.keys.dataStart + <usize>(i * KEY_BYTES), key, KEY_BYTES);
    return same && unchecked(this.users[i]) == user && unchecked(this.expires[i]) > now;
  }

  /** Records a verified credential (call only after a successful verification). */
  remember(key: usize, user: i32, now: i64): void {
    const i = this.slot(key);
    memory.copy(this.keys.dataStart + <usize>(i * KEY_BYTES), key, <usize>KEY_BYTES);
    unchecked((this.users[i] = user));
    unchecked((this.expires[i] = now + this.ttlMs));
  }
}
