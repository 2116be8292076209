// proxy_on_http_call_response, for roots that call out (see ./core for why entry points are split).
import { findRoot } from "../registry";
import { enter, leave, rootCallbackRan } from "../collector";

export function proxy_on_http_call_response(context_id: u32, token: u32, headers: u32, body_size: u32, trailers: u32): void {
  enter(context_id);
  const root = findRoot(context_id);
  if (root !== null) root.onHttpCallResponse(token, headers, body_size, trailers);
  rootCallbackRan();
  leave();
}
