// The global rate limit stack, with Envoy's own filter: two Envoys (two workers each) run the
// native envoy.filters.http.ratelimit against one envoyproxy/ratelimit service and one Redis. One
// limit holds across both Envoys, each user has their own, a Redis crash fails open (the documented
// failure_mode_deny: false), and enforcement resumes once Redis is back. This is the oracle the
// rate-limit filter's `scope: global` rules (issue #16) are to be compared with.
import { beforeAll, describe, expect, it } from "vitest";
import {
  bootstrap,
  echoedHeader,
  httpListener,
  nativeRateLimitFilter,
  pollUntil,
  rateLimitServiceCluster,
  ratelimitPath,
  redisPing,
  redisServerPath,
  request,
  staticCluster,
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

const DOMAIN = "portico-oracle";
const LIMIT = 5;
/** REDIS_POOL_SIZE of the service: each pooled connection a Redis restart broke fails once. */
const POOL = 2;
/** The Envoys' stats for the filter live under the route's target cluster. */
const STAT = (name: string) => `cluster.upstream.ratelimit.${name}`;

const stack = useRateLimitStack({
  redisPoolSize: POOL,
  // Per hour, not per minute: the service counts in fixed windows aligned to the unit, and a
  // test's requests must fall into one window (see waitForFreshWindow).
  domains: [{ domain: DOMAIN, descriptors: [{ key: "user", rate_limit: { unit: "hour", requests_per_unit: LIMIT } }] }],
});
let up: EchoUpstream;
let envoys: Envoy[];

function config(upstreamPort: number, servicePort: number): Json {
  // One descriptor per request: ("user", <x-user header>). A request without the header sends none.
  const routes = [
    {
      match: { prefix: "/" },
      route: { cluster: "upstream", rate_limits: [{ actions: [{ request_headers: { header_name: "x-user", descriptor_key: "user" } }] }] },
    },
  ];
  return bootstrap({
    // failure_mode_deny false (fail open), and a 1 s deadline: what bounds a request's wait when
    // Redis is gone. The service then answers with an error only while it still has broken
    // connections to fail on; once its pool is empty it blocks (radix v4 always waits for a
    // connection), and only this timeout ends the call.
    listeners: [
      httpListener({ name: "main", routes, httpFilters: [nativeRateLimitFilter({ domain: DOMAIN, cluster: "ratelimit", timeout: "1s" })] }),
    ],
    clusters: [staticCluster("upstream", upstreamPort), rateLimitServiceCluster("ratelimit", servicePort)],
  });
}

beforeAll(async () => {
  up = await upstream();
  envoys = [];
  for (const name of ["edge-a", "edge-b"]) {
    envoys.push(await envoy({ name, concurrency: 2, config: config(up.port, stack.service.grpcPort) }));
  }
}, 120_000);

const ask = (e: Envoy, user: string): Promise<HttpResponse> => request(e.url("/"), { headers: { "x-user": user } });

/** `n` requests for `user`, one after the other, alternating between the two Envoys. */
async function alternate(user: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await ask(envoys[i % 2]!, user)).status);
  return statuses;
}

const total = async (name: string): Promise<number> => {
  let sum = 0;
  for (const e of envoys) sum += (await e.stat(STAT(name))) ?? 0;
  return sum;
};

const upstreamSaw = (user: string) => up.requests.filter((r) => echoedHeader(r, "x-user").includes(user)).length;

