// Width-w non-adjacent form of a scalar, for the double-scalar multiplications of ECDSA and
// Ed25519 verification (Hankerson, Menezes, Vanstone, "Guide to ECC", Alg. 3.35). Public
// scalars only: the recoding and the table lookups it drives are variable-time.
import { Limbs, lp, limbsCopy, limbsIsZero, limbsAddWord, limbsSubWord, limbsShr1 } from "./bigint";

/**
 * Writes the width-w NAF of the L-limb scalar at `scalar` into `out`, least significant digit
 * first: digits are 0 or odd in (-2^(w-1), 2^(w-1)), and each non-zero digit is followed by at
 * least w-1 zeros, so a multiplication costs one addition per ~w+1 bits from a table of the
 * 2^(w-2) odd multiples P, 3P, ... Returns the digit count (≤ 32·L + 1). `k` (L + 1 limbs) is
 * scratch; `out` must hold 32·L + 1 digits.
 */
export function wnaf(out: StaticArray<i8>, scalar: usize, k: Limbs, L: i32, w: i32): i32 {
  const kp = lp(k);
  limbsCopy(kp, scalar, L);
  unchecked((k[L] = 0));
  const n = L + 1;
  const mask: u32 = (1 << w) - 1;
  const half: i32 = 1 << (w - 1);
  let len = 0;
  while (!limbsIsZero(kp, n)) {
    let d: i32 = 0;
    if ((unchecked(k[0]) & 1) != 0) {
      d = <i32>(unchecked(k[0]) & mask); // k mods 2^w
      if (d >= half) d -= 1 << w;
      // k - d is divisible by 2^w; adding |d| may carry into the extra limb.
      if (d > 0) limbsSubWord(kp, n, <u32>d);
      else limbsAddWord(kp, n, <u32>-d);
    }
    unchecked((out[len] = <i8>d));
    len++;
    limbsShr1(kp, n);
  }
  return len;
}
