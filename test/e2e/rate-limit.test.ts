// rate-limit in a real Envoy 1.40 with two worker threads: the admitted count under a wrk load far
// above the limit stays within burst + rate x elapsed (one bucket for both workers), the 429
// response and RateLimit-* headers as documented, dry run, every key source in Envoy (route names,
// a JWT claim written by jwt-auth), X-Forwarded-For spoofing against Envoy's own address handling
// (use_remote_address, xff_num_trusted_hops), metrics on /stats and /stats/prometheus, bad configs
// refused at start with the field named, and the shipped example config.
import { beforeAll, describe, expect, it } from "vitest";
import {
  bootstrap,
  echoedHeader,
  filterWasm,
  generateKey,
  httpListener,
  jwksOf,
  loadExampleConfig,
  mint,
  nowSeconds,
  pollUntil,
  request,
  runWrk,
  staticCluster,
  startEnvoyExpectFailure,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type Envoy,
  type EchoUpstream,
  type HttpResponse,
  type Json,
  type TestKey,
} from "../support/index.js";

const WASM = filterWasm("rate-limit");
const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");

const WORKERS = 2;

function rateLimit(config: object | string, name: string): Json {
  return wasmHttpFilter({ file: WASM, name, rootId: "rate-limit", vmId: name, configuration: config });
}

const hcmOf = (l: Json): Json => ((l.filter_chains as Json[])[0]!.filters as Json[])[0]!.typed_config as Json;

/** A listener with its own stat_prefix (per-worker stats under listener.<name>.worker_<n>.) and HCM settings. */
function listener(name: string, filters: Json[], o: { hcm?: Json; routes?: Json[] } = {}): Json {
  const l = httpListener({ name, httpFilters: filters, routes: o.routes });
  l.stat_prefix = name;
  Object.assign(hcmOf(l), o.hcm ?? {});
  return l;
}

// Load: the default key (one global bucket), 20 per second, capacity 10.
const LOAD = { rate: 20, burst: 10 };
const perKey = (name: string, extra: Json = {}) => ({
  name,
  requests: 1,
  period_s: 60,
  burst: 2,
  key: [{ header: "x-test-key" }],
  ...extra,
});
const perIp = (extra: Json = {}) => ({
  ...extra,
  rules: [{ name: "per_ip", requests: 1, period_s: 3600, burst: 2, key: [{ client_ip: true }] }],
});
const ISSUER = "https://idp.example.com";

let e: Envoy;
let up: EchoUpstream;
let idp: TestKey;

beforeAll(async () => {
  idp = await generateKey("ES256", "idp-es");
  up = await upstream();
  const jwtAuth = wasmHttpFilter({
    file: filterWasm("jwt-auth"),
    name: "jwt_auth",
    rootId: "jwt-auth",
    vmId: "jwt_auth",
    configuration: {
      providers: [{ name: "idp", issuer: ISSUER, jwks: jwksOf([idp]), claims_to_headers: [{ claim: "sub", header: "x-jwt-sub" }] }],
      rules: [{ match: {}, requires: ["idp"] }],
    },
  });
  const route = (name: string, prefix: string): Json => ({ name, match: { prefix }, route: { cluster: "upstream" } });
  e = await envoy({
    name: "rate-limit",
    concurrency: WORKERS,
    config: bootstrap({
      listeners: [
        listener("load", [rateLimit({ rules: [{ name: "load", requests: LOAD.rate, period_s: 1, burst: LOAD.burst }] }, "rl_load")]),
        listener("shape", [rateLimit({ rate_limit_headers: true, rules: [perKey("shape")] }, "rl_shape")]),
        listener("plain", [rateLimit({ rules: [perKey("plain")] }, "rl_plain")]),
        listener("dry", [rateLimit({ stat_prefix: "dry", dry_run: true, rules: [perKey("trial", { period_s: 3600 })] }, "rl_dry")]),
        listener("metrics", [
          rateLimit(
            {
              stat_prefix: "e2e",
              rules: [perKey("m", { period_s: 3600, burst: 3 }), perKey("unused", { match: { path: { prefix: "/never/" } } })],
            },
            "rl_metrics",
          ),
        ]),
        listener(
          "routes",
          [rateLimit({ rules: [{ name: "per_route", requests: 1, period_s: 3600, burst: 2, key: [{ route: true }] }] }, "rl_routes")],
          {
            routes: [route("orders", "/orders/"), route("users", "/users/")],
          },
        ),
        listener("jwt", [
          jwtAuth,
          rateLimit({ rules: [{ name: "per_user", requests: 1, period_s: 3600, burst: 2, key: [{ header: "x-jwt-sub" }] }] }, "rl_jwt"),
        ]),
        // Client address: Envoy at the edge (use_remote_address: true) ...
        listener("edge", [rateLimit(perIp(), "rl_edge")], { hcm: { use_remote_address: true } }),
        // ... with Envoy's defaults (use_remote_address: false) ...
        listener("default_hcm", [rateLimit(perIp(), "rl_default_hcm")]),
        // ... behind one trusted proxy that appends the client address to X-Forwarded-For:
        listener("behind_lb", [rateLimit(perIp({ trusted_hops: 1 }), "rl_behind_lb")]),
        listener("envoy_hops", [rateLimit(perIp(), "rl_envoy_hops")], { hcm: { use_remote_address: true, xff_num_trusted_hops: 1 } }),
        listener("edge_hops", [rateLimit(perIp({ trusted_hops: 2 }), "rl_edge_hops")], { hcm: { use_remote_address: true } }),
      ],
      clusters: [staticCluster("upstream", up.port)],
    }),
  });
}, 120_000);

