// Token-bucket arithmetic as GCRA (the generic cell rate algorithm): a bucket is one number, the
// theoretical arrival time (TAT) of the next request at the sustained rate. Times are kept in
// "scaled milliseconds" (ms × requests), so the emission interval period/requests is the exact
// integer `periodMs` in those units: no floating point, no drift over any run length.
// Bounds (checked by the config): requests ≤ 1e6, burst ≤ 1e6, period ≤ 1 day, so
// now_ms × requests < 2e18 and burst × period_ms < 1e14 stay far inside i64.

export class Limit {
  constructor(public readonly requests: i64, public readonly periodMs: i64, public readonly burst: i64) {}
}

export class Verdict {
  allowed: bool = false;
  /** The bucket's new state (unchanged when refused). */
  tat: i64 = 0;
  /** Requests still allowed right now after this one. */
  remaining: i64 = 0;
  /** Milliseconds until the bucket is full again. */
  resetMs: i64 = 0;
  /** Milliseconds until a request would be allowed (refusals only). */
  retryAfterMs: i64 = 0;
}

function ceilDiv(a: i64, b: i64): i64 {
  return a <= 0 ? 0 : (a + b - 1) / b;
}

/** Decides one request at `nowMs` on a bucket whose state is `storedTat` (< 0: a new, full bucket). */
export function admit(limit: Limit, storedTat: i64, nowMs: i64, out: Verdict): Verdict {
  const r = limit.requests;
  const t = nowMs * r;
  const tat = storedTat > t ? storedTat : t;
  const next = tat + limit.periodMs;
  const capacity = limit.burst * limit.periodMs;
  if (next - t > capacity) {
    out.allowed = false;
    out.tat = storedTat < 0 ? t : storedTat;
    out.remaining = 0;
    out.retryAfterMs = ceilDiv(next - t - capacity, r);
    out.resetMs = ceilDiv(tat - t, r);
    return out;
  }
  out.allowed = true;
  out.tat = next;
  out.remaining = (capacity - (next - t)) / limit.periodMs;
  out.retryAfterMs = 0;
  out.resetMs = ceilDiv(next - t, r);
  return out;
}

/** Whether a bucket in this state is full again at `nowMs` (nothing worth keeping). */
export function isIdle(limit: Limit, tat: i64, nowMs: i64): bool {
  return tat <= nowMs * limit.requests;
}
