// proxy_on_log, the access-log phase of a stream (see ./core for why entry points are split).
import { findStream } from "../registry";
import { enter, leave } from "../collector";

export function proxy_on_log(context_id: u32): void {
  enter(context_id);
  const ctx = findStream(context_id);
  if (ctx !== null) ctx.onLog();
  leave();
}
