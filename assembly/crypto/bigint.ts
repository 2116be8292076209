// Fixed-width unsigned big integers for RSA and elliptic curves: arrays of u32 limbs, least
// significant limb first, handled through raw pointers so inner loops carry no bounds checks.
// Every function takes the limb count explicitly; nothing allocates except newLimbs().
//
// These helpers are variable-time in general (carry-dependent branches, early-exit compare).
// That is fine here: signature verification only ever computes on public values (keys,
// signatures, digests of public messages). Do not reuse them for private-key operations.

export type Limbs = StaticArray<u32>;

export function newLimbs(n: i32): Limbs {
  return new StaticArray<u32>(n);
}

/** Address of the first limb. Keep the Limbs object itself alive while using it. */
// @ts-ignore: decorator
@inline
export function lp(a: Limbs): usize {
  return changetype<usize>(a);
}

// @ts-ignore: decorator
@inline
export function limb(a: usize, i: i32): u32 {
  return load<u32>(a + (<usize>i << 2));
}

// @ts-ignore: decorator
@inline
export function setLimb(a: usize, i: i32, v: u32): void {
  store<u32>(a + (<usize>i << 2), v);
}

export function limbsZero(a: usize, n: i32): void {
  memory.fill(a, 0, <usize>n << 2);
}

export function limbsCopy(dst: usize, src: usize, n: i32): void {
  memory.copy(dst, src, <usize>n << 2);
}

export function limbsSetWord(a: usize, n: i32, v: u32): void {
  limbsZero(a, n);
  if (n > 0) setLimb(a, 0, v);
}

/**
 * Reads `len` big-endian bytes at `src` into n limbs at `out`. Returns false (out undefined)
 * when the value does not fit in n limbs; leading zero bytes are allowed.
 */
export function limbsFromBytes(out: usize, n: i32, src: usize, len: i32): bool {
  if (len < 0) return false;
  limbsZero(out, n);
  const cap = n << 2;
  for (let i = 0; i < len; i++) {
    const b = <u32>load<u8>(src + <usize>(len - 1 - i)); // i-th least significant byte
    if (i >= cap) {
      if (b != 0) return false;
      continue;
    }
    const idx = out + (<usize>(i >> 2) << 2);
    store<u32>(idx, load<u32>(idx) | (b << (<u32>(i & 3) << 3)));
  }
  return true;
}

/** Writes the n-limb value as exactly `len` big-endian bytes (high bytes beyond n limbs are 0). */
export function limbsToBytes(out: usize, len: i32, a: usize, n: i32): void {
  const cap = n << 2;
  for (let i = 0; i < len; i++) {
    let b: u32 = 0;
    if (i < cap) b = (limb(a, i >> 2) >>> (<u32>(i & 3) << 3)) & 0xff;
    store<u8>(out + <usize>(len - 1 - i), <u8>b);
  }
}

/** -1, 0 or 1 as a <, =, > b. */
export function limbsCmp(a: usize, b: usize, n: i32): i32 {
  for (let i = n - 1; i >= 0; i--) {
    const x = limb(a, i);
    const y = limb(b, i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

export function limbsEq(a: usize, b: usize, n: i32): bool {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) acc |= limb(a, i) ^ limb(b, i);
  return acc == 0;
}

export function limbsIsZero(a: usize, n: i32): bool {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) acc |= limb(a, i);
  return acc == 0;
}

/** out = a + b; returns the carry (0 or 1). out may alias a or b. */
export function limbsAdd(out: usize, a: usize, b: usize, n: i32): u32 {
  let c: u64 = 0;
  for (let i = 0; i < n; i++) {
    c += <u64>limb(a, i) + <u64>limb(b, i);
    setLimb(out, i, <u32>c);
    c >>= 32;
  }
  return <u32>c;
}

/** out = a - b; returns the borrow (0 or 1). out may alias a or b. */
export function limbsSub(out: usize, a: usize, b: usize, n: i32): u32 {
  let borrow: i64 = 0;
  for (let i = 0; i < n; i++) {
    const d = <i64>limb(a, i) - <i64>limb(b, i) + borrow;
    setLimb(out, i, <u32>d);
    borrow = d >> 32; // 0 or -1
  }
  return <u32>(-borrow);
}

/** a += v (a single word); returns the carry out of the top limb. */
export function limbsAddWord(a: usize, n: i32, v: u32): u32 {
  let c = <u64>v;
  for (let i = 0; i < n && c != 0; i++) {
    c += <u64>limb(a, i);
    setLimb(a, i, <u32>c);
    c >>= 32;
  }
  return <u32>c;
}

/** a -= v (a single word); returns the borrow out of the top limb. */
export function limbsSubWord(a: usize, n: i32, v: u32): u32 {
  let borrow = <i64>v;
  for (let i = 0; i < n && borrow != 0; i++) {
    const d = <i64>limb(a, i) - borrow;
    setLimb(a, i, <u32>d);
    borrow = d < 0 ? 1 : 0;
  }
  return <u32>borrow;
}

/** a <<= 1; returns the bit shifted out. */
export function limbsShl1(a: usize, n: i32): u32 {
  let carry: u32 = 0;
  for (let i = 0; i < n; i++) {
    const x = limb(a, i);
    setLimb(a, i, (x << 1) | carry);
    carry = x >>> 31;
  }
  return carry;
}

/** a >>= 1. */
export function limbsShr1(a: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const hi: u32 = i + 1 < n ? limb(a, i + 1) : 0;
    setLimb(a, i, (limb(a, i) >>> 1) | (hi << 31));
  }
}

/** Number of significant bits (0 for zero). */
export function limbsBitLength(a: usize, n: i32): i32 {
  for (let i = n - 1; i >= 0; i--) {
    const x = limb(a, i);
    if (x != 0) return (i << 5) + 32 - <i32>clz<u32>(x);
  }
  return 0;
}

/** Bit i (0 = least significant). */
// @ts-ignore: decorator
@inline
export function limbsBit(a: usize, i: i32): u32 {
  return (limb(a, i >> 5) >>> <u32>(i & 31)) & 1;
}

/** Parses big-endian hex (for built-in constants only) into n limbs. */
export function limbsFromHex(hex: string, n: i32): Limbs {
  const out = newLimbs(n);
  const p = lp(out);
  const len = hex.length;
  for (let i = 0; i < len; i++) {
    const c = <u32>hex.charCodeAt(len - 1 - i);
    const v: u32 = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
    if ((i >> 3) >= n) break;
    const idx = p + (<usize>(i >> 3) << 2);
    store<u32>(idx, load<u32>(idx) | (v << (<u32>(i & 7) << 2)));
  }
  return out;
}
