// rate-limit's global rules with `sync` (decided in each Envoy, hits reported every 100 ms) in
// real Envoys 1.40 (two workers each) sharing one limit through the reference rate limit service
// (envoyproxy/ratelimit) and a real Redis: 2 and then 3 Envoys under load on all of them for
// several 1 s windows; the admitted count per window stays within the limit plus the bound the
// filter's README derives (filters/rate-limit/README.md, "Global limits without a round trip"),
// computed from the rates measured here. The measured overshoot is printed; the README and
// docs/rate-limit-service.md quote it. Then, with the service killed, each Envoy fails open up to
// the limit each per window, as the README says, with no 5xx; a rule with `on_failure: deny`
// refuses once its reports have failed for three syncs, and admits again when the service is back.
import { beforeAll, describe, expect, it } from "vitest";
import {
  pollUntil,
  rateLimitGlobalExample,
  request,
  useEchoUpstream,
  useEnvoy,
  useRateLimitStack,
  type EchoUpstream,
  type Envoy,
  type Json,
} from "../support/index.js";

const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const LIMIT = 50;
const SYNC_MS = 100;
const WINDOW_MS = 1000;
/**
 * Requests offered per Envoy per second: twice the whole limit, so every Envoy is refused in
 * every window, and slow enough that the rate-based bound is below what Envoys limiting on their
 * own would admit (each the whole limit): the test tells sync working from sync not working.
 */
const OFFERED_PER_S = 100;
/** Most requests in flight per Envoy (the pacing loop never waits on a slow answer beyond this). */
const IN_FLIGHT = 16;
/** A round trip to the service on this loopback, generously (measured: a few ms). */
const RTT_MS = 50;
const FULL_WINDOWS = 3;

const stack = useRateLimitStack({
  domains: [
    {
      domain: "portico",
      descriptors: [
        {
          key: "rule",
          value: "shared",
          descriptors: [{ key: "fixed", value: "global", rate_limit: { unit: "second", requests_per_unit: LIMIT } }],
        },
        {
          key: "rule",
          value: "closed",
          descriptors: [{ key: "fixed", value: "global", rate_limit: { unit: "second", requests_per_unit: LIMIT } }],
        },
      ],
    },
  ],
});
let up: EchoUpstream;
const edges: Envoy[] = [];

/** The shipped example with its service cluster on the test's service and one synced rule for everyone. */
function syncedConfig(upstreamPort: number, servicePort: number): Json {
  return rateLimitGlobalExample({
    upstreamPort,
    servicePort,
    plugin: () => ({
      stat_prefix: "demo",
      global: { cluster: "ratelimit", domain: "portico", timeout: "100ms" },
      rules: [
        // Only on /, where the load goes: /closed is not charged by it (a loaded window's count
        // would refuse /closed with rate_limited before its own rule could say anything).
        { name: "shared", scope: "global", requests: LIMIT, period: "1s", sync: `${SYNC_MS}ms`, match: { path: { exact: "/" } } },
        // Only on /closed, which the load never asks for: the deny case of the last test.
        {
          name: "closed",
          scope: "global",
          requests: LIMIT,
          period: "1s",
          sync: `${SYNC_MS}ms`,
          on_failure: "deny",
          match: { path: { prefix: "/closed" } },
        },
      ],
    }),
  });
}

beforeAll(async () => {
  up = await upstream({ record: false });
  for (let i = 0; i < 3; i++) {
    edges.push(await envoy({ name: `rate-limit-sync-${i}`, concurrency: 2, config: syncedConfig(up.port, stack.service.grpcPort) }));
  }
}, 120_000);

interface LoadResult {
  /** Per Envoy: when each admitted (200) answer came back, ms since the epoch. */
  admitted: number[][];
  /** Per Envoy: requests sent per second, measured. */
  offeredPerS: number[];
  /** Answers other than 200 and 429 (there must be none). */
  other: number[];
}

/**
 * Offers OFFERED_PER_S requests per second to each Envoy, paced, from the start of a window to
 * the end of the FULL_WINDOWS-th window after it.
 */
async function load(targets: Envoy[]): Promise<LoadResult> {
  // Start just after a window begins, so the full windows are whole.
  const start = (Math.floor(Date.now() / WINDOW_MS) + 1) * WINDOW_MS;
  const end = start + (FULL_WINDOWS + 1) * WINDOW_MS;
  const admitted: number[][] = targets.map(() => []);
  const sent: number[] = targets.map(() => 0);
  const other: number[] = [];
  const interval = 1000 / OFFERED_PER_S;
  // Load has to be offered at a pace: a timer per request slot, not a readiness poll.
  await new Promise((r) => setTimeout(r, start - Date.now()));
  await Promise.all(
    targets.map(async (e, i) => {
      let inFlight = 0;
      const pending: Promise<void>[] = [];
      for (let next = Date.now(); next < end; next += interval) {
        const wait = next - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (inFlight >= IN_FLIGHT) continue;
        inFlight++;
        sent[i]!++;
        pending.push(
          request(e.url("/"), { timeoutMs: 5_000 })
            .then((r) => {
              if (r.status === 200) admitted[i]!.push(Date.now());
              else if (r.status !== 429) other.push(r.status);
            })
            .catch(() => {
              other.push(0); // no answer at all
            })
            .finally(() => {
              inFlight--;
            }),
        );
      }
      await Promise.all(pending);
    }),
  );
  const seconds = (end - start) / 1000;
  return { admitted, offeredPerS: sent.map((n) => n / seconds), other };
}