type Headers = [string, string][];

const send = (listenerName: string, headers: Headers = [], path = "/"): Promise<HttpResponse> =>
  request(e.url(path, listenerName), { headers });

async function statusesOf(n: number, listenerName: string, headers: Headers = [], path = "/"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await send(listenerName, headers, path)).status);
  return out;
}

const delta = (before: Map<string, number>, after: Map<string, number>, k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);

/** A value the filter computed as ceil(x - t) seconds, t being the (measured) time since the bucket's first request. */
function expectCeilSeconds(value: string | undefined, atStart: number, elapsedMaxS: number, what: string): void {
  expect(value, what).toMatch(/^\d+$/);
  const v = Number(value);
  expect(v, what).toBeGreaterThanOrEqual(Math.max(1, Math.ceil(atStart - elapsedMaxS)));
  expect(v, what).toBeLessThanOrEqual(atStart);
}

describe("rate-limit under load on two worker threads", () => {
  it("admits at most burst + rate x elapsed (+1 rounding, +1 creation race) from a load far above the limit, on both workers", async () => {
    const filter = "(portico\\.rate_limit\\.load\\.|listener\\.load\\.worker_)";
    const before = await e.stats(filter);
    const connections = 64;
    const t0 = performance.now();
    const r = await runWrk({ url: e.url("/", "load"), connections, threads: 2, durationSec: 3, countStatuses: true });
    // Admission decisions for requests wrk had in flight when it stopped land right after it
    // exits: read the counters until two reads 100 ms apart agree, and count that time as
    // elapsed too (it only widens the upper bound).
    const counts = (s: Map<string, number>) =>
      ["allowed_total", "limited_total"].map((c) => s.get(`wasmcustom.portico.rate_limit.load.${c}`) ?? 0).join("/");
    let previous = await e.stats(filter);
    const after = await pollUntil(
      async () => {
        const now = await e.stats(filter);
        const settled = counts(now) === counts(previous);
        previous = now;
        return { settled, counts: counts(now), stats: now };
      },
      (v) => v.settled,
      { intervalMs: 100, timeoutMs: 10_000, what: "allowed/limited counters to stop moving after wrk" },
    ).then((v) => v.stats);
    const elapsedS = (performance.now() - t0) / 1000;
    const statuses = r.statuses ?? {};
    const ok = statuses["200"] ?? 0;
    const refused = statuses["429"] ?? 0;
    const admitted = delta(before, after, "wasmcustom.portico.rate_limit.load.allowed_total");
    const limited = delta(before, after, "wasmcustom.portico.rate_limit.load.limited_total");
    // CAS conflicts between the two workers, for the record (how often they raced on the bucket).
    const casRetries = delta(before, after, "wasmcustom.portico.rate_limit.load.cas_retries_total");
    const summary =
      `wrk ${JSON.stringify(statuses)} in ${(r.durationUs / 1e6).toFixed(3)} s; elapsed ${elapsedS.toFixed(3)} s; ` +
      `allowed_total +${admitted}, limited_total +${limited}, cas_retries_total +${casRetries}`;
    console.info(`rate-limit load on ${WORKERS} workers: ${summary}`);

    // Upper bound. The bucket starts full (burst) and refills at `rate`; over the measured
    // elapsed time (which contains every admission) that is burst + rate x elapsed. +1: a token
    // accrued just before the window opened is spent inside it. +(workers - 1): the first request
    // of a brand-new key may be admitted once per worker that hits it in the same instant.
    const upper = LOAD.burst + LOAD.rate * elapsedS + 1 + (WORKERS - 1);
    // Lower bound: wrk keeps the bucket drained for its whole run but for ramp-up and ramp-down;
    // 0.5 s of slack is far more than either takes on loopback, and per-worker buckets or a
    // wrong refill rate would still land far outside [lower, upper].
    const lower = LOAD.burst + LOAD.rate * (r.durationUs / 1e6 - 0.5);
    expect(admitted, summary).toBeLessThanOrEqual(upper);
    expect(admitted, summary).toBeGreaterThanOrEqual(lower);
    // What wrk saw agrees with the counters: 200s were admitted (some admitted requests were
    // still in flight when wrk stopped), 429s were limited, and nothing else came back.
    expect(Object.keys(statuses).sort(), summary).toEqual(["200", "429"]);
    expect(ok, summary).toBeLessThanOrEqual(admitted);
    expect(admitted - ok, summary).toBeLessThanOrEqual(connections);
    expect(refused, summary).toBeLessThanOrEqual(limited);
    expect(refused, "the load was far above the limit").toBeGreaterThan(10 * admitted);

    const cx = (w: number) => delta(before, after, `listener.load.worker_${w}.downstream_cx_total`);
    expect(cx(0), `connections on worker 0 (${summary})`).toBeGreaterThan(0);
    expect(cx(1), `connections on worker 1 (${summary})`).toBeGreaterThan(0);
  });
});

