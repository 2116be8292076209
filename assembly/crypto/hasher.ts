// The incremental-hash interface shared by SHA-256/384/512, so HMAC, MGF1 and RSA-PSS are
// written once, and a JWS signing input `header.payload` can be hashed in pieces straight out
// of the token without building a concatenated copy.

import { encodeToScratch, scratchBytes } from "../encoding/utf8-scratch";

export abstract class Hasher {
  constructor(
    /** Input block size in bytes (64 for SHA-256, 128 for SHA-384/512); HMAC pads keys to it. */
    public readonly blockSize: i32,
    /** Output size in bytes. */
    public readonly digestSize: i32,
  ) {}

  /** Starts a new message (final() also does this). */
  abstract reset(): void;

  /** Absorbs `len` bytes at `ptr`. Negative lengths are ignored. */
  abstract updatePtr(ptr: usize, len: i32): void;

  /** Writes the digest (digestSize bytes) to `out` and resets for the next message. */
  abstract finalInto(out: usize): void;

  update(data: Uint8Array): void {
    this.updatePtr(data.dataStart, data.length);
  }

  /** Absorbs bytes[start, end) of `data`; out-of-range bounds are clamped. */
  updateRange(data: Uint8Array, start: i32, end: i32): void {
    if (start < 0) start = 0;
    if (end > data.length) end = data.length;
    if (end > start) this.updatePtr(data.dataStart + <usize>start, end - start);
  }

  /** Absorbs the UTF-8 encoding of `s` (a compact JWS is ASCII, where UTF-8 is the identity). */
  updateString(s: string): void {
    const n = encodeToScratch(s);
    this.updatePtr(scratchBytes(), n);
  }

  /** Returns the digest and resets. */
  final(): Uint8Array {
    const out = new Uint8Array(this.digestSize);
    this.finalInto(out.dataStart);
    return out;
  }
}
