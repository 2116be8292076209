// The allocator the host hands results through: exported as `malloc` (entry/core.ts).
//
// Envoy returns every result (a header value, a listing of a header map, a property, a
// shared-data value) by calling the module's `malloc` for a block, copying the bytes into it and
// passing back the pointer. The SDK's malloc makes a new pinned ArrayBuffer each time, which the
// caller unpins and the GC later collects: one managed allocation (and its share of GC work) per
// host call that returns data. Our wrappers (host.ts) consume most results before the next host
// call (decode a string, copy bytes into a buffer they own), so they *arm* this allocator just
// before such a call: the next malloc then returns a scratch region that every armed call of the
// VM reuses, and no object is made.
//
// Unarmed calls must keep getting a managed, pinned ArrayBuffer, exactly as from the SDK's malloc:
// that is a memory-safety requirement, not a detail. The SDK's own paths (proxy_get_buffer_bytes
// for the configuration, http-call response bodies, ...) keep the pointer *as an ArrayBuffer*
// and `free` (unpin) it. Given the scratch, such an ArrayBuffer would alias memory the next armed
// call overwrites, and unpinning a block that is not a managed object corrupts the collector's
// lists. So arming covers one allocation only (malloc disarms), and the wrapper disarms again
// right after its call (a call that returns nothing, or fails, never calls malloc).
//
// The scratch is raw heap memory (heap.alloc), not an object: the collector never sees it, so it
// must never be pinned, unpinned or freed as one (`isScratch` tells the readers which is which).
// It is replaced by a bigger block when a result does not fit, up to SCRATCH_MAX; a larger result
// gets a managed buffer as unarmed calls do, so what the VM keeps stays bounded.
//
// Module-level state is plain numbers on purpose: this module may be initialised from the abort
// handler (through host.ts), where nothing may be allocated.
// __pin is a runtime global (every AssemblyScript runtime has it; asconfig.json picks the minimal one).

/** The largest result served from the scratch (a request header map is usually well below). */
export const SCRATCH_MAX: usize = 16 * 1024;
const SCRATCH_MIN: usize = 512;

let armed: bool = false;
let scratch: usize = 0;
let scratchSize: usize = 0;

/** The next malloc (the result of the host call about to be made) goes to the scratch. */
export function armScratch(): void {
  armed = true;
}

/** After the host call: later mallocs are managed again, whether or not this one was used. */
export function disarmScratch(): void {
  armed = false;
}

/** Whether `ptr` (a result the host just returned) is the scratch rather than a pinned ArrayBuffer. */
export function isScratch(ptr: usize): bool {
  return ptr != 0 && ptr == scratch;
}

export function malloc(size: i32): usize {
  if (armed) {
    armed = false;
    const want = <usize>size;
    if (size >= 0 && want <= SCRATCH_MAX) {
      if (want > scratchSize || scratch == 0) grow(want);
      return scratch;
    }
  }
  return __pin(changetype<usize>(new ArrayBuffer(size)));
}

function grow(want: usize): void {
  let size = scratchSize < SCRATCH_MIN ? SCRATCH_MIN : scratchSize;
  while (size < want) size <<= 1;
  if (size > SCRATCH_MAX) size = SCRATCH_MAX;
  // The old contents are dead (every result is consumed before the next armed call): no realloc copy.
  if (scratch != 0) heap.free(scratch);
  scratch = heap.alloc(size);
  scratchSize = size;
}