describe("rate-limit responses", () => {
  it("refuses with 429, a JSON body naming the rule, Retry-After and RateLimit-* (1 per minute, burst 2)", async () => {
    const key: [string, string] = ["x-test-key", "shape-429"];
    const t0 = performance.now();
    const first = await send("shape", [key]);
    const second = await send("shape", [key]);
    const refused = await send("shape", [key]);
    const elapsedS = (performance.now() - t0) / 1000;
    expect([first.status, second.status, refused.status]).toEqual([200, 200, 429]);
    expect(refused.json()).toEqual({ error: "rate_limited", rule: "shape" });
    expect(refused.body).toBe('{"error":"rate_limited","rule":"shape"}');
    expect(refused.headerAll("content-type")).toEqual(["application/json"]);
    for (const h of ["retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]) {
      expect(refused.headerAll(h), `${h} exactly once`).toHaveLength(1);
    }
    expect(refused.header("ratelimit-limit")).toBe("2");
    expect(refused.header("ratelimit-remaining")).toBe("0");
    // Two tokens spent at once: the next one is 60 s after the first request, full again at 120 s.
    expectCeilSeconds(refused.header("retry-after"), 60, elapsedS, "retry-after");
    expectCeilSeconds(refused.header("ratelimit-reset"), 120, elapsedS, "ratelimit-reset");
    // The refused request never reached the upstream.
    const seen = up.requests.filter((q) => echoedHeader(q, "x-test-key")[0] === "shape-429");
    expect(seen).toHaveLength(2);
  });

  it("with rate_limit_headers, allowed responses say what is left; without, they carry no RateLimit-* headers", async () => {
    const key: [string, string] = ["x-test-key", "shape-allowed"];
    const t0 = performance.now();
    const a = await send("shape", [key]);
    const b = await send("shape", [key]);
    const elapsedS = (performance.now() - t0) / 1000;
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.headerAll("ratelimit-limit"), a.headerAll("ratelimit-remaining")]).toEqual([["2"], ["1"]]);
    expect([b.headerAll("ratelimit-limit"), b.headerAll("ratelimit-remaining")]).toEqual([["2"], ["0"]]);
    expectCeilSeconds(a.header("ratelimit-reset"), 60, elapsedS, "reset after one of two tokens");
    expectCeilSeconds(b.header("ratelimit-reset"), 120, elapsedS, "reset after both tokens");

    const plainKey: [string, string] = ["x-test-key", "plain"];
    const [p1, p2, p3] = [await send("plain", [plainKey]), await send("plain", [plainKey]), await send("plain", [plainKey])];
    expect([p1.status, p2.status, p3.status]).toEqual([200, 200, 429]);
    for (const h of ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"]) {
      expect([...p1.headerAll(h), ...p2.headerAll(h)], `${h} on allowed responses`).toEqual([]);
      expect(p3.headerAll(h), `${h} on the 429`).toHaveLength(1);
    }
  });

  it("in dry run never refuses, and counts what it would have limited", async () => {
    const filter = "portico\\.rate_limit\\.dry\\.";
    const before = await e.stats(filter);
    const key: [string, string] = ["x-test-key", "dry-1"];
    expect(await statusesOf(5, "dry", [key])).toEqual([200, 200, 200, 200, 200]);
    const after = await e.stats(filter);
    expect(delta(before, after, "wasmcustom.portico.rate_limit.dry.trial.limited_total")).toBe(3);
    expect(delta(before, after, "wasmcustom.portico.rate_limit.dry.trial.allowed_total")).toBe(2);
    expect(up.requests.filter((q) => echoedHeader(q, "x-test-key")[0] === "dry-1")).toHaveLength(5);
  });
});

