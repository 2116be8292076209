// proxy_on_done (see ./core for why entry points are split). No filter exports it: Envoy
// (proxy-wasm-cpp-host) treats a module without it as done at once, which is what every
// Portico context answers, so leaving it out saves a call into the VM at the end of every
// stream. Envoy cancels a context's pending HTTP calls itself when it deletes the context.
import { findRoot, findStream } from "../registry";
import { enter, leave, rootCallbackRan } from "../collector";

export function proxy_on_done(context_id: u32): u32 {
  enter(context_id);
  let done = true;
  const ctx = findStream(context_id);
  if (ctx !== null) done = ctx.onDone();
  else {
    const root = findRoot(context_id);
    if (root !== null) {
      done = root.onDone();
      rootCallbackRan();
    }
  }
  leave();
  return done ? 1 : 0;
}