/** Admitted per full window (the first window of the run warms up and is left out), over all Envoys. */
function perWindow(r: LoadResult): number[] {
  return windowsOf(r.admitted.flat(), Math.min(...r.admitted.flat()));
}

/** How many of `times` fall in each of the FULL_WINDOWS windows after the one `from` is in. */
function windowsOf(times: number[], from: number): number[] {
  const first = Math.floor(from / WINDOW_MS) + 1;
  return Array.from({ length: FULL_WINDOWS }, (_, k) => times.filter((t) => Math.floor(t / WINDOW_MS) === first + k).length);
}

/**
 * The README's bound on the overshoot per window with `n` Envoys each admitting at up to `rate`
 * per second: (n - 1) x rate x (2 x sync + 2 x round trip). (It is also never more than
 * (n - 1) x limit, which this test's rates keep out of play.)
 */
function bound(n: number, rate: number): number {
  return Math.ceil((n - 1) * rate * ((2 * SYNC_MS + 2 * RTT_MS) / 1000));
}

const stat = async (e: Envoy, name: string, rule = "shared") => (await e.stat(`wasmcustom.portico.rate_limit.demo.${rule}.${name}`)) ?? 0;

describe("rate-limit sync: one limit across Envoys without a round trip per request", () => {
  for (const n of [2, 3]) {
    it(`${n} Envoys under load admit at most the limit plus the stated bound per window`, async () => {
      const r = await load(edges.slice(0, n));
      expect(r.other).toEqual([]);
      const windows = perWindow(r);
      const rate = Math.max(...r.offeredPerS);
      const b = bound(n, rate);
      const overshoot = windows.map((w) => w - LIMIT);
      console.log(
        `rate-limit sync, ${n} Envoys x 2 workers, limit ${LIMIT}/s, sync ${SYNC_MS}ms, offered ${r.offeredPerS.map((x) => x.toFixed(0)).join("+")} req/s: ` +
          `admitted per window ${windows.join(", ")} (overshoot ${overshoot.join(", ")}; bound ${b})`,
      );
      for (const w of windows) {
        // Under this load every window reaches the limit: fewer would mean the Envoys refused too early.
        expect(w).toBeGreaterThanOrEqual(LIMIT);
        expect(w).toBeLessThanOrEqual(LIMIT + b);
      }
      expect(b).toBeLessThan((n - 1) * LIMIT);
      // Every Envoy got a share (none was refusing everything) and reported its hits without a failure.
      for (const a of r.admitted) expect(a.length).toBeGreaterThan(0);
      for (const e of edges.slice(0, n)) {
        expect(await stat(e, "sync_reports_total")).toBeGreaterThan(0);
        expect(await stat(e, "sync_failures_total")).toBe(0);
      }
    }, 30_000);
  }

  // Last: it kills the service.
  it("with the service gone, each Envoy keeps deciding from its own count: at most the limit each per window, and never a 5xx", async () => {
    const pair = edges.slice(0, 2);
    const failuresBefore = await Promise.all(pair.map((e) => stat(e, "sync_failures_total")));
    await stack.service.kill();
    const r = await load(pair);
    expect(r.other).toEqual([]);
    const from = Math.min(...r.admitted.flat());
    const each = r.admitted.map((a) => windowsOf(a, from));
    console.log(
      `rate-limit sync, service down, 2 Envoys, limit ${LIMIT}/s: admitted per window per Envoy ${each.map((w) => w.join(", ")).join(" | ")}`,
    );
    // Fail open per Envoy, up to the limit each (the README's failure mode): every window starts
    // from zero and nothing is learned, so each Envoy admits exactly the limit.
    for (const w of each) expect(w).toEqual(Array(FULL_WINDOWS).fill(LIMIT));
    const failuresAfter = await Promise.all(pair.map((e) => stat(e, "sync_failures_total")));
    expect(failuresAfter[0]).toBeGreaterThan(failuresBefore[0]!);
    expect(failuresAfter[1]).toBeGreaterThan(failuresBefore[1]!);
  }, 30_000);

  // After the previous test: the service is still down.
  it("on_failure deny: refuses once reports have failed for three syncs, and admits again once the service is back", async () => {
    const edge = edges[0]!;
    const closed = () => request(edge.url("/closed/x"), { timeoutMs: 5_000 });
    const statuses: number[] = [];
    // The first requests are admitted from the local count; their reports fail; after 3 x sync of
    // failures the rule refuses with its failure reply.
    const refused = await pollUntil(
      async () => {
        const r = await closed();
        statuses.push(r.status);
        return r;
      },
      (r) => r.status === 429,
      { timeoutMs: 5_000, intervalMs: 20, what: "the deny rule to refuse while the service is down" },
    );
    expect(JSON.parse(refused.body)).toEqual({ error: "rate_limit_unavailable", rule: "closed" });
    expect(refused.headers.find(([k]) => k === "retry-after")?.[1]).toBe("1");
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    expect(await stat(edge, "failure_denied_total", "closed")).toBeGreaterThan(0);
    // The service back on its ports: the refusing workers' check-only probes find it, and the
    // rule admits again (both workers: a run of successes, not one lucky worker).
    await stack.service.restart();
    await pollUntil(
      async () => Promise.all(Array.from({ length: 6 }, () => closed().then((r) => r.status))),
      (all) => all.every((st) => st === 200),
      { timeoutMs: 15_000, intervalMs: 100, what: "the deny rule to admit again once the service answers" },
    );
  }, 30_000);
});
