// The suite's view of its members' host calls (HostCallHooks, assembly/runtime/stream.ts): which
// member is running now, which context a member made effective, and whether a member replied.
// One instance per VM, shared by every suite root in it. A filter the same module serves on its
// own (root_id jwt-auth, ...) runs with no member active: its calls pass through unchanged.
import { HostCallHooks } from "../../assembly/runtime/stream";
import { findStream } from "../../assembly/runtime/registry";
import { Member } from "./member";
import { SuiteStream } from "./stream";

class SuiteHooks extends HostCallHooks {
  /** The member whose code runs now (set around every call into a member); null outside. */
  active: Member | null = null;
  /** The context a member last made effective (setEffectiveContext), or the one the suite entered. */
  effective: u32 = 0;
  /** Local replies sent so far: a member's callback that raised it replied. */
  replies: u32 = 0;

  localReplySent(): void {
    this.replies++;
  }

  /** A member resumes the request it paused (from its root, with the stream effective): the suite continues its chain. */
  resumeRequested(): bool {
    if (this.active === null) return false;
    const stream = findStream(this.effective);
    if (stream === null || !(stream instanceof SuiteStream)) return false;
    (stream as SuiteStream).memberResumed();
    return true;
  }

  effectiveContextSet(contextId: u32): void {
    this.effective = contextId;
  }

  tickPeriodRequested(ms: u32): bool {
    const m = this.active;
    if (m === null) return false;
    m.ticks.request(m, ms);
    return true;
  }

  httpCallStarted(token: u32): void {
    const m = this.active;
    if (m !== null && token != 0) m.calls.http.set(token, m);
  }

  grpcCallStarted(token: u32): void {
    const m = this.active;
    if (m !== null && token != 0) m.calls.grpc.set(token, m);
  }

  grpcCallCancelled(token: u32): void {
    const m = this.active;
    if (m !== null) m.calls.grpc.delete(token);
  }

  /** Makes `m` the running member; returns the one it replaces, for `leave`. */
  enter(m: Member): Member | null {
    const previous = this.active;
    this.active = m;
    return previous;
  }

  leave(previous: Member | null): void {
    this.active = previous;
  }
}

export const SUITE_HOOKS = new SuiteHooks();
