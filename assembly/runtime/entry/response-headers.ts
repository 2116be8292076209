// proxy_on_response_headers (see ./core for why entry points are split).
import { findStream } from "../registry";

export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): i32 {
  const ctx = findStream(context_id);
  return ctx === null ? 0 : <i32>ctx.onResponseHeaders(headers, end_of_stream != 0);
}
