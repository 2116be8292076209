// proxy_on_grpc_receive and proxy_on_grpc_close, for roots that make unary gRPC calls (see ./core
// for why entry points are split, and ../grpc for the call semantics). An answer belongs to a
// request (the call a stream made through its root): its garbage counts with that stream's end,
// like the request's own, instead of forcing a collection as a root callback does.
import { findRoot } from "../registry";
import { enter, leave } from "../collector";

export function proxy_on_grpc_receive(context_id: u32, token: u32, response_size: u32): void {
  enter(context_id);
  const root = findRoot(context_id);
  if (root !== null) root.on_grpc_receive(token, response_size);
  leave();
}

export function proxy_on_grpc_close(context_id: u32, token: u32, status_code: u32): void {
  enter(context_id);
  const root = findRoot(context_id);
  if (root !== null) root.on_grpc_close(token, status_code);
  leave();
}
