// The suite's root: makes and configures its members (each by its own filter's factory and
// configure, on the suite's root context id, so the host calls they make act on this root in
// Envoy), and passes the root callbacks on: the timer to the members whose period is over, a
// call's answer to the member that made the call, done and delete to every member.
import { ConfigErrors, ConfigSource } from "../../assembly/config/reader";
import { FilterRoot, FilterStream, logError, logInfo } from "../../assembly/runtime";
import { installHostCallHooks } from "../../assembly/runtime/stream";
import { factoryFor } from "../../assembly/runtime/registry";
import { PluginEntry, parseSuiteConfig } from "./config";
import { CallRoutes } from "./calls";
import { SUITE_HOOKS } from "./hooks";
import { Member } from "./member";
import { SuiteStream } from "./stream";
import { TickSchedule } from "./ticks";

export const FILTER = "suite";
/** Member errors kept in the suite's error line (each member keeps its own 20 at most). */
const MAX_MEMBER_MESSAGES: i32 = 20;
const DOCUMENT = "configuration";

/**
 * A member's error message under the member's place in the suite: `rules[0].limit: ...` becomes
 * `plugins[1].config.rules[0].limit: ...`, and `configuration ...` (the document as a whole)
 * `plugins[1].config: ...` (a located message, like every other: the field, then a colon).
 */
export function underPlugin(index: i32, message: string): string {
  const at = "plugins[" + index.toString() + "].config";
  if (message.startsWith(DOCUMENT)) {
    const next = message.length > DOCUMENT.length ? message.charCodeAt(DOCUMENT.length) : 0;
    // "configuration: ...", configuration["odd key"]: ...
    if (next == 0x3a || next == 0x5b) return at + message.substring(DOCUMENT.length);
    // "configuration is 600000 bytes, ..." -> "plugins[1].config: is 600000 bytes, ..."
    if (next == 0x20) return at + ":" + message.substring(DOCUMENT.length);
  }
  return at + "." + message;
}

export class SuiteRoot extends FilterRoot {
  members: Member[] = [];
  calls: CallRoutes = new CallRoutes();
  ticks: TickSchedule = new TickSchedule();

  configure(buf: ArrayBuffer): bool {
    installHostCallHooks(SUITE_HOOKS);
    SUITE_HOOKS.effective = this.context_id;
    const errors = new ConfigErrors();
    const entries = parseSuiteConfig(buf, errors);
    if (entries === null) {
      logError(errors.format(FILTER));
      return false;
    }
    // A new configuration starts from scratch (Envoy normally makes a new root for it).
    this.members = [];
    this.calls = new CallRoutes();
    this.ticks = new TickSchedule();
    const memberErrors: string[] = [];
    let dropped: i32 = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const refused = this.configureMember(i, e);
      if (refused === null) continue;
      // The member said why in its own log line; this says it again, under its place in the suite.
      const own = refused;
      if (own.empty) own.add("", "refused by the " + e.filter + " filter (see its log line)");
      for (let k = 0; k < own.messages.length; k++) {
        if (memberErrors.length < MAX_MEMBER_MESSAGES) memberErrors.push(underPlugin(i, own.messages[k]));
        else dropped++;
      }
      dropped += own.dropped;
    }
    if (memberErrors.length > 0) {
      logError(FILTER + ": invalid configuration: " + memberErrors.join("; ") + (dropped > 0 ? "; and " + dropped.toString() + " more" : ""));
      return false;
    }
    const names = new Array<string>(this.members.length);
    for (let i = 0; i < this.members.length; i++) names[i] = this.members[i].name;
    logInfo(FILTER + ": configured " + names.join(" -> "));
    return true;
  }

  /**
   * Makes member `index` with its filter's factory and configures it: null when it took the
   * configuration, else why it refused (the errors its configure kept; empty if it kept none).
   */
  private configureMember(index: i32, e: PluginEntry): ConfigErrors | null {
    const factory = factoryFor(e.filter);
    if (factory === null) return new ConfigErrors();
    const root = factory(this.context_id);
    if (!(root instanceof FilterRoot)) return new ConfigErrors();
    const m = new Member(index, e.filter, root as FilterRoot, this.calls, this.ticks);
    // Before its configure: a member asks for its timer there.
    this.ticks.members.push(m);
    const previous = SUITE_HOOKS.enter(m);
    const ok = m.root.configureFrom(ConfigSource.ofValue(e.config));
    SUITE_HOOKS.leave(previous);
    if (!ok) {
      const kept = m.root.configErrors;
      return kept === null ? new ConfigErrors() : kept;
    }
    this.members.push(m);
    return null;
  }

  newStream(contextId: u32): FilterStream {
    return new SuiteStream(contextId, this, this.members);
  }

  onTick(): void {
    SUITE_HOOKS.effective = this.context_id;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i];
      if (!this.ticks.due(m)) continue;
      const previous = SUITE_HOOKS.enter(m);
      m.root.onTick();
      SUITE_HOOKS.leave(previous);
    }
  }

  onHttpCallResponse(token: u32, headers: u32, body_size: u32, trailers: u32): void {
    const m = this.calls.takeHttp(token);
    if (m === null) return;
    SUITE_HOOKS.effective = this.context_id;
    const previous = SUITE_HOOKS.enter(m);
    m.root.onHttpCallResponse(token, headers, body_size, trailers);
    SUITE_HOOKS.leave(previous);
  }

  on_grpc_receive(token: u32, response_size: u32): void {
    const m = this.calls.takeGrpc(token);
    if (m === null) return;
    SUITE_HOOKS.effective = this.context_id;
    const previous = SUITE_HOOKS.enter(m);
    m.root.on_grpc_receive(token, response_size);
    SUITE_HOOKS.leave(previous);
  }

  on_grpc_close(token: u32, status_code: u32): void {
    const m = this.calls.takeGrpc(token);
    if (m === null) return;
    SUITE_HOOKS.effective = this.context_id;
    const previous = SUITE_HOOKS.enter(m);
    m.root.on_grpc_close(token, status_code);
    SUITE_HOOKS.leave(previous);
  }

  onDone(): bool {
    let done = true;
    for (let i = 0; i < this.members.length; i++) {
      const previous = SUITE_HOOKS.enter(this.members[i]);
      if (!this.members[i].root.onDone()) done = false;
      SUITE_HOOKS.leave(previous);
    }
    return done;
  }

  onDelete(): void {
    for (let i = 0; i < this.members.length; i++) {
      const previous = SUITE_HOOKS.enter(this.members[i]);
      this.members[i].root.onDelete();
      SUITE_HOOKS.leave(previous);
    }
  }
}
