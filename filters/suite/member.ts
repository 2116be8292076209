// One filter a suite runs: its root (made by the filter's own registered factory, on the suite's
// root context id), its place in the chain, and its timer.
import { FilterRoot } from "../../assembly/runtime";
import { CallRoutes } from "./calls";
import { TickSchedule } from "./ticks";

export class Member {
  /** The period this member asked for (setTickPeriod); 0: no timer. */
  tickMs: u32 = 0;
  /** Time since its last onTick, in the suite timer's steps. */
  sinceTickMs: u32 = 0;

  constructor(
    /** Its place in `plugins`: the chain order. */
    public readonly index: i32,
    public readonly name: string,
    public readonly root: FilterRoot,
    /** The suite root's routes of call answers and its timer, which this member's calls and period go to. */
    public readonly calls: CallRoutes,
    public readonly ticks: TickSchedule,
  ) {}
}
