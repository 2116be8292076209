// Request and response body callbacks (see ./core for why entry points are split).
import { findStream } from "../registry";
import { enter, leave } from "../collector";

export function proxy_on_request_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): i32 {
  enter(context_id);
  const ctx = findStream(context_id);
  const status = ctx === null ? 0 : <i32>ctx.onRequestBody(body_buffer_length, end_of_stream != 0);
  leave();
  return status;
}

export function proxy_on_response_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): i32 {
  enter(context_id);
  const ctx = findStream(context_id);
  const status = ctx === null ? 0 : <i32>ctx.onResponseBody(body_buffer_length, end_of_stream != 0);
  leave();
  return status;
}
