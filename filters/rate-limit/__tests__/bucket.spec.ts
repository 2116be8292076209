// GCRA token-bucket arithmetic (pure): burst, refill, exact long runs, large numbers.
import { Limit, Verdict, admit, isIdle } from "../bucket";
import { clientIp, joinKey } from "../keys";

/** Sends `n` requests at `nowMs` on a bucket; returns how many were allowed and the new state. */
function burst(limit: Limit, tat: i64, nowMs: i64, n: i32, allowed: i32[]): i64 {
  const v = new Verdict();
  let count = 0;
  for (let i = 0; i < n; i++) {
    admit(limit, tat, nowMs, v);
    if (v.allowed) {
      count++;
      tat = v.tat;
    }
  }
  allowed.push(count);
  return tat;
}

describe("GCRA bucket", () => {
  it("allows the burst at once, then one token per emission interval", () => {
    const limit = new Limit(5, 10_000, 5); // 5 per 10 s: one token every 2 s
    const got = new Array<i32>();
    let tat = burst(limit, -1, 1_000_000, 10, got);
    expect(got[0]).toBe(5);
    tat = burst(limit, tat, 1_001_999, 10, got);
    expect(got[1]).toBe(0);
    tat = burst(limit, tat, 1_002_000, 10, got);
    expect(got[2]).toBe(1);
    tat = burst(limit, tat, 1_020_000, 10, got); // long idle: refills only up to the burst
    expect(got[3]).toBe(5);
  });

  it("reports remaining, reset and retry-after", () => {
    const limit = new Limit(10, 1000, 3); // 10 per second, burst 3
    const v = new Verdict();
    admit(limit, -1, 5000, v);
    expect(v.allowed).toBe(true);
    expect(v.remaining).toBe(2);
    expect(v.resetMs).toBe(100);
    let tat = v.tat;
    admit(limit, tat, 5000, v); tat = v.tat;
    admit(limit, tat, 5000, v); tat = v.tat;
    expect(v.remaining).toBe(0);
    expect(v.resetMs).toBe(300);
    admit(limit, tat, 5000, v);
    expect(v.allowed).toBe(false);
    expect(v.retryAfterMs).toBe(100);
    expect(v.tat).toBe(tat); // a refusal does not change the bucket
    admit(limit, tat, 5100, v);
    expect(v.allowed).toBe(true);
  });

  it("does not drift over 10,000 periods", () => {
    const limit = new Limit(7, 3000, 7); // 7 per 3 s: a non-integer interval in ms
    let tat: i64 = -1;
    let total: i64 = 0;
    const got = new Array<i32>();
    for (let p = 1; p <= 10_000; p++) {
      got.length = 0;
      tat = burst(limit, tat, <i64>p * 3000, 20, got);
      total += got[0];
    }
    // The first period starts full (burst) and every later one refills exactly 7.
    expect(total).toBe(<i64>7 * 10_000);
  });

  it("handles the largest configured numbers without overflow", () => {
    const limit = new Limit(1_000_000, 86_400_000, 1_000_000);
    const now: i64 = 1_800_000_000_000; // year 2027, in ms
    const v = new Verdict();
    admit(limit, -1, now, v);
    expect(v.allowed).toBe(true);
    expect(v.remaining).toBe(999_999);
    expect(v.resetMs).toBe(87); // one emission interval is 86.4 ms, rounded up
    expect(isIdle(limit, v.tat, now + 87)).toBe(true);
  });
});

describe("keys", () => {
  it("uses the peer unless proxies are trusted, then the N-th entry from the right", () => {
    expect(clientIp("10.0.0.1:5000", "1.2.3.4", 0)).toBe("10.0.0.1");
    expect(clientIp("10.0.0.1:5000", "6.6.6.6, 1.2.3.4", 1)).toBe("1.2.3.4");
    expect(clientIp("10.0.0.1:5000", "6.6.6.6, 1.2.3.4, 10.0.0.9", 2)).toBe("1.2.3.4");
    expect(clientIp("10.0.0.1:5000", "1.2.3.4", 2)).toBe("10.0.0.1");
    expect(clientIp("[::1]:5000", null, 1)).toBe("::1");
  });

  it("joins parts without ambiguity", () => {
    expect(joinKey(["a|b", "c"]) == joinKey(["a", "b|c"])).toBe(false);
    expect(joinKey(["ab", ""])).toBe("2:ab0:");
  });
});
