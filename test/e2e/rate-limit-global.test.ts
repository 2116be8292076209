// rate-limit's global rules in a real Envoy 1.40 (two workers) against the reference rate limit
// service (envoyproxy/ratelimit) and a real Redis, through the shipped example config
// (envoy-configs/rate-limit-global.yaml): the filter's gRPC call, as Envoy links and runs it,
// admits exactly the limit and refuses the rest with the documented 429, also for concurrent
// requests spread over both workers; a local rule in front sheds without asking, and RateLimit-*
// report the most restrictive rule; with the service gone, the fail-open rule admits, the
// fail-closed rule answers 429, and nothing is a 5xx; a service that never answers costs a request
// no more than the configured timeout. (The multi-Envoy, fault and differential
// tests are in rate-limit-global-cluster.test.ts.)
import { randomUUID } from "node:crypto";
import { type Server, type Socket, createServer } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import {
  echoedHeader,
  msLeftInWindow,
  pollUntil,
  rateLimitGlobalExample,
  request,
  useEchoUpstream,
  useEnvoy,
  useRateLimitStack,
  waitForFreshWindow,
  type EchoUpstream,
  type Envoy,
  type HttpResponse,
  type Json,
} from "../support/index.js";

const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const LIMIT = 5;
/** The example's stat_prefix; Envoy files Wasm metrics under wasmcustom. */
const STAT = (name: string) => `wasmcustom.portico.rate_limit.demo.${name}`;

// The service config the example's comment shows.
const stack = useRateLimitStack({
  domains: [
    {
      domain: "portico",
      descriptors: [
        { key: "rule", value: "per_user", descriptors: [{ key: "x-user", rate_limit: { unit: "hour", requests_per_unit: LIMIT } }] },
        {
          key: "rule",
          value: "reports",
          descriptors: [{ key: "fixed", value: "global", rate_limit: { unit: "minute", requests_per_unit: 100 } }],
        },
      ],
    },
  ],
});
let up: EchoUpstream;
let edge: Envoy;

beforeAll(async () => {
  up = await upstream();
  edge = await envoy({
    name: "rate-limit-global",
    concurrency: 2,
    config: rateLimitGlobalExample({ upstreamPort: up.port, servicePort: stack.service.grpcPort }),
  });
}, 120_000);

const ask = (user: string, path = "/"): Promise<HttpResponse> => request(edge.url(path), { headers: { "x-user": user } });
const upstreamSaw = (user: string) => up.requests.filter((r) => echoedHeader(r, "x-user").includes(user)).length;
const stat = async (name: string) => (await edge.stat(STAT(name))) ?? 0;

