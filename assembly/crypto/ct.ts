// Constant-time comparison. A MAC or an expected signature encoding compared with an early-exit
// loop tells an attacker, through timing, how many leading bytes of a forgery are right (the
// classic HMAC-verification oracle). These loops touch every byte and branch only on the length,
// which is public (it is fixed by the algorithm).

/** True when a and b are equal. Different lengths return false, leaking only the lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  return constantTimeEqualPtr(a.dataStart, b.dataStart, a.length);
}

/** True when the `len` bytes at a and at b are equal; no early exit. */
export function constantTimeEqualPtr(a: usize, b: usize, len: i32): bool {
  // Eight bytes per step (Wasm loads need no alignment), then the rest one by one: the same
  // work whatever the contents, an eighth of the steps (a cached JWT is compared on every request).
  let wide: u64 = 0;
  let i = 0;
  for (; i + 8 <= len; i += 8) wide |= load<u64>(a + <usize>i) ^ load<u64>(b + <usize>i);
  let diff: u32 = <u32>(wide | (wide >>> 32));
  for (; i < len; i++) {
    diff |= <u32>load<u8>(a + <usize>i) ^ <u32>load<u8>(b + <usize>i);
  }
  // Branch-free reduction to a bool: diff | (diff >>> 1) fits 31 bits, so (that - 1) has its top
  // bit set only when diff == 0.
  const folded = (diff | (diff >>> 1)) & 0x7fffffff;
  return <bool>(((folded - 1) >>> 31) & 1);
}
