// proxy_on_request_headers (see ./core for why entry points are split).
import { findStream } from "../registry";
import { enter, leave } from "../collector";

export function proxy_on_request_headers(context_id: u32, headers: u32, end_of_stream: u32): i32 {
  enter(context_id);
  const ctx = findStream(context_id);
  const status = ctx === null ? 0 : <i32>ctx.onRequestHeaders(headers, end_of_stream != 0);
  leave();
  return status;
}
