// The entry points no Portico filter uses: metadata, queues, foreign functions, gRPC stream
// metadata, network (L4) filters (unary gRPC answers are in ./grpc). Only ../exports (test
// fixtures probing the runtime) exports them.
import { findRoot, findStream } from "../registry";
import { enter, leave, rootCallbackRan } from "../collector";

export function proxy_on_queue_ready(root_context_id: u32, token: u32): void {
  enter(root_context_id);
  const root = findRoot(root_context_id);
  if (root !== null) root.onQueueReady(token);
  rootCallbackRan();
  leave();
}

export function proxy_on_foreign_function(root_context_id: u32, function_id: u32, data_size: u32): void {}

export function proxy_on_request_metadata(context_id: u32, nelements: u32): i32 { return 0; }
export function proxy_on_response_metadata(context_id: u32, nelements: u32): i32 { return 0; }

export function proxy_on_grpc_receive_initial_metadata(context_id: u32, token: u32, headers: u32): void {}
export function proxy_on_grpc_trailing_metadata(context_id: u32, token: u32, trailers: u32): void {}

export function proxy_on_new_connection(context_id: u32): i32 {
  enter(context_id);
  const ctx = findStream(context_id);
  const status = ctx === null ? 0 : <i32>ctx.onNewConnection();
  leave();
  return status;
}

export function proxy_on_downstream_data(context_id: u32, data_length: u32, end_of_stream: u32): i32 {
  enter(context_id);
  const ctx = findStream(context_id);
  const status = ctx === null ? 0 : <i32>ctx.onDownstreamData(data_length, end_of_stream != 0);
  leave();
  return status;
}

export function proxy_on_upstream_data(context_id: u32, data_length: u32, end_of_stream: u32): i32 {
  enter(context_id);
  const ctx = findStream(context_id);
  const status = ctx === null ? 0 : <i32>ctx.onUpstreamData(data_length, end_of_stream != 0);
  leave();
  return status;
}

export function proxy_on_downstream_connection_close(context_id: u32, peer_type: u32): void {}
export function proxy_on_upstream_connection_close(context_id: u32, peer_type: u32): void {}
