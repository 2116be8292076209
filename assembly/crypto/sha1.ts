// SHA-1 (FIPS 180-4 §6.1). Only for htpasswd's `{SHA}` password format, which basic-auth accepts
// because it is the one format Envoy's native basic_auth filter reads (and users migrating from it
// have such files). SHA-1 is broken for collisions and, unsalted and fast, weak for passwords:
// never use it for anything new (filters/basic-auth/README.md says so to users).
import { Hasher } from "./hasher";

export class Sha1 extends Hasher {
  private h: StaticArray<u32> = new StaticArray<u32>(5);
  private w: StaticArray<u32> = new StaticArray<u32>(80);
  private block: StaticArray<u8> = new StaticArray<u8>(64);
  private blockLen: i32 = 0;
  private total: u64 = 0; // bytes absorbed

  constructor() {
    super(64, 20);
    this.reset();
  }

  reset(): void {
    const h = this.h;
    // FIPS 180-4 §5.3.1
    unchecked((h[0] = 0x67452301));
    unchecked((h[1] = 0xefcdab89));
    unchecked((h[2] = 0x98badcfe));
    unchecked((h[3] = 0x10325476));
    unchecked((h[4] = 0xc3d2e1f0));
    this.blockLen = 0;
    this.total = 0;
  }

  updatePtr(ptr: usize, len: i32): void {
    if (len <= 0) return;
    this.total += <u64>len;
    const block = changetype<usize>(this.block);
    let n = len;
    if (this.blockLen > 0) {
      const take = min(64 - this.blockLen, n);
      memory.copy(block + <usize>this.blockLen, ptr, <usize>take);
      this.blockLen += take;
      ptr += <usize>take;
      n -= take;
      if (this.blockLen < 64) return;
      this.compress(block);
      this.blockLen = 0;
    }
    while (n >= 64) {
      this.compress(ptr);
      ptr += 64;
      n -= 64;
    }
    if (n > 0) {
      memory.copy(block, ptr, <usize>n);
      this.blockLen = n;
    }
  }

  finalInto(out: usize): void {
    // §5.1.1: 0x80, zeros, then the length in bits as a 64-bit big-endian integer.
    const block = changetype<usize>(this.block);
    const bits = this.total << 3;
    store<u8>(block + <usize>this.blockLen, 0x80);
    this.blockLen++;
    if (this.blockLen > 56) {
      memory.fill(block + <usize>this.blockLen, 0, <usize>(64 - this.blockLen));
      this.compress(block);
      this.blockLen = 0;
    }
    memory.fill(block + <usize>this.blockLen, 0, <usize>(56 - this.blockLen));
    store<u64>(block + 56, bswap<u64>(bits));
    this.compress(block);
    const h = changetype<usize>(this.h);
    for (let i: usize = 0; i < 5; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(h + (i << 2))));
    this.reset();
  }

  /** One 64-byte block at p (§6.1.2). */
  private compress(p: usize): void {
    const w = changetype<usize>(this.w);
    for (let t: usize = 0; t < 16; t++) store<u32>(w + (t << 2), bswap<u32>(load<u32>(p + (t << 2))));
    for (let t: usize = 16; t < 80; t++) {
      const x = load<u32>(w + ((t - 3) << 2)) ^ load<u32>(w + ((t - 8) << 2)) ^ load<u32>(w + ((t - 14) << 2)) ^ load<u32>(w + ((t - 16) << 2));
      store<u32>(w + (t << 2), rotl<u32>(x, 1));
    }
    const h = changetype<usize>(this.h);
    let a = load<u32>(h), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12), e = load<u32>(h, 16);
    for (let t: usize = 0; t < 80; t++) {
      let f: u32, k: u32;
      if (t < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (t < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (t < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const tmp = rotl<u32>(a, 5) + f + e + k + load<u32>(w + (t << 2));
      e = d;
      d = c;
      c = rotl<u32>(b, 30);
      b = a;
      a = tmp;
    }
    store<u32>(h, load<u32>(h) + a);
    store<u32>(h, load<u32>(h, 4) + b, 4);
    store<u32>(h, load<u32>(h, 8) + c, 8);
    store<u32>(h, load<u32>(h, 12) + d, 12);
    store<u32>(h, load<u32>(h, 16) + e, 16);
  }
}

/** SHA-1 of `data` in one call. */
export function sha1(data: Uint8Array): Uint8Array {
  const h = new Sha1();
  h.update(data);
  return h.final();
}
