// When garbage is collected: only where control returns to the host from its outermost call.
//
// Filters are built with AssemblyScript's minimal runtime (TCMS, asconfig.json), not the
// incremental one: no shadow stack of object references and no write barrier on every field
// store, so all code that handles objects runs leaner (modules about a third smaller; measured
// in Envoy in docs/benchmarks.md). The price is that the collector never runs by itself, and
// must only run when no object is referenced from the Wasm stack alone — it does not scan it.
// That holds when the host's outermost call into the VM is about to return. Envoy calls back
// into the VM while a callback runs (a local reply goes through our own response callback
// before proxy_send_local_response returns; every host call that returns data calls malloc),
// so entry points bracket their work with enter()/leave() and only the outermost leave() may
// collect. malloc is never bracketed: it runs inside a host call, mid-callback.
//
// What triggers a collection: a number of finished streams (each leaves its garbage: strings,
// header copies, its context object), or any root-context callback (configuration, tick,
// HTTP-call answer), which may allocate much more than a request and runs rarely.

/** Finished streams between two collections: the garbage of this many requests is the heap's slack. */
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

/** A stream context was deleted: its garbage counts towards the next collection. */
// @ts-ignore: decorator
@inline export function streamEnded(): void {
  streamsEnded++;
}

/** A root-context callback ran: collect when it returns. */
// @ts-ignore: decorator
@inline export function rootCallbackRan(): void {
  rootWork = true;
}
