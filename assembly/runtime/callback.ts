// Which host callback is running, and on which context: what the runtime's per-callback reads
// (the clock in stream.ts, header listings in header-listing.ts, the peer's address in source.ts)
// are keyed by, so every filter running in the callback (the members of a suite, or one filter
// asking twice) shares one host read instead of each making its own.
//
// The epoch is bumped by every entry point (collector.ts enter()), so nothing read in one callback
// is taken for true in the next: between two callbacks Envoy, other filters, or time itself may
// have changed what was read. Epoch 0 is "no callback" (code run outside an entry point, e.g.
// the as-pect tests): reads are never shared then. The context is the one host calls act on now:
// the callback's own, until a filter makes another effective (setEffectiveContext, stream.ts);
// 0 when the entry point does not say (the tick: a root callback).
//
// A callback may run inside another: a filter resuming a stream (proxy_continue_stream) lets
// Envoy run the next filters at once, and one of them may be another plugin in this same VM. When
// the inner callback returns, the outer one goes on with its own context (the host restores its
// effective context) under a new epoch: what the inner one read is not the outer one's, and it may
// have changed what the outer one read.

let epoch: u64 = 0;
let context: u32 = 0;
/** How many callbacks are running (more than one: nested). */
let nesting: i32 = 0;
const MAX_NESTING: i32 = 8;
/** The context of each callback an inner one interrupted, by nesting level. */
const interrupted = new StaticArray<u32>(MAX_NESTING);

/** A host callback for `contextId` (0: not said) begins. */
export function callbackStarted(contextId: u32): void {
  if (nesting < MAX_NESTING) unchecked((interrupted[nesting] = context));
  nesting++;
  epoch++;
  context = contextId;
}

/** The callback that began last returns: the one it interrupted, if any, goes on with its own context. */
export function callbackEnded(): void {
  if (nesting <= 0) return;
  nesting--;
  if (nesting == 0) return;
  epoch++;
  // Deeper than we keep track of: the context is unknown (nothing is shared under it for long).
  context = nesting < MAX_NESTING ? unchecked(interrupted[nesting]) : 0;
}

/** A filter made `contextId` the effective context: later host calls of this callback act on it. */
export function effectiveContextChanged(contextId: u32): void {
  context = contextId;
}

/** The running callback's number (0: none). */
// @ts-ignore: decorator
@inline export function callbackEpoch(): u64 {
  return epoch;
}

/** The context host calls act on now (0: unknown). */
// @ts-ignore: decorator
@inline export function currentContext(): u32 {
  return context;
}
