// SHA-256 (FIPS 180-4 §6.2). Own code rather than @chainsafe/as-sha256: its npm package (1.2.5)
// ships only a prebuilt .wasm with JS bindings (no AssemblyScript sources to link into a filter),
// and we need SHA-384/512 anyway, which share this structure with 64-bit words.
import { Hasher } from "./hasher";

// FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64 primes.
const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

export class Sha256 extends Hasher {
  private h: StaticArray<u32> = new StaticArray<u32>(8);
  private w: StaticArray<u32> = new StaticArray<u32>(64);
  private block: StaticArray<u8> = new StaticArray<u8>(64);
  private blockLen: i32 = 0;
  private total: u64 = 0; // bytes absorbed

  constructor() {
    super(64, 32);
    this.reset();
  }

  reset(): void {
    const h = this.h;
    // FIPS 180-4 §5.3.3
    unchecked((h[0] = 0x6a09e667));
    unchecked((h[1] = 0xbb67ae85));
    unchecked((h[2] = 0x3c6ef372));
    unchecked((h[3] = 0xa54ff53a));
    unchecked((h[4] = 0x510e527f));
    unchecked((h[5] = 0x9b05688c));
    unchecked((h[6] = 0x1f83d9ab));
    unchecked((h[7] = 0x5be0cd19));
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
    // §5.1.1: append 0x80, zeros, then the message length in bits as a 64-bit big-endian integer.
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
    for (let i: usize = 0; i < 8; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(h + (i << 2))));
    this.reset();
  }

  /** One 64-byte block at p (§6.2.2). */
  private compress(p: usize): void {
    const w = changetype<usize>(this.w);
    const k = changetype<usize>(K);
    for (let t: usize = 0; t < 16; t++) store<u32>(w + (t << 2), bswap<u32>(load<u32>(p + (t << 2))));
    for (let t: usize = 16; t < 64; t++) {
      const w15 = load<u32>(w + ((t - 15) << 2));
      const w2 = load<u32>(w + ((t - 2) << 2));
      const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
      store<u32>(w + (t << 2), load<u32>(w + ((t - 16) << 2)) + s0 + load<u32>(w + ((t - 7) << 2)) + s1);
    }
    const h = changetype<usize>(this.h);
    let a = load<u32>(h), b = load<u32>(h, 4), c = load<u32>(h, 8), d = load<u32>(h, 12);
    let e = load<u32>(h, 16), f = load<u32>(h, 20), g = load<u32>(h, 24), hh = load<u32>(h, 28);
    for (let t: usize = 0; t < 64; t++) {
      const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = hh + S1 + ch + load<u32>(k + (t << 2)) + load<u32>(w + (t << 2));
      const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = S0 + maj;
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    store<u32>(h, load<u32>(h) + a);
    store<u32>(h, load<u32>(h, 4) + b, 4);
    store<u32>(h, load<u32>(h, 8) + c, 8);
    store<u32>(h, load<u32>(h, 12) + d, 12);
    store<u32>(h, load<u32>(h, 16) + e, 16);
    store<u32>(h, load<u32>(h, 20) + f, 20);
    store<u32>(h, load<u32>(h, 24) + g, 24);
    store<u32>(h, load<u32>(h, 28) + hh, 28);
  }
}
