// Entry points every filter module exports: the ABI version, the allocator the host hands data
// through, context creation, plugin start and configuration, and context teardown.
//
// The proxy-wasm entry points are split by what they serve (./request-headers, ./tick, ...):
// Envoy (proxy-wasm-cpp-host) skips a callback a module does not export and answers for it
// with the neutral result, so a filter that exports only the callbacks it uses saves a call
// into the VM for each one it leaves out, on every stream (e.g. proxy_on_response_body for
// every chunk of every response body, proxy_on_log for every request). A filter's index.ts
// re-exports core plus what it uses; ../exports re-exports them all.
// Calls for an unknown context are answered with the neutral result instead of trapping,
// because a trap takes the whole VM down.
import { findRoot, findStream, createRoot, createStream, forget } from "../registry";
// Our malloc, not the SDK's: results of our own host calls go to a reused scratch (../host-alloc).
export { malloc } from "../host-alloc";

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_context_create(context_id: u32, root_context_id: u32): void {
  if (root_context_id == 0) createRoot(context_id);
  else createStream(context_id, root_context_id);
}

export function proxy_on_vm_start(root_context_id: u32, vm_configuration_size: u32): u32 {
  const root = findRoot(root_context_id);
  return root !== null && root.onStart(vm_configuration_size) ? 1 : 0;
}

export function proxy_validate_configuration(root_context_id: u32, configuration_size: u32): u32 {
  const root = findRoot(root_context_id);
  return root !== null && root.validateConfiguration(configuration_size) ? 1 : 0;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  const root = findRoot(root_context_id);
  return root !== null && root.onConfigure(configuration_size) ? 1 : 0;
}

export function proxy_on_done(context_id: u32): u32 {
  const ctx = findStream(context_id);
  if (ctx !== null) return ctx.onDone() ? 1 : 0;
  const root = findRoot(context_id);
  if (root !== null) return root.onDone() ? 1 : 0;
  return 1;
}

export function proxy_on_delete(context_id: u32): void {
  const ctx = findStream(context_id);
  if (ctx !== null) ctx.onDelete();
  else {
    const root = findRoot(context_id);
    if (root !== null) root.onDelete();
  }
  forget(context_id);
}
