// UTF-8 encoding for one immediate use (the argument of a host call, bytes fed to a hash) without
// a new ArrayBuffer each time: the bytes go into one buffer per VM, reused by every call, and are
// valid until the next `encodeToScratch`. Same encoding as String.UTF8.encode (WTF-8 for a lone
// surrogate). A string longer than RETAIN_MAX bytes gets a buffer of its own, dropped at the
// next call, so what the VM keeps stays bounded.
const RETAIN_MAX: i32 = 16 * 1024;
const MIN_BYTES: i32 = 256;

let kept: ArrayBuffer | null = null;
let oversize: ArrayBuffer | null = null;
let at: usize = 0;

/** Encodes `s` into the scratch and returns its byte length; the bytes are at `scratchBytes()`. */
export function encodeToScratch(s: string): i32 {
  oversize = null;
  const n = String.UTF8.byteLength(s);
  let buf: ArrayBuffer;
  if (n > RETAIN_MAX) {
    buf = new ArrayBuffer(n);
    oversize = buf; // kept alive (a GC root) until the next call
  } else {
    let k = kept;
    if (k === null || k.byteLength < n) {
      let cap = k === null ? MIN_BYTES : k.byteLength;
      while (cap < n) cap <<= 1;
      k = new ArrayBuffer(cap);
      kept = k;
    }
    buf = k;
  }
  at = changetype<usize>(buf);
  String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, at);
  return n;
}

/** Where the last encodeToScratch put its bytes. */
export function scratchBytes(): usize {
  return at;
}
