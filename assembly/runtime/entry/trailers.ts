// Request and response trailer callbacks (see ./core for why entry points are split).
import { findStream } from "../registry";

export function proxy_on_request_trailers(context_id: u32, trailers: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? 0 : <i32>ctx.onRequestTrailers(trailers);
}

export function proxy_on_response_trailers(context_id: u32, trailers: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? 0 : <i32>ctx.onResponseTrailers(trailers);
}
