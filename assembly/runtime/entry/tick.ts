// proxy_on_tick, for roots that set a tick period (see ./core for why entry points are split).
import { findRoot } from "../registry";
import { enter, leave, streamEnded } from "../collector";

export function proxy_on_tick(root_context_id: u32): void {
  enter();
  const root = findRoot(root_context_id);
  if (root !== null) root.onTick();
  streamEnded(); // a tick counts like a finished stream (see ../collector)
  leave();
}
