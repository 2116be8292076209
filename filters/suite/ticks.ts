// One Envoy timer for every member: each member asks for its own period (setTickPeriod); the
// suite root's timer runs at the greatest common divisor of those periods, and a member's onTick
// runs when its own period has passed (counted in timer steps, so no clock read per tick).
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { Member } from "./member";

function gcd(a: u32, b: u32): u32 {
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

export class TickSchedule {
  readonly members: Member[] = [];
  /** The suite root's Envoy timer; 0: none. */
  periodMs: u32 = 0;

  /** `m` asks for a timer of `ms` (0: none): the suite's timer is set again if the common step changed. */
  request(m: Member, ms: u32): void {
    m.tickMs = ms;
    let step: u32 = 0;
    for (let i = 0; i < this.members.length; i++) {
      const t = this.members[i].tickMs;
      if (t != 0) step = step == 0 ? t : gcd(step, t);
    }
    if (step == this.periodMs) return;
    this.periodMs = step;
    for (let i = 0; i < this.members.length; i++) this.members[i].sinceTickMs = 0;
    // The suite root's own timer: called directly, not through setTickPeriod, whose hook is what brought us here.
    abi.proxy_set_tick_period_milliseconds(step);
  }

  /** One step of the suite's timer passed: whether `m`'s own period is now over. */
  due(m: Member): bool {
    if (m.tickMs == 0) return false;
    m.sinceTickMs += this.periodMs;
    if (m.sinceTickMs < m.tickMs) return false;
    m.sinceTickMs = 0;
    return true;
  }
}
