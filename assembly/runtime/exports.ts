// The proxy-wasm ABI 0.2.1 entry points, dispatching to the contexts in ./registry.
// A filter's index.ts re-exports this module. Calls for an unknown context are answered with
// the neutral result instead of trapping, because a trap takes the whole VM down.
import { findRoot, findStream, createRoot, createStream, forget } from "./registry";
export { malloc } from "@gcoredev/proxy-wasm-sdk-as/assembly/malloc";

const CONTINUE: i32 = 0;

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

export function proxy_on_tick(root_context_id: u32): void {
  const root = findRoot(root_context_id);
  if (root !== null) root.onTick();
}

export function proxy_on_queue_ready(root_context_id: u32, token: u32): void {
  const root = findRoot(root_context_id);
  if (root !== null) root.onQueueReady(token);
}

export function proxy_on_foreign_function(root_context_id: u32, function_id: u32, data_size: u32): void {}

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? CONTINUE : <i32>ctx.onRequestHeaders(headers, end_of_stream != 0);
}

export function proxy_on_request_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? CONTINUE : <i32>ctx.onRequestBody(body_buffer_length, end_of_stream != 0);
}

export function proxy_on_request_trailers(context_id: u32, trailers: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? CONTINUE : <i32>ctx.onRequestTrailers(trailers);
}

export function proxy_on_request_metadata(context_id: u32, nelements: u32): i32 { return CONTINUE; }

export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? CONTINUE : <i32>ctx.onResponseHeaders(headers, end_of_stream != 0);
}

export function proxy_on_response_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? CONTINUE : <i32>ctx.onResponseBody(body_buffer_length, end_of_stream != 0);
}

export function proxy_on_response_trailers(context_id: u32, trailers: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? CONTINUE : <i32>ctx.onResponseTrailers(trailers);
}

export function proxy_on_response_metadata(context_id: u32, nelements: u32): i32 { return CONTINUE; }

export function proxy_on_http_call_response(context_id: u32, token: u32, headers: u32, body_size: u32, trailers: u32): void {
  const root = findRoot(context_id);
  if (root !== null) root.onHttpCallResponse(token, headers, body_size, trailers);
}

export function proxy_on_grpc_receive_initial_metadata(context_id: u32, token: u32, headers: u32): void {}
export function proxy_on_grpc_trailing_metadata(context_id: u32, token: u32, trailers: u32): void {}
export function proxy_on_grpc_receive(context_id: u32, token: u32, response_size: u32): void {}
export function proxy_on_grpc_close(context_id: u32, token: u32, status_code: u32): void {}

export function proxy_on_new_connection(context_id: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? CONTINUE : <i32>ctx.onNewConnection();
}

export function proxy_on_downstream_data(context_id: u32, data_length: u32, end_of_stream: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? CONTINUE : <i32>ctx.onDownstreamData(data_length, end_of_stream != 0);
}

export function proxy_on_upstream_data(context_id: u32, data_length: u32, end_of_stream: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? CONTINUE : <i32>ctx.onUpstreamData(data_length, end_of_stream != 0);
}

export function proxy_on_downstream_connection_close(context_id: u32, peer_type: u32): void {}
export function proxy_on_upstream_connection_close(context_id: u32, peer_type: u32): void {}

export function proxy_on_done(context_id: u32): u32 {
  const ctx = findStream(context_id);
  if (ctx !== null) return ctx.onDone() ? 1 : 0;
  const root = findRoot(context_id);
  if (root !== null) return root.onDone() ? 1 : 0;
  return 1;
}

export function proxy_on_log(context_id: u32): void {
  const ctx = findStream(context_id);
  if (ctx !== null) ctx.onLog();
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