describe("rate-limit keys in Envoy", () => {
  it("route: one bucket per Envoy route name", async () => {
    expect(await statusesOf(3, "routes", [], "/orders/1")).toEqual([200, 200, 429]);
    expect(await statusesOf(1, "routes", [], "/orders/other")).toEqual([429]);
    expect(await statusesOf(3, "routes", [], "/users/1")).toEqual([200, 200, 429]);
  });

  it("a JWT claim: jwt-auth first writes x-jwt-sub from the verified token, rate-limit keys on it", async () => {
    const now = nowSeconds();
    const token = async (sub: string) =>
      ["authorization", `Bearer ${await mint(idp, { iss: ISSUER, sub, iat: now, exp: now + 600 })}`] as [string, string];
    const alice = await token("alice");
    expect(await statusesOf(3, "jwt", [alice])).toEqual([200, 200, 429]);
    expect(await statusesOf(1, "jwt", [await token("bob")]), "another user: another bucket").toEqual([200]);
    expect(await statusesOf(1, "jwt", [alice, ["x-jwt-sub", "carol"]]), "a client-sent x-jwt-sub is replaced by the token's").toEqual([
      429,
    ]);
    expect(await statusesOf(1, "jwt", [["x-jwt-sub", "dave"]]), "no token: jwt-auth answers first").toEqual([401]);
  });
});

describe("rate-limit client address and X-Forwarded-For (the client connects from 127.0.0.1)", () => {
  const xff = (value: string): Headers => [["x-forwarded-for", value]];

  it("at the edge (use_remote_address: true, trusted_hops 0) a spoofed X-Forwarded-For stays in the peer's bucket", async () => {
    const got = [
      await send("edge", xff("1.1.1.1")),
      await send("edge", xff("2.2.2.2")),
      await send("edge", xff("3.3.3.3")),
      await send("edge", xff("4.4.4.4, 5.5.5.5")),
      await send("edge"),
    ].map((r) => r.status);
    expect(got).toEqual([200, 200, 429, 429, 429]);
  });

  it("with Envoy's default use_remote_address: false, Envoy itself takes source.address from X-Forwarded-For: use the edge settings", async () => {
    // Not the filter's doing: Envoy sets the downstream address to the last XFF entry, and that
    // is what source.address reports. This is why the README requires use_remote_address: true
    // when Envoy is the edge.
    expect(await statusesOf(3, "default_hcm", xff("1.1.1.1"))).toEqual([200, 200, 429]);
    expect(await statusesOf(1, "default_hcm", xff("2.2.2.2")), "a new fake address is a new bucket").toEqual([200]);
  });

  for (const [name, setup] of [
    ["behind_lb", "use_remote_address: false, trusted_hops 1"],
    ["envoy_hops", "use_remote_address: true, xff_num_trusted_hops: 1, trusted_hops 0"],
    ["edge_hops", "use_remote_address: true (Envoy appends its own entry), trusted_hops 2"],
  ] as const) {
    it(`behind one trusted proxy (${setup}) the buckets follow the proxy's entry; prepended entries do not escape`, async () => {
      expect(await statusesOf(3, name, xff("198.51.100.1"))).toEqual([200, 200, 429]);
      expect(await statusesOf(1, name, xff("6.6.6.6, 198.51.100.1")), "client-prepended entry").toEqual([429]);
      expect(await statusesOf(1, name, xff("6.6.6.6,7.7.7.7,198.51.100.1"))).toEqual([429]);
      expect(await statusesOf(3, name, xff("198.51.100.1, 198.51.100.2")), "another client").toEqual([200, 200, 429]);
      expect(await statusesOf(3, name), "no header: the peer").toEqual([200, 200, 429]);
    });
  }
});

