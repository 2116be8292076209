// One Envoy timer for every member: each member asks for its own period (setTickPeriod); the
// suite root's timer runs at the greatest common divisor of those periods, and a member's onTick
// runs when its own period has passed (counted in timer steps, so no clock read per tick).
// Periods with a tiny common divisor (jwt-auth's 200 ms and a rate-limit sync of 333 ms: 1 ms)
// would make a timer calling into the VM a thousand times a second; below MIN_STEP_MS the timer
// runs at the shortest period instead, and a longer one runs at the first step after it is due
// (less than one step late).
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { Member } from "./member";

/** The shortest timer step made from a common divisor; below it, the shortest period is the step. */
const MIN_STEP_MS: u32 = 10;

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
    let shortest: u32 = 0;
    for (let i = 0; i < this.members.length; i++) {
      const t = this.members[i].tickMs;
      if (t == 0) continue;
      step = step == 0 ? t : gcd(step, t);
      if (shortest == 0 || t < shortest) shortest = t;
    }
    if (step != 0 && step < MIN_STEP_MS && shortest > step) step = shortest;
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
    // The remainder carries over: with a step that does not divide the period, it still runs
    // once per period on average.
    m.sinceTickMs -= m.tickMs;
    return true;
  }
}
