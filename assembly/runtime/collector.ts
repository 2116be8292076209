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

/** Finished streams (and ticks) between two collections: the garbage of this many requests is the heap's slack. */
export const STREAMS_PER_COLLECTION: u32 = 16;

let depth: i32 = 0;
let streamsEnded: u32 = 0;
let rootWork: bool = false;

/** At the start of every entry point that runs filter code. */
// @ts-ignore: decorator
@inline export function enter(): void {
  depth++;
}

/** At the end of it: collects when this is the outermost call and a collection is due. */
export function leave(): void {
  if (--depth != 0) return;
  if (rootWork || streamsEnded >= STREAMS_PER_COLLECTION) {
    rootWork = false;
    streamsEnded = 0;
    __collect();
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