describe("rate-limit metrics", () => {
  it("counts allowed, limited and CAS retries per rule with stat_prefix, tracks keys, on /stats and /stats/prometheus", async () => {
    const filter = "portico\\.rate_limit\\.e2e\\.";
    const before = await e.stats(filter);
    expect(await statusesOf(5, "metrics", [["x-test-key", "m1"]])).toEqual([200, 200, 200, 429, 429]);
    expect(await statusesOf(1, "metrics", [["x-test-key", "m2"]])).toEqual([200]);
    const after = await e.stats(filter);
    expect(delta(before, after, "wasmcustom.portico.rate_limit.e2e.m.allowed_total")).toBe(4);
    expect(delta(before, after, "wasmcustom.portico.rate_limit.e2e.m.limited_total")).toBe(2);
    expect(after.has("wasmcustom.portico.rate_limit.e2e.m.cas_retries_total")).toBe(true);
    expect(after.get("wasmcustom.portico.rate_limit.e2e.unused.allowed_total") ?? 0).toBe(0);
    await pollUntil(
      () => e.stats(filter),
      (s) => s.get("wasmcustom.portico.rate_limit.e2e.m.keys_tracked") === 2,
      {
        what: "keys_tracked = 2 (m1 and m2 active)",
        timeoutMs: 20_000,
        intervalMs: 250,
      },
    );
    const prom = await e.promStats();
    for (const [name, type] of [
      ["portico_rate_limit_e2e_m_allowed_total", "counter"],
      ["portico_rate_limit_e2e_m_limited_total", "counter"],
      ["portico_rate_limit_e2e_m_cas_retries_total", "counter"],
      ["portico_rate_limit_e2e_m_keys_tracked", "gauge"],
      ["portico_rate_limit_e2e_unused_limited_total", "counter"],
    ] as const) {
      expect(prom).toMatch(new RegExp(`^# TYPE ${name} ${type}$`, "m"));
      expect(prom).toMatch(new RegExp(`^${name}\\{\\} \\d+$`, "m"));
    }
    expect(prom).toMatch(/^portico_rate_limit_e2e_m_keys_tracked\{\} 2$/m);
  });
});

describe("rate-limit bad configurations", () => {
  const rules = [{ name: "r", requests: 1, period_s: 1 }];
  const bad: { what: string; config: unknown; field: string }[] = [
    { what: "a misspelt field", config: { rules, trusted_hop: 1 }, field: "trusted_hop: unknown field" },
    { what: "zero requests", config: { rules: [{ ...rules[0], requests: 0 }] }, field: "rules[0].requests" },
    { what: "an unknown key source", config: { rules: [{ ...rules[0], key: [{ cookie: "sid" }] }] }, field: "rules[0].key[0]" },
  ];
  for (const b of bad) {
    it(`refuses ${b.what} at start, naming the field in Envoy's log`, async () => {
      const failure = await startEnvoyExpectFailure(
        bootstrap({
          listeners: [
            httpListener({ name: "bad", httpFilters: [rateLimit(b.config as object, "rl_bad")], directResponse: { status: 200 } }),
          ],
        }),
        { name: "rate-limit-bad" },
      );
      expect(failure.code).not.toBe(0);
      const errorLines = failure.logs.split("\n").filter((l) => /\[error\]/.test(l));
      const named = errorLines.filter((l) => l.includes("rate-limit: invalid configuration") && l.includes(b.field));
      expect(named.length, `an [error] line naming ${b.field}; error lines:\n${errorLines.join("\n")}`).toBeGreaterThan(0);
    });
  }
});

describe("rate-limit example config (envoy-configs/rate-limit.yaml)", () => {
  it("lets five requests through per client, then answers 429 with the documented headers", async () => {
    const ex = await envoy({ name: "rate-limit-example", config: loadExampleConfig("rate-limit.yaml", { upstreamPort: up.port }) });
    const t0 = performance.now();
    const replies: HttpResponse[] = [];
    for (let i = 0; i < 7; i++) replies.push(await request(ex.url("/")));
    const elapsedS = (performance.now() - t0) / 1000;
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(replies.slice(0, 5).map((r) => [r.header("ratelimit-limit"), r.header("ratelimit-remaining")])).toEqual(
      [4, 3, 2, 1, 0].map((n) => ["5", String(n)]),
    );
    const refused = replies[5]!;
    expect(refused.json()).toEqual({ error: "rate_limited", rule: "per_client" });
    // 5 per 10 s: a token every 2 s; five spent at once are back 10 s after the first request.
    expectCeilSeconds(refused.header("retry-after"), 2, elapsedS, "retry-after");
    expectCeilSeconds(refused.header("ratelimit-reset"), 10, elapsedS, "ratelimit-reset");
    expect(refused.header("ratelimit-remaining")).toBe("0");
    // The config sets use_remote_address: true, so a spoofed X-Forwarded-For changes nothing.
    const spoofed = await request(ex.url("/"), { headers: { "x-forwarded-for": "203.0.113.9" } });
    expect(spoofed.status).toBe(429);
  });
});
