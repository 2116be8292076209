// Entry points every filter module exports: the ABI version, the allocator the host hands data
// through, context creation, plugin start and configuration, and context teardown.
//
// The proxy-wasm entry points are split by what they serve (./request-headers, ./tick, ...):
// Envoy (proxy-wasm-cpp-host) skips a callback a module does not export and answers for it
// with the neutral result, so a filter that exports only the callbacks it uses saves a call
// into the VM for each one it leaves out, on every stream (e.g. proxy_on_response_body for
// every chunk of every response body, proxy_on_log for every request). A filter's index.ts
// re-exports core plus what it uses; ../exports re-exports them all. proxy_on_done is in
// ./done: no filter needs it (Envoy answers "done" for a module that does not export it).
// Calls for an unknown context are answered with the neutral result instead of trapping,
// because a trap takes the whole VM down.
// Every entry point brackets its work with enter()/leave() (../collector: collection happens
// only when the outermost call returns to the host).
import { findRoot, findStream, createRoot, createStream, forget } from "../registry";
import { enter, leave, rootCallbackRan, streamEnded } from "../collector";
// Our malloc, not the SDK's: results of our own host calls go to a reused scratch (../host-alloc).
// It never collects: the host calls it in the middle of a callback (see ../collector).
export { malloc } from "../host-alloc";

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  enter(context_id);
  if (root_context_id == 0) {
    createRoot(context_id);
    rootCallbackRan();
  } else createStream(context_id, root_context_id);
  leave();
}

export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  enter(root_context_id);
  const root = findRoot(root_context_id);
  const ok = root !== null && root.onStart(vm_configuration_size);
  rootCallbackRan();
  leave();
  return ok ? 1 : 0;
}

export function proxy_validate_configuration(root_context_id: u32, configuration_size: u32): u32 {
  enter(root_context_id);
  const root = findRoot(root_context_id);
  const ok = root !== null && root.validateConfiguration(configuration_size);
  rootCallbackRan();
  leave();
  return ok ? 1 : 0;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  enter(root_context_id);
  const root = findRoot(root_context_id);
  const ok = root !== null && root.onConfigure(configuration_size);
  rootCallbackRan();
  leave();
  return ok ? 1 : 0;
}

export function proxy_on_delete(context_id: u32): void {
  enter(context_id);
  const ctx = findStream(context_id);
  if (ctx !== null) {
    ctx.onDelete();
    streamEnded();
  } else {
    const root = findRoot(context_id);
    if (root !== null) {
      root.onDelete();
      rootCallbackRan();
    }
  }
  forget(context_id);
  leave();
}
