// Low-level plumbing for host calls that return data.
//
// The host hands data back by calling our exported `malloc` (the SDK's, which pins a fresh
// ArrayBuffer) and writing the pointer and size into two out-parameters. We keep those two
// words in static memory (the VM is single-threaded and every result is consumed before the
// next call) and always unpin what the host allocated, so nothing handed over leaks.
import { free } from "@gcoredev/proxy-wasm-sdk-as/assembly/malloc";
import { decodeUtf8Lossy } from "../encoding/utf8";

export const OUT_PTR: usize = memory.data(sizeof<usize>(), sizeof<usize>());
export const OUT_SIZE: usize = memory.data(sizeof<usize>(), sizeof<usize>());
export const OUT_U32: usize = memory.data(4, 4);
export const OUT_U64: usize = memory.data(8, 8);

export function resetOut(): void {
  store<usize>(OUT_PTR, 0);
  store<usize>(OUT_SIZE, 0);
}

/** Takes ownership of the buffer the host just returned (unpinning it). */
export function takeHostBuffer(): ArrayBuffer {
  const ptr = load<usize>(OUT_PTR);
  store<usize>(OUT_PTR, 0);
  // No module-level constant here: this module is initialised lazily from the abort handler,
  // possibly in the middle of another module's start code, where it must not allocate.
  if (ptr == 0) return new ArrayBuffer(0);
  free(ptr);
  return changetype<ArrayBuffer>(ptr);
}

export function takeHostString(): string {
  const ptr = load<usize>(OUT_PTR);
  const size = load<usize>(OUT_SIZE);
  store<usize>(OUT_PTR, 0);
  if (ptr == 0) return "";
  // Decode before unpinning: decoding allocates, which may run a GC step. Lossy: host data
  // (header values above all) need not be UTF-8.
  const s = decodeUtf8Lossy(ptr, size);
  free(ptr);
  return s;
}
