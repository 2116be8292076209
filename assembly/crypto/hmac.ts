// HMAC (RFC 2104) over SHA-256/384/512, as JWS HS256/384/512 use it (RFC 7518 §3.2).
import { Hasher } from "./hasher";
import { HashAlg, isHashAlg, newHasher } from "./hash";
import { constantTimeEqual, constantTimeEqualPtr } from "./ct";

export { constantTimeEqual, constantTimeEqualPtr } from "./ct";

export class Hmac {
  private inner: Hasher;
  private outer: Hasher;
  /** K ⊕ ipad and K ⊕ opad, each one hash block (RFC 2104 §2). */
  private ipadKey: Uint8Array;
  private opadKey: Uint8Array;

  constructor(public readonly alg: HashAlg, key: Uint8Array) {
    const inner = newHasher(alg);
    const block = inner.blockSize;
    // RFC 2104 §2: a key longer than the block is replaced by its hash; shorter keys are
    // zero-padded to the block size (done by XOR into the zero-initialised pads below).
    let k = key;
    if (key.length > block) {
      inner.update(key);
      k = inner.final();
    }
    const ipadKey = new Uint8Array(block);
    const opadKey = new Uint8Array(block);
    for (let i = 0; i < block; i++) {
      const b: u8 = i < k.length ? unchecked(k[i]) : 0;
      unchecked((ipadKey[i] = b ^ 0x36));
      unchecked((opadKey[i] = b ^ 0x5c));
    }
    inner.update(ipadKey);
    this.inner = inner;
    this.outer = newHasher(alg);
    this.ipadKey = ipadKey;
    this.opadKey = opadKey;
  }

  get digestSize(): i32 {
    return this.inner.digestSize;
  }

  /** Starts a new message under the same key. */
  reset(): void {
    this.inner.reset();
    this.inner.update(this.ipadKey);
  }

  update(data: Uint8Array): void {
    this.inner.update(data);
  }

  updatePtr(ptr: usize, len: i32): void {
    this.inner.updatePtr(ptr, len);
  }

  updateRange(data: Uint8Array, start: i32, end: i32): void {
    this.inner.updateRange(data, start, end);
  }

  /** Returns HMAC(K, message) and resets for the next message. */
  final(): Uint8Array {
    const tag = this.finish();
    this.reset();
    return tag;
  }

  /**
   * Returns HMAC(K, message) without starting a new message: call reset() before reusing the
   * instance. The one-shot helpers use it to skip re-absorbing K ⊕ ipad (one hash block).
   */
  finish(): Uint8Array {
    const innerDigest = this.inner.final();
    this.outer.update(this.opadKey);
    this.outer.update(innerDigest);
    return this.outer.final();
  }

  /**
   * Finishes the message and compares the MAC with `tag` in constant time. The tag must be the
   * full digest length: JWS forbids truncated HMAC tags (RFC 7518 §3.2).
   */
  verify(tag: Uint8Array): bool {
    return constantTimeEqual(this.final(), tag);
  }

  /** Like verify, for `len` bytes at `ptr`. */
  verifyPtr(ptr: usize, len: i32): bool {
    const mac = this.final();
    if (len != mac.length) return false;
    return constantTimeEqualPtr(mac.dataStart, ptr, len);
  }
}

/** One-shot HMAC. */
export function hmac(alg: HashAlg, key: Uint8Array, data: Uint8Array): Uint8Array {
  const h = new Hmac(alg, key);
  h.update(data);
  return h.finish();
}

/** One-shot verification against a full-length tag, constant-time in the tag's content. */
export function hmacVerify(alg: HashAlg, key: Uint8Array, data: Uint8Array, tag: Uint8Array): bool {
  if (!isHashAlg(alg)) return false;
  const h = new Hmac(alg, key);
  h.update(data);
  return constantTimeEqual(h.finish(), tag);
}