describe("Envoy's native ratelimit filter + envoyproxy/ratelimit + Redis: one limit across Envoys", () => {
  it("a burst for one user spread over both Envoys admits exactly the limit in total; the rest get 429", async () => {
    await waitForFreshWindow("hour");
    // 10 concurrent requests per Envoy. Redis counts atomically, so the total is exact, not "about".
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(envoys[i % 2]!, "alice")));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length, JSON.stringify(statuses)).toBe(LIMIT);
    expect(statuses.filter((s) => s === 429).length, JSON.stringify(statuses)).toBe(20 - LIMIT);
    // Refused by the rate limit filter (it says so), before the upstream.
    const refused = responses.find((r) => r.status === 429)!;
    expect(refused.header("x-envoy-ratelimited")).toBe("true");
    expect(upstreamSaw("alice")).toBe(LIMIT);
    // Each Envoy refused some: neither could have admitted its 10 on a limit of its own.
    for (const e of envoys) expect(await e.stat(STAT("over_limit")), e.name).toBeGreaterThan(0);
    // Still over: the counter is shared, not per connection or per worker.
    expect(await alternate("alice", 4)).toEqual([429, 429, 429, 429]);
  });

  it("each user has a limit of their own, and both Envoys count into it", async () => {
    await waitForFreshWindow("hour");
    // Alternating: Envoy A admits bob's 1st, 3rd, 5th, Envoy B his 2nd and 4th, then both refuse.
    expect(await alternate("bob", 8)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(upstreamSaw("bob")).toBe(LIMIT);
    // No header, no descriptor: the filter does not ask the service at all.
    const plain = await request(envoys[0]!.url("/"));
    expect(plain.status).toBe(200);
  });

  it("Redis killed: requests pass (fail open) and Envoy counts the errors; Redis back: enforcement resumes", async () => {
    await waitForFreshWindow("hour", 60_000);
    // dave uses up his limit, so that being admitted below can only be the failure policy.
    expect(await alternate("dave", 6)).toEqual([200, 200, 200, 200, 200, 429]);
    const errorsBefore = await total("error");
    const allowedBefore = await total("failure_mode_allowed");

    await stack.redis.kill();
    expect(await redisPing(stack.redis.port)).toBe(false);
    // dave is over his limit, yet the service cannot count: failure_mode_deny false lets him through.
    await pollUntil(
      () => ask(envoys[0]!, "dave").then((r) => r.status),
      (s) => s === 200,
      { timeoutMs: 10_000, what: "dave admitted while Redis is down" },
    );
    expect(await alternate("dave", 6)).toEqual(Array(6).fill(200));
    for (const e of envoys) expect((await e.stat(STAT("failure_mode_allowed"))) ?? 0, e.name).toBeGreaterThan(0);
    expect(await total("error")).toBeGreaterThanOrEqual(errorsBefore + 7);
    expect(await total("failure_mode_allowed")).toBeGreaterThanOrEqual(allowedBefore + 7);
    // The service says why (at its default log level, warn).
    expect(stack.service.logs()).toMatch(/redis connection error.*connection refused/);

    await stack.redis.restart();
    // The service reconnects by itself, with a backoff of up to 4 s (radix's MaxReconnectInterval);
    // a decision asked meanwhile waits or fails. Back means more consecutive answers than the pool
    // has connections.
    let streak = 0;
    let probes = 0;
    await pollUntil(
      async () => {
        const r = await stack.service.shouldRateLimit(DOMAIN, { user: `probe-${++probes}` }, 2_000).catch(() => ({ status: 0 }));
        streak = r.status === 200 ? streak + 1 : 0;
        return streak;
      },
      (n) => n > 2 * POOL,
      { timeoutMs: 30_000, intervalMs: 50, what: "the service answering from the restarted Redis" },
    );
    const errorsAfterRestore = await total("error");
    // The new Redis starts empty: carol, new, gets exactly the limit again, over both Envoys.
    expect(await alternate("carol", 8)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(await total("error"), "no errors once Redis is back").toBe(errorsAfterRestore);
  });
});

describe("the tools behind it", () => {
  it("a missing redis-server or rate limit service is an error that says how to install it", () => {
    for (const [key, resolve] of [
      ["REDIS_SERVER", redisServerPath],
      ["RATELIMIT", ratelimitPath],
    ] as const) {
      const saved = process.env[key];
      process.env[key] = `/nonexistent/${key.toLowerCase()}`;
      try {
        expect(() => resolve()).toThrow(/install-tools\.sh/);
      } finally {
        if (saved === undefined) delete process.env[key];
        else process.env[key] = saved;
      }
    }
  });
});
