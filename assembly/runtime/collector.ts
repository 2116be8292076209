// When garbage is collected: only where control returns to the host from its outermost call.
//
// Filters are built with AssemblyScript's minimal runtime (TCMS, asconfig.json), not the
// incremental one: no shadow stack of object references and no write barrier on every field
// store, so all code that handles objects runs leaner (modules about a third smaller; measured
// in Envoy in docs/benchmarks.md). The price is that the collector never runs by itself, and
// must only run when no object is referenced from the Wasm stack alone — it does not scan it.
// That holds when the host's outermost call into the VM is about to return. Envoy does call
// back into the VM while a callback runs: every host call that returns data calls malloc
// mid-callback. (It defers a local reply until the callback has returned, but nothing in the
// ABI promises that of every call.) So entry points bracket their work with enter()/leave() and
// only the outermost leave() may collect; malloc is never bracketed and never collects. A trap
// leaves the depth above zero for good: that instance never collects again, but Envoy marks a
// trapped VM as failed and never calls it again either.
//
// What triggers a collection: a number of finished streams and timer ticks (each leaves some
// garbage: strings, header copies, a context object), or a root-context callback that may
// allocate much more than a request and runs rarely (configuration, an HTTP-call answer such
// as a JWKS, root deletion). Ticks only count: jwt-auth ticks five times a second.
//
// How often: a collection marks every live object, so its price grows with what the filter
// keeps, not with the garbage. A filter holding a few objects collects in a few microseconds;
// key-auth holding 1,000 consumers' keys (about 10,000 objects) took about 250 µs, which every
// 16 requests was 16 µs per request, half of the filter's cost in Envoy (docs/benchmarks.md).
// So the interval grows with the heap: after each root-context collection (configuration, a
// JWKS answer: what changes what the filter keeps) it is STREAMS_PER_PAGE streams per 64 KiB
// page of linear memory, at least STREAMS_PER_COLLECTION and at most MAX_STREAMS_PER_COLLECTION.
// Linear memory is the high-water mark of the heap, an upper bound of what is live; it is only
// read there, never after a stream's collection, so a burst of request garbage cannot stretch
// the interval by itself, and the maximum bounds the heap's slack to that many requests' garbage
// whatever the reading. No clock: the interval, and so every request's host calls, stay
// deterministic.

import { callbackEnded, callbackStarted } from "./callback";

/** Finished streams (and ticks) between two collections at the least: the garbage of this many requests is the heap's slack. */
export const STREAMS_PER_COLLECTION: u32 = 16;
/** At the most: bounds the slack of a filter whose live heap is large. */
export const MAX_STREAMS_PER_COLLECTION: u32 = 1024;
/** Streams between collections per 64 KiB page of linear memory (a filter of two pages: 16). */
const STREAMS_PER_PAGE: u32 = 8;

let depth: i32 = 0;
let streamsEnded: u32 = 0;
let rootWork: bool = false;
let interval: u32 = STREAMS_PER_COLLECTION;

/** Streams between collections for a heap of `pages` 64 KiB pages. */
export function intervalForPages(pages: u32): u32 {
  const streams = <u64>pages * <u64>STREAMS_PER_PAGE;
  if (streams <= <u64>STREAMS_PER_COLLECTION) return STREAMS_PER_COLLECTION;
  return streams >= <u64>MAX_STREAMS_PER_COLLECTION ? MAX_STREAMS_PER_COLLECTION : <u32>streams;
}

/**
 * At the start of every entry point that runs filter code, with the context the host called it
 * for (0 when the entry point does not say): it is also where a new host callback begins, which
 * the runtime's shared reads are keyed by (callback.ts).
 */
// @ts-ignore: decorator
@inline export function enter(contextId: u32 = 0): void {
  depth++;
  callbackStarted(contextId);
}

/** At the end of it: collects when this is the outermost call and a collection is due. */
export function leave(): void {
  callbackEnded();
  if (--depth != 0) return;
  if (rootWork || streamsEnded >= interval) {
    const afterRootWork = rootWork;
    rootWork = false;
    streamsEnded = 0;
    __collect();
    if (afterRootWork) interval = intervalForPages(<u32>memory.size());
  }
}

/** A stream context was deleted, or a tick ran: its garbage counts towards the next collection. */
// @ts-ignore: decorator
@inline export function streamEnded(): void {
  streamsEnded++;
}

/** A root-context callback ran: collect when it returns. */
// @ts-ignore: decorator
@inline export function rootCallbackRan(): void {
  rootWork = true;
}