/** A TCP server that accepts connections and never says a word: a service hung (as envoyproxy/ratelimit is while Redis is down). */
async function blackhole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => void sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("rate-limit global rules in Envoy, with envoyproxy/ratelimit and Redis", () => {
  it("admits exactly the limit per user, then 429 with retry-after to the end of the service's window", async () => {
    await waitForFreshWindow("hour");
    const user = `u-${randomUUID()}`;
    const allowedBefore = await stat("per_user.allowed_total");
    const replies: HttpResponse[] = [];
    for (let i = 0; i < LIMIT + 3; i++) replies.push(await ask(user));
    expect(replies.map((r) => r.status)).toEqual([...Array(LIMIT).fill(200), 429, 429, 429]);
    expect(upstreamSaw(user)).toBe(LIMIT);
    const refused = replies[LIMIT]!;
    expect(refused.json()).toEqual({ error: "rate_limited", rule: "per_user" });
    // The service counts fixed hour windows: retry-after is what is left of this one.
    const left = Math.ceil(msLeftInWindow("hour") / 1000);
    const retryAfter = Number(refused.header("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(left - 2);
    expect(retryAfter).toBeLessThanOrEqual(left + 2);
    expect(refused.header("ratelimit-limit")).toBe(String(LIMIT));
    expect(refused.header("ratelimit-remaining")).toBe("0");
    expect((await stat("per_user.allowed_total")) - allowedBefore).toBe(LIMIT);
    expect(await stat("per_user.limited_total")).toBeGreaterThanOrEqual(3);
  });

  it("requests without the header share the empty value's counter, as a local rule's bucket would", async () => {
    await waitForFreshWindow("hour");
    // The descriptor carries ("x-user", ""); the service's `key: x-user` (no value) counts it like any value.
    // Only this test sends no x-user, so the counter starts at zero.
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 1; i++) statuses.push((await request(edge.url("/"))).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
  });

  it("with a local rule in front: RateLimit-* of the most restrictive rule, and a local refusal makes no call", async () => {
    await waitForFreshWindow("hour");
    const config = rateLimitGlobalExample({
      upstreamPort: up.port,
      servicePort: stack.service.grpcPort,
      plugin: (plugin) => ({
        ...plugin,
        rate_limit_headers: true,
        rules: [
          { name: "burst", match: { path: { prefix: "/burst" } }, requests: 2, period: "1m", key: [{ header: "x-user" }] },
          ...(plugin.rules as Json[]),
        ],
      }),
    });
    const mixed = await envoy({ name: "rate-limit-global-mixed", concurrency: 2, config });
    const user = `m-${randomUUID()}`;
    const get = (path: string) => request(mixed.url(path), { headers: { "x-user": user } });
    const calls = async () => (await mixed.stat(STAT("global.calls_total"))) ?? 0;
    // Only the global rule on "/": its counter, as the service reports it.
    let r = await get("/");
    expect([r.status, r.header("ratelimit-limit"), r.header("ratelimit-remaining")]).toEqual([200, "5", "4"]);
    // On /burst the local bucket (2 per minute) is the more restrictive: its numbers.
    r = await get("/burst");
    expect([r.status, r.header("ratelimit-limit"), r.header("ratelimit-remaining")]).toEqual([200, "2", "1"]);
    r = await get("/burst");
    expect([r.status, r.header("ratelimit-limit"), r.header("ratelimit-remaining")]).toEqual([200, "2", "0"]);
    expect(await calls()).toBe(3);
    // The local bucket is empty: refused here, without asking the service (and not charged there).
    r = await get("/burst");
    expect(r.status).toBe(429);
    expect(r.json()).toEqual({ error: "rate_limited", rule: "burst" });
    expect(await calls()).toBe(3);
    r = await get("/");
    expect([r.status, r.header("ratelimit-remaining")]).toEqual([200, "1"]);
  });

  it("concurrent requests over both workers: exactly the limit admitted, and no call left pending", async () => {
    await waitForFreshWindow("hour");
    const user = `c-${randomUUID()}`;
    const statuses = (await Promise.all(Array.from({ length: 20 }, () => ask(user)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length, JSON.stringify(statuses)).toBe(LIMIT);
    expect(statuses.filter((s) => s === 429).length, JSON.stringify(statuses)).toBe(20 - LIMIT);
    expect(upstreamSaw(user)).toBe(LIMIT);
    expect(await stat("global.pending")).toBe(0);
  });

  it("a service that never answers: each request waits the 100 ms timeout, then gets its rule's on_failure", async () => {
    const hole = await blackhole();
    try {
      const hung = await envoy({
        name: "rate-limit-global-hung",
        concurrency: 2,
        config: rateLimitGlobalExample({ upstreamPort: up.port, servicePort: hole.port }),
      });
      const timed = async (path: string) => {
        const t0 = performance.now();
        const r = await request(hung.url(path), { headers: { "x-user": "hung" } });
        return { status: r.status, ms: performance.now() - t0, r };
      };
      const replies = [];
      for (let i = 0; i < 3; i++) replies.push(await timed("/"), await timed("/reports"));
      expect(replies.map((x) => x.status)).toEqual([200, 429, 200, 429, 200, 429]);
      expect(replies[1]!.r.json()).toEqual({ error: "rate_limit_unavailable", rule: "reports" });
      // Bounded by the timeout (100 ms), not by the service: well under a second each, and not at once.
      for (const x of replies) expect(x.ms).toBeLessThan(1_000);
      for (const x of replies) expect(x.ms).toBeGreaterThanOrEqual(90);
      const errors = (await hung.stat(STAT("global.errors_total"))) ?? 0;
      expect(errors).toBe(6);
      // Envoy reports its own timeout of the call as UNAVAILABLE (the async client's 504, mapped to
      // a gRPC status), not DEADLINE_EXCEEDED; one line per worker, each at most every 10 s.
      expect(hung.logs()).toMatch(/rate-limit: 1 call\(s\) to the rate limit service failed; last cause: gRPC status 14 \(UNAVAILABLE\)/);
      expect((await hung.stat(STAT("global.pending"))) ?? 0).toBe(0);
    } finally {
      await hole.close();
    }
  });

  it("service gone: the allow rule admits, the deny rule answers 429 rate_limit_unavailable; never a 5xx", async () => {
    const user = `f-${randomUUID()}`;
    // Spend the user's limit first, so that being admitted below can only be the failure policy.
    for (let i = 0; i < LIMIT; i++) expect((await ask(user)).status).toBe(200);
    expect((await ask(user)).status).toBe(429);
    const errorsBefore = await stat("global.errors_total");

    await stack.service.kill();
    // Envoy notices when its connection to the service breaks; from then on every call fails.
    await pollUntil(
      () => ask(user).then((r) => r.status),
      (s) => s === 200,
      { timeoutMs: 10_000, what: "an over-limit user admitted while the service is down" },
    );
    const replies: HttpResponse[] = [];
    for (let i = 0; i < 4; i++) replies.push(await ask(user), await ask(user, "/reports/daily"));
    expect(replies.map((r) => r.status)).toEqual([200, 429, 200, 429, 200, 429, 200, 429]);
    const unavailable = replies[1]!;
    expect(unavailable.json()).toEqual({ error: "rate_limit_unavailable", rule: "reports" });
    expect(unavailable.header("retry-after")).toBe("1");
    expect(await stat("per_user.failure_allowed_total")).toBeGreaterThanOrEqual(8);
    expect(await stat("reports.failure_denied_total")).toBeGreaterThanOrEqual(4);
    expect((await stat("global.errors_total")) - errorsBefore).toBeGreaterThanOrEqual(8);
    expect(await stat("global.pending")).toBe(0);
    // The failure is logged, throttled, without request data.
    expect(edge.logs()).toMatch(/rate-limit: \d+ call\(s\) to the rate limit service failed/);
    expect(edge.logs()).not.toContain(user);
  });
});
