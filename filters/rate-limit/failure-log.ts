// Failures of the rate limit service are logged at warn at most once per interval per VM, with
// how many there were since the last line and the latest cause: a service outage under load
// fails every request, and a line per request would flood Envoy's log. No request data goes in
// the line (a key can be a user's identity or an API key header).

export const FAILURE_LOG_INTERVAL_MS: i64 = 10_000;

export class FailureLog {
  private count: i64 = 0;
  private lastLogMs: i64 = -1;

  /**
   * Records one failure at `nowMs`; returns the line to log now, or null while the last line is
   * younger than the interval (the failure is then counted in the next line).
   */
  note(cause: string, nowMs: i64): string | null {
    this.count++;
    if (this.lastLogMs >= 0 && nowMs - this.lastLogMs < FAILURE_LOG_INTERVAL_MS) return null;
    const since = this.lastLogMs < 0 ? "" : " in the last " + ((nowMs - this.lastLogMs) / 1000).toString() + "s";
    const line = "rate-limit: " + this.count.toString() + " call(s) to the rate limit service failed" + since + "; last cause: " + cause;
    this.count = 0;
    this.lastLogMs = nowMs;
    return line;
  }
}
