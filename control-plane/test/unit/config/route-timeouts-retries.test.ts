// routes[].idle_timeout, routes[].retries.backoff and upstreams[].circuit_breakers.retry_budget:
// each mistake is refused at its path and line; what is accepted reaches the model.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigError } from "../../../src/config/index.js";
import { type GatewayDir, makeGatewayDir, yaml } from "./fixtures.js";

let gw: GatewayDir;
beforeAll(() => {
  gw = makeGatewayDir();
});
afterAll(() => gw.remove());

const lines = (errors: ConfigError[]) => errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`);

describe("route idle timeout and retry back-off", () => {
  it("refuses a bad idle timeout and a back-off whose max is below its base, or that is zero", async () => {
    const errors = await gw.errors(yaml`
      upstreams: [{ name: u, endpoints: ["10.0.0.1:80"] }]
      routes:
        - name: a
          upstream: u
          idle_timeout: soon
        - name: b
          upstream: u
          retries: { backoff: { base: 1s, max: 100ms } }
        - name: c
          upstream: u
          retries: { backoff: { base: 0s, jitter: true } }
        - name: d
          upstream: u
          retries: { backoff: { max: 1s } }
    `);
    expect(lines(errors)).toEqual([
      '5:19 routes[0].idle_timeout: invalid duration "soon": use a number with a unit (ms, s, m, h) such as "250ms", "15s", "1m30s", or a number of seconds',
      "8:42 routes[1].retries.backoff.max: must be at least base (1000ms), got 100ms",
      "11:33 routes[2].retries.backoff.base: must be longer than 0",
      '11:37 routes[2].retries.backoff.jitter: unknown key "jitter" (expected one of: base, max)',
      "14:25 routes[3].retries.backoff.base: is required",
    ]);
  });

  it("maps idle_timeout (0 included) and back-off to the model", async () => {
    const loaded = await gw.load(yaml`
      upstreams: [{ name: u, endpoints: ["10.0.0.1:80"] }]
      routes:
        - { name: a, upstream: u, idle_timeout: 0, retries: { backoff: { base: 20ms } } }
        - { name: b, upstream: u, idle_timeout: 1m, retries: { backoff: { base: 20ms, max: 20ms } } }
    `);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.model.routes.map((r) => [r.idleTimeoutMs, r.retries?.backoff])).toEqual([
      [0, { baseMs: 20, maxMs: null }],
      [60_000, { baseMs: 20, maxMs: 20 }],
    ]);
  });
});

describe("upstream retry budget", () => {
  it("refuses a percentage outside 0–100, a fractional or negative concurrency, and max_retries next to a budget", async () => {
    const errors = await gw.errors(yaml`
      upstreams:
        - name: a
          endpoints: ["10.0.0.1:80"]
          circuit_breakers: { retry_budget: { percent: 150, min_concurrency: 1.5 } }
        - name: b
          endpoints: ["10.0.0.1:80"]
          circuit_breakers: { retry_budget: { percent: -1, min_concurrency: -2 } }
        - name: c
          endpoints: ["10.0.0.1:80"]
          circuit_breakers: { max_retries: 3, retry_budget: {} }
        - name: d
          endpoints: ["10.0.0.1:80"]
          circuit_breakers: { retry_budget: 20 }
    `);
    expect(lines(errors)).toEqual([
      "4:50 upstreams[0].circuit_breakers.retry_budget.percent: must be at most 100 (got 150)",
      "4:72 upstreams[0].circuit_breakers.retry_budget.min_concurrency: expected an integer, got 1.5",
      "7:50 upstreams[1].circuit_breakers.retry_budget.percent: must be at least 0 (got -1)",
      "7:71 upstreams[1].circuit_breakers.retry_budget.min_concurrency: must be at least 0 (got -2)",
      "10:55 upstreams[2].circuit_breakers.retry_budget: Envoy ignores max_retries when a retry budget is set: give one of them",
      "13:39 upstreams[3].circuit_breakers.retry_budget: expected a map, got 20",
    ]);
  });

  it("fills Envoy's defaults (20%, 3) into a budget given empty", async () => {
    const loaded = await gw.load(`upstreams: [{ name: a, endpoints: ["10.0.0.1:80"], circuit_breakers: { retry_budget: {} } }]\n`);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    expect(loaded.model.upstreams[0]!.circuitBreakers?.retryBudget).toEqual({ percent: 20, minConcurrency: 3 });
  });
});

// Found by the loader fuzz: counts past uint32 loaded, then failed to encode for Envoy (the whole
// change refused with no place in the file).
describe("counts Envoy carries as uint32", () => {
  it("refuses each one past 4294967295 at its field, and takes 4294967295", async () => {
    const B = 2 ** 32;
    const errors = await gw.errors(yaml`
      upstreams:
        - name: u
          endpoints: [{ host: 10.0.0.1, port: 80, weight: ${B} }]
          health_check: { path: /, healthy_threshold: ${B}, unhealthy_threshold: ${B} }
          outlier_detection: { consecutive_5xx: ${B} }
          circuit_breakers: { max_connections: ${B}, max_pending_requests: ${B}, max_requests: ${B}, retry_budget: { min_concurrency: ${B} } }
      routes:
        - { name: r, upstream: u, retries: { attempts: ${B} } }
    `);
    expect(errors.map((e) => e.path)).toEqual([
      "upstreams[0].endpoints[0].weight",
      "upstreams[0].health_check.healthy_threshold",
      "upstreams[0].health_check.unhealthy_threshold",
      "upstreams[0].outlier_detection.consecutive_5xx",
      "upstreams[0].circuit_breakers.max_connections",
      "upstreams[0].circuit_breakers.max_pending_requests",
      "upstreams[0].circuit_breakers.max_requests",
      "upstreams[0].circuit_breakers.retry_budget.min_concurrency",
      "routes[0].retries.attempts",
    ]);
    expect(new Set(errors.map((e) => e.message))).toEqual(new Set([`must be at most ${B - 1} (got ${B})`]));
    const max = await gw.load(`upstreams: [{ name: u, endpoints: ["10.0.0.1:80"], circuit_breakers: { max_retries: ${B - 1} } }]\n`);
    expect(max.ok).toBe(true);
  });
});
