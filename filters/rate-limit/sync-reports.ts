// The synced rules' reports, as policy: what the next report says (sync.ts collects it), and what
// its outcome does to each key's record and to the rules' counters. The call itself is the
// root's (service-calls.ts).
import { CODE_OVER_LIMIT, CODE_UNKNOWN, RateLimitAnswer, encodeRateLimitRequest } from "./rls";
import { RuleStats } from "./stats";
import { SyncTracker } from "./sync";

export class SyncReports {
  constructor(
    readonly tracker: SyncTracker,
    private readonly stats: RuleStats[],
    private readonly domain: string,
  ) {}

  /** The next report's message, counted on each rule it carries hits of; null when there is nothing to report. */
  next(now: i64): ArrayBuffer | null {
    const descriptors = this.tracker.collect(now);
    if (descriptors === null) return null;
    this.countReports(true);
    return encodeRateLimitRequest(this.domain, descriptors);
  }

  /** How many descriptors the report in flight carries. */
  get descriptors(): i32 {
    return this.tracker.items.length;
  }

  /**
   * A report's outcome: each key's count from the answer becomes its learned count; a missing or
   * unusable answer (or status) makes its hits unreported again, to go in the next report. The
   * failure's cause to note, or null when the report succeeded.
   */
  settle(answer: RateLimitAnswer | null, cause: string, now: i64): string | null {
    const sync = this.tracker;
    const items = sync.items;
    if (answer !== null && answer.overall == CODE_UNKNOWN) {
      answer = null;
      cause = "answer with overall_code UNKNOWN";
    }
    let failed = answer === null;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const rule = item.entry.rule;
      let learned: i64 = -1;
      if (answer !== null && i < answer.statuses.length) {
        const s = answer.statuses[i];
        const limit = s.requestsPerUnit > 0 ? <i64>s.requestsPerUnit : rule.limit.requests;
        if (s.code == CODE_OVER_LIMIT) learned = limit;
        else if (s.code != CODE_UNKNOWN) learned = s.requestsPerUnit > 0 ? limit - min<i64>(<i64>s.limitRemaining, limit) : 0;
      }
      if (learned < 0) failed = true;
      sync.stores[rule.index]!.settle(item.entry.slot, item.entry.owner, item.window, item.taken, learned);
    }
    let failure: string | null = null;
    if (failed) {
      if (answer !== null) cause = "answer with " + answer.statuses.length.toString() + " statuses for " + items.length.toString() + " descriptors";
      failure = cause;
      this.countReports(false);
      if (sync.failingSinceMs == 0) sync.failingSinceMs = now;
    } else sync.failingSinceMs = 0;
    sync.items = [];
    return failure;
  }

  /** Counts one report (or one failed report) on each rule it carried hits of. */
  private countReports(sent: bool): void {
    const items = this.tracker.items;
    let seen: u64 = 0; // rule indexes (at most 32 rules)
    for (let i = 0; i < items.length; i++) {
      const index = items[i].entry.rule.index;
      if ((seen & (<u64>1 << index)) != 0) continue;
      seen |= <u64>1 << index;
      const stats = this.stats[index];
      if (sent) stats.syncReports!.increment();
      else stats.syncFailures!.increment();
    }
  }
}
