// The per-window accounting of test/support/window-load.ts, which the global rate limit e2e
// tests rest on: a request whose round trip spans a window boundary may count toward either
// window, and admittedWithinLimit must say "within the limit" exactly when some attribution keeps
// every window at or under it. Checked against a brute force over every attribution.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { admittedPerWindow, admittedWithinLimit, type LoadRecord } from "../support/window-load.js";

const P = 1_000;
const rec = (t0: number, t1: number, status = 200): LoadRecord => ({ target: "e", key: "", t0, t1, status });

/** Tries every attribution (tiny inputs only). */
function bruteForce(records: LoadRecord[], limit: number): boolean {
  const spans = records.filter((r) => r.status === 200).map((r) => [Math.floor(r.t0 / P), Math.floor(r.t1 / P)] as const);
  const counts = new Map<number, number>();
  const place = (i: number): boolean => {
    if (i === spans.length) return true;
    const [a, b] = spans[i]!;
    for (let w = a; w <= b; w++) {
      const c = counts.get(w) ?? 0;
      if (c >= limit) continue;
      counts.set(w, c + 1);
      if (place(i + 1)) return true;
      counts.set(w, c);
    }
    return false;
  };
  return place(0);
}

describe("window accounting for fixed-window limits", () => {
  it("counts a request inside one window as sure, one spanning a boundary in both windows", () => {
    const windows = admittedPerWindow([rec(100, 200), rec(900, 1_100), rec(1_500, 1_600, 429), rec(1_200, 1_300)], P);
    expect(windows).toEqual([
      { start: 0, sure: 1, spanning: 1 },
      { start: 1_000, sure: 1, spanning: 1 },
    ]);
  });

  it("a spanning request is placed where there is room; two sure ones over a limit of 1 are not", () => {
    // Window 0 has one sure request; the spanning one fits in window 1.
    expect(admittedWithinLimit([rec(100, 200), rec(900, 1_100)], P, 1)).toEqual({ ok: true });
    expect(admittedWithinLimit([rec(100, 200), rec(300, 400)], P, 1)).toEqual({ ok: false, window: 0, over: 1 });
    // Refusals never count.
    expect(admittedWithinLimit([rec(100, 200), rec(300, 400, 429)], P, 1)).toEqual({ ok: true });
  });

  it("agrees with trying every attribution", () => {
    const record = fc
      .tuple(fc.integer({ min: 0, max: 3_999 }), fc.integer({ min: 0, max: 2_500 }), fc.constantFrom(200, 200, 429))
      .map(([t0, rtt, status]) => rec(t0, t0 + rtt, status));
    fc.assert(
      fc.property(fc.array(record, { maxLength: 9 }), fc.integer({ min: 1, max: 3 }), (records, limit) => {
        expect(admittedWithinLimit(records, P, limit).ok).toBe(bruteForce(records, limit));
      }),
      { numRuns: 2_000 },
    );
  });
});
