// Request and response trailer callbacks (see ./core for why entry points are split).
import { findStream } from "../registry";
import { enter, leave } from "../collector";

export function proxy_on_request_trailers(context_id: u32, trailers: u32): i32 {
  enter(context_id);
  const ctx = findStream(context_id);
  const status = ctx === null ? 0 : <i32>ctx.onRequestTrailers(trailers);
  leave();
  return status;
}

export function proxy_on_response_trailers(context_id: u32, trailers: u32): i32 {
  enter(context_id);
  const ctx = findStream(context_id);
  const status = ctx === null ? 0 : <i32>ctx.onResponseTrailers(trailers);
  leave();
  return status;
}
