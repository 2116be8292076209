// Low-level plumbing for host calls that return data.
//
// The host hands data back by calling our exported `malloc` (host-alloc.ts) and writing the
// pointer and size into two out-parameters. We keep those two words in static memory (the VM is
// single-threaded and every result is consumed before the next call).
//
// Two ways to make such a call:
// - `resetOut()`, call, `takeHostBuffer()`: the result is a managed ArrayBuffer the caller may
//   keep (the host's block, unpinned here so the collector owns it);
// - `armOut()`, call, `endCall()`, then `takeHostString()` or `hostResultPtr()`/`hostResultSize()`:
//   the result is in the per-VM scratch (host-alloc.ts) and is only valid until the next armed
//   call, so it is decoded or copied at once. No object is made for it.
// Both take whichever block the host really returned: a result too big for the scratch is a
// pinned ArrayBuffer even in an armed call, and is unpinned here.
import { free } from "@gcoredev/proxy-wasm-sdk-as/assembly/malloc";
import { armScratch, disarmScratch, isScratch } from "./host-alloc";
import { decodeUtf8Lossy } from "../encoding/utf8";

export const OUT_PTR: usize = memory.data(sizeof<usize>(), sizeof<usize>());
export const OUT_SIZE: usize = memory.data(sizeof<usize>(), sizeof<usize>());
export const OUT_U32: usize = memory.data(4, 4);
export const OUT_U64: usize = memory.data(8, 8);

export function resetOut(): void {
  store<usize>(OUT_PTR, 0);
  store<usize>(OUT_SIZE, 0);
}

/** Before a host call whose result is consumed at once: it goes to the scratch. Pair with endCall(). */
export function armOut(): void {
  resetOut();
  armScratch();
}

/** Right after an armed host call, whatever it returned: the next allocations are managed again. */
export function endCall(): void {
  disarmScratch();
}

/** Takes ownership of the buffer the host just returned (unpinning it); a copy when it is the scratch. */
export function takeHostBuffer(): ArrayBuffer {
  const ptr = load<usize>(OUT_PTR);
  store<usize>(OUT_PTR, 0);
  // No module-level constant here: this module is initialised lazily from the abort handler,
  // possibly in the middle of another module's start code, where it must not allocate.
  if (ptr == 0) return new ArrayBuffer(0);
  if (isScratch(ptr)) {
    const size = <i32>load<usize>(OUT_SIZE);
    const copy = new ArrayBuffer(size);
    memory.copy(changetype<usize>(copy), ptr, <usize>size);
    return copy;
  }
  free(ptr);
  return changetype<ArrayBuffer>(ptr);
}

export function takeHostString(): string {
  const ptr = load<usize>(OUT_PTR);
  const size = load<usize>(OUT_SIZE);
  store<usize>(OUT_PTR, 0);
  if (ptr == 0) return "";
  // Decode before unpinning (the buffer must stay ours while it is read). Lossy: host data
  // (header values above all) need not be UTF-8.
  const s = decodeUtf8Lossy(ptr, size);
  // The scratch is not an object: never unpin it.
  if (!isScratch(ptr)) free(ptr);
  return s;
}

/** The bytes of an armed call's result (0 when it returned nothing); valid until the next armed call. */
export function hostResultPtr(): usize {
  return load<usize>(OUT_PTR);
}

export function hostResultSize(): usize {
  return load<usize>(OUT_PTR) == 0 ? 0 : load<usize>(OUT_SIZE);
}

/**
 * Done with an armed call's result read through hostResultPtr(): unpins it when the host gave a
 * managed buffer (a result larger than the scratch), so nothing handed over leaks.
 */
export function releaseHostResult(): void {
  const ptr = load<usize>(OUT_PTR);
  store<usize>(OUT_PTR, 0);
  if (ptr != 0 && !isScratch(ptr)) free(ptr);
}
