// The verification budget: how many uncached bcrypt checks one VM (one Envoy worker) runs per
// second. Each blocks its worker thread for milliseconds to seconds (hashes.ts, MAX_BCRYPT_COST),
// so without a bound a client sending wrong passwords as fast as it can would take whole workers.
// A token bucket: `perSecond` tokens a second, holding at most `perSecond` (a one-second burst).
// Above it, requests that need a check are answered 429; credentials in the cache still pass.
// The trade-off: a guesser can make logins that are not cached wait (retry after a second), but
// can never make the gateway spend unbounded CPU on hashing.
export class VerifyBudget {
  /** Thousandths of a token, so that refill is exact in whole milliseconds. */
  private milli: i64;
  private last: i64 = -1;
  private readonly cap: i64;

  constructor(public readonly perSecond: i32) {
    this.cap = <i64>perSecond * 1000;
    this.milli = this.cap;
  }

  /** Takes one check's token at `nowMs`; false when the budget is spent. */
  take(nowMs: i64): bool {
    if (this.last >= 0 && nowMs > this.last) {
      // perSecond tokens a second = perSecond thousandths of a token a millisecond.
      const refill = (nowMs - this.last) * <i64>this.perSecond;
      this.milli = min(this.cap, this.milli + refill);
    }
    if (this.last < 0 || nowMs > this.last) this.last = nowMs;
    if (this.milli < 1000) return false;
    this.milli -= 1000;
    return true;
  }
}
