// Lower-case hex, for test vectors, key thumbprints in logs and debugging. Not constant-time:
// do not run secrets through it.

// @ts-ignore: decorator
@inline
function digit(v: i32): u16 {
  return <u16>(v < 10 ? 0x30 + v : 0x57 + v);
}

export function hexEncode(data: Uint8Array): string {
  const n = data.length;
  const out = changetype<string>(__new(<usize>n << 2, idof<string>()));
  const dst = changetype<usize>(out);
  for (let i = 0; i < n; i++) {
    const b = <i32>unchecked(data[i]);
    store<u16>(dst + (<usize>i << 2), digit(b >> 4));
    store<u16>(dst + (<usize>i << 2) + 2, digit(b & 15));
  }
  return out;
}

function nibble(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x57;
  return -1;
}

/** Decodes hex (either case, even length, nothing else); null when malformed. */
export function hexDecode(s: string): Uint8Array | null {
  if ((s.length & 1) != 0) return null;
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(s.charCodeAt(2 * i));
    const lo = nibble(s.charCodeAt(2 * i + 1));
    if ((hi | lo) < 0) return null;
    unchecked((out[i] = <u8>((hi << 4) | lo)));
  }
  return out;
}
