// A request through the suite: Envoy's stream callbacks fanned out to the members' own streams,
// the way Envoy drives a chain of separate filters (README.md, "Semantics"):
//  - request headers: members in chain order. A member that replies (sendLocalResponse) ends the
//    request phase: later members never see the request. A member that pauses (StopIteration
//    without a reply) holds the chain; when it resumes, the chain goes on with the next member,
//    and Envoy's stream is continued only once every member passed.
//  - response headers: in reverse order, only the members whose request phase ran (a Wasm filter
//    whose request headers never ran is not called for the response: proxy-wasm-cpp-host skips a
//    context it never created), a local reply included.
//  - log, done, delete: every member stream that exists.
// A member's stream is made when its request phase starts, on the real stream id, so a member
// root that resumes it (setEffectiveContext(id)) acts on the right Envoy stream.
import { Context } from "@gcoredev/proxy-wasm-sdk-as/assembly";
import { FilterRoot, FilterStream, HeadersStatus, continueRequest } from "../../assembly/runtime";
import { Member } from "./member";
import { SUITE_HOOKS } from "./hooks";

export class SuiteStream extends FilterStream {
  /** The members' streams, in chain order: one per member whose request phase started. */
  private readonly streams: Context[] = [];
  /** The member holding the request (paused); -1: none. */
  private pausedAt: i32 = -1;
  /** The request-headers callback's arguments, passed on to members that run after a resume. */
  private headerCount: u32 = 0;
  private endOfStream: bool = false;

  constructor(contextId: u32, root: FilterRoot, private readonly members: Member[]) {
    super(contextId, root);
  }

  onRequestHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    this.headerCount = headers;
    this.endOfStream = endOfStream;
    SUITE_HOOKS.effective = this.context_id;
    return this.runFrom(0);
  }

  /**
   * Runs the request phase of the members from `first` on; Continue when all passed, else the
   * status of the member that stopped the chain (it replied, or it paused: then `pausedAt`).
   */
  private runFrom(first: i32): HeadersStatus {
    const hooks = SUITE_HOOKS;
    for (let i = first; i < this.members.length; i++) {
      const m = this.members[i];
      if (i == this.streams.length) this.streams.push(m.root.createContext(this.context_id));
      const replies = hooks.replies;
      const previous = hooks.enter(m);
      const status = this.streams[i].onRequestHeaders(this.headerCount, this.endOfStream);
      hooks.leave(previous);
      // A reply ends the request phase, whatever the member returned.
      if (hooks.replies != replies) return HeadersStatus.StopIteration;
      if (status != HeadersStatus.Continue) {
        this.pausedAt = i;
        return status;
      }
    }
    return HeadersStatus.Continue;
  }

  /**
   * The paused member resumed the request (its resumeRequest, with this stream effective): the
   * chain goes on with the next member; Envoy's stream continues once all passed. A resume when no
   * member holds the request (it replied meanwhile) changes nothing.
   */
  memberResumed(): void {
    const at = this.pausedAt;
    if (at < 0) return;
    this.pausedAt = -1;
    if (this.runFrom(at + 1) == HeadersStatus.Continue) continueRequest();
  }

  onResponseHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    SUITE_HOOKS.effective = this.context_id;
    const hooks = SUITE_HOOKS;
    for (let i = this.streams.length - 1; i >= 0; i--) {
      const previous = hooks.enter(this.members[i]);
      const status = this.streams[i].onResponseHeaders(headers, endOfStream);
      hooks.leave(previous);
      if (status != HeadersStatus.Continue) return status;
    }
    return HeadersStatus.Continue;
  }

  onLog(): void {
    SUITE_HOOKS.effective = this.context_id;
    const hooks = SUITE_HOOKS;
    for (let i = 0; i < this.streams.length; i++) {
      const previous = hooks.enter(this.members[i]);
      this.streams[i].onLog();
      hooks.leave(previous);
    }
  }

  onDone(): bool {
    SUITE_HOOKS.effective = this.context_id;
    const hooks = SUITE_HOOKS;
    let done = true;
    for (let i = 0; i < this.streams.length; i++) {
      const previous = hooks.enter(this.members[i]);
      if (!this.streams[i].onDone()) done = false;
      hooks.leave(previous);
    }
    return done;
  }

  onDelete(): void {
    SUITE_HOOKS.effective = this.context_id;
    const hooks = SUITE_HOOKS;
    // In chain order, each as its member (a member cancelling its call there: CallRoutes forgets it).
    for (let i = 0; i < this.streams.length; i++) {
      const previous = hooks.enter(this.members[i]);
      this.streams[i].onDelete();
      hooks.leave(previous);
    }
  }
}
