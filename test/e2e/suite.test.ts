// The suite module in a real Envoy 1.40, as a differential test against the same filters as a
// chain of separate Wasm filters: one Envoy, listeners in pairs (the chain / the suite with the
// same three configurations), the same requests to both give the same status, body, response
// headers and headers seen by the upstream (an echo server): a valid token, no token (401), over
// the rate limit (429), a request waiting for a remote JWKS fetch, and a global rate-limit rule
// decided by envoyproxy/ratelimit (each request waits for its gRPC answer). Envoy is the oracle
// of what a chain does with a local reply: with jwt-auth -> rate-limit -> header-rewrite,
// header-rewrite (after the replying filter) does not touch the 401/429; with header-rewrite
// first, it does, and the suite must do the same. Also: the module serving one member alone, the
// shipped example, and a bad member configuration refused at load with the member's field named.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
  parseEcho,
  pollUntil,
  rateLimitServiceCluster,
  request,
  startEnvoyExpectFailure,
  startJwksServer,
  staticCluster,
  useEchoUpstream,
  useEnvoy,
  useRateLimitStack,
  waitForFreshWindow,
  wasmHttpFilter,
  type Envoy,
  type HttpResponse,
  type Json,
  type JwksServer,
  type TestKey,
} from "../support/index.js";
import { startEchoServer } from "../support/echo-server.mjs";

const ISSUER = "https://idp.suite.test";
const HOST = "api.suite.test";
/** Once keys rotate, the JWKS server holds its answer this long: a request with the new key waits for it. */
const JWKS_DELAY_MS = 600;

const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");
let e: Envoy;
let jwks: JwksServer;
let key: TestKey;
/** A key the JWKS publishes only later: a token signed with it makes jwt-auth fetch the keys again and wait. */
let rotated: TestKey;

const jwtConfig: Json = {
  stat_prefix: "suite_e2e",
  providers: [
    {
      name: "idp",
      issuer: ISSUER,
      remote_jwks: { cluster: "jwks", path: "/.well-known/jwks.json", timeout: "5s", min_refresh: "1s" },
      claims_to_headers: [{ claim: "sub", header: "x-user" }],
    },
  ],
  rules: [{ requires: ["idp"] }],
};
/** Two requests an hour per user (the x-user jwt-auth sets), with RateLimit-* headers. */
const rateConfig: Json = {
  stat_prefix: "suite_e2e",
  rate_limit_headers: true,
  rules: [{ name: "per_user", requests: 2, period: "1h", key: [{ header: "x-user" }] }],
};
const rewriteConfig: Json = {
  stat_prefix: "suite_e2e",
  rules: [
    {
      name: "every",
      request: { set: { "x-gateway": "portico", "x-seen-user": "${request.header.x-user}" }, remove: ["x-internal"] },
      response: { set: { "x-served-by": "portico" }, remove: ["x-envoy-upstream-service-time"] },
    },
  ],
};

type Member = [filter: string, config: Json];
const JWT_FIRST: Member[] = [
  ["jwt-auth", jwtConfig],
  ["rate-limit", rateConfig],
  ["header-rewrite", rewriteConfig],
];
const REWRITE_FIRST: Member[] = [
  ["header-rewrite", rewriteConfig],
  ["jwt-auth", jwtConfig],
  ["rate-limit", rateConfig],
];

/** Each filter its own module and VM (vm_id per listener and filter: nothing shared between gateways). */
function chainFilters(listener: string, members: Member[]): Json[] {
  return members.map(([filter, configuration]) =>
    wasmHttpFilter({
      file: filterWasm(filter),
      name: `${listener}.${filter}`,
      vmId: `${listener}.${filter}`,
      rootId: filter,
      configuration,
    }),
  );
}

function suiteFilter(listener: string, members: Member[]): Json[] {
  const configuration = { plugins: members.map(([filter, config]) => ({ filter, config })) };
  return [
    wasmHttpFilter({ file: filterWasm("suite"), name: `${listener}.suite`, vmId: `${listener}.suite`, rootId: "suite", configuration }),
  ];
}

beforeAll(async () => {
  key = await generateKey("RS256", "suite-e2e");
  rotated = await generateKey("RS256", "suite-e2e-rotated");
  jwks = await startJwksServer({ jwks: jwksOf([key]) });
  const up = await upstream();
  e = await envoy({
    name: "suite",
    config: bootstrap({
      listeners: [
        httpListener({ name: "chain", httpFilters: chainFilters("chain", JWT_FIRST) }),
        httpListener({ name: "suite", httpFilters: suiteFilter("suite", JWT_FIRST) }),
        httpListener({ name: "rw_chain", httpFilters: chainFilters("rw_chain", REWRITE_FIRST) }),
        httpListener({ name: "rw_suite", httpFilters: suiteFilter("rw_suite", REWRITE_FIRST) }),
        // The suite module serving one member on its own (root_id header-rewrite).
        httpListener({
          name: "alone",
          httpFilters: [
            wasmHttpFilter({
              file: filterWasm("suite"),
              name: "alone",
              vmId: "alone",
              rootId: "header-rewrite",
              configuration: rewriteConfig,
            }),
          ],
        }),
      ],
      clusters: [staticCluster("upstream", up.port), staticCluster("jwks", jwks.port)],
    }),
  });
}, 180_000);

afterAll(async () => {
  await jwks?.close();
});

const token = (sub: string, signer = key) => mint(signer, { iss: ISSUER, sub, iat: nowSeconds(), exp: nowSeconds() + 3600 });

interface Seen {
  status: number;
  body: string;
  /** Response headers, sorted, without those that differ per request (date, the echo's length). */
  headers: [string, string][];
  /** Headers the upstream saw, sorted, without x-request-id; null when a filter answered. */
  upstream: [string, string][] | null;
  ms: number;
}

const VARYING_RESPONSE = new Set(["date", "content-length", "x-envoy-upstream-service-time"]);
const byName = (a: [string, string], b: [string, string]) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1);
const lower = (h: [string, string][]) => h.map(([k, v]): [string, string] => [k.toLowerCase(), v]);

const send = (listener: string, headers: [string, string][]): Promise<Seen> => sendTo(e, listener, headers);

async function sendTo(gateway: Envoy, listener: string, headers: [string, string][]): Promise<Seen> {
  const started = Date.now();
  const res: HttpResponse = await request(gateway.url("/api/items", listener), {
    headers: [["host", HOST], ["x-internal", "secret"], ...headers],
    timeoutMs: 15_000,
  });
  const ms = Date.now() - started;
  const reached = res.status === 200;
  return {
    status: res.status,
    body: reached ? "(echo)" : res.body,
    headers: lower(res.headers)
      .filter(([k]) => !VARYING_RESPONSE.has(k))
      .sort(byName),
    upstream: reached
      ? lower(parseEcho(res.body).headers)
          .filter(([k]) => k !== "x-request-id")
          .sort(byName)
      : null,
    ms,
  };
}

/**
 * Headers counted in seconds from the moment of the decision (a bucket's or the service's window):
 * two requests a few milliseconds apart may round to seconds one apart. Compared within a second.
 */
const SECONDS_FROM_NOW = ["retry-after", "ratelimit-reset"];

/** Expects the suite's outcome `b` to be the chain's `a` (times aside; seconds-from-now headers within 1 s). */
function expectSame(a: Seen, b: Seen, what: string): void {
  const seconds = (s: Seen, name: string) => Number(s.headers.find(([k]) => k === name)?.[1] ?? Number.NaN);
  const rest = ({ ms: _ms, headers, ...o }: Seen) => ({ ...o, headers: headers.filter(([k]) => !SECONDS_FROM_NOW.includes(k)) });
  expect(rest(b), what).toEqual(rest(a));
  for (const name of SECONDS_FROM_NOW) {
    const [x, y] = [seconds(a, name), seconds(b, name)];
    if (Number.isNaN(x) || Number.isNaN(y)) expect(Number.isNaN(y), `${what}: ${name}`).toBe(Number.isNaN(x));
    else expect(Math.abs(x - y), `${what}: ${name} ${x} vs ${y}`).toBeLessThanOrEqual(1);
  }
}

/** The same request to a chain listener and its suite listener: the same outcome; returns it. */
async function same(pair: [string, string], headers: [string, string][]): Promise<Seen> {
  const a = await send(pair[0], headers);
  const b = await send(pair[1], headers);
  expectSame(a, b, `${pair[1]} vs ${pair[0]}`);
  return a;
}

const header = (s: Seen, name: string, upstreamSide = false) => (upstreamSide ? s.upstream : s.headers)?.find(([k]) => k === name)?.[1];
const bearer = async (sub: string): Promise<[string, string][]> => [["authorization", `Bearer ${await token(sub)}`]];
const JWT_PAIR: [string, string] = ["chain", "suite"];
const RW_PAIR: [string, string] = ["rw_chain", "rw_suite"];

describe("suite vs a chain of separate Wasm filters, in Envoy", () => {
  it("a valid token passes in both: x-user, RateLimit-*, header-rewrite's request and response headers", async () => {
    const s = await same(JWT_PAIR, await bearer("alice"));
    expect(s.status).toBe(200);
    expect(header(s, "x-user", true)).toBe("alice");
    expect(header(s, "x-seen-user", true)).toBe("alice");
    expect(header(s, "x-internal", true)).toBeUndefined();
    expect(header(s, "authorization", true)).toBeUndefined();
    expect(header(s, "x-served-by")).toBe("portico");
    expect(header(s, "ratelimit-remaining")).toBe("1");
  });

  it("a token signed with a new key waits for the JWKS fetch in both, then passes the later filters", async () => {
    jwks.setJwks(jwksOf([key, rotated]));
    jwks.setDelay(JWKS_DELAY_MS);
    const headers: [string, string][] = [["authorization", `Bearer ${await token("walt", rotated)}`]];
    // Until min_refresh (1s) has passed since a gateway's last fetch, the unknown key is refused at
    // once (401); the first request after it makes jwt-auth fetch the keys again and wait for them.
    const waited = async (listener: string) =>
      pollUntil(
        () => send(listener, headers),
        (s) => s.status !== 401,
        { what: `${listener}: a request with the new key passing` },
      );
    const chain = await waited("chain");
    const suite = await waited("suite");
    jwks.setDelay(0);
    for (const s of [chain, suite]) expect(s.ms).toBeGreaterThanOrEqual(JWKS_DELAY_MS - 50);
    expectSame(chain, suite, "suite vs chain");
    expect(chain.status).toBe(200);
    expect(header(chain, "x-seen-user", true)).toBe("walt");
    expect(header(chain, "ratelimit-remaining")).toBe("1");
  });

  it("no token: jwt-auth's 401 in both; header-rewrite after it does not touch the reply", async () => {
    const s = await same(JWT_PAIR, []);
    expect(s.status).toBe(401);
    expect(s.body).toContain("missing_token");
    expect(header(s, "www-authenticate")).toMatch(/^Bearer realm=/);
    expect(header(s, "x-served-by")).toBeUndefined();
  });

  it("over the limit: rate-limit's 429 in both, with its headers; header-rewrite after it does not touch it", async () => {
    const bob = await bearer("bob");
    expect((await same(JWT_PAIR, bob)).status).toBe(200);
    expect((await same(JWT_PAIR, bob)).status).toBe(200);
    const s = await same(JWT_PAIR, bob);
    expect(s.status).toBe(429);
    expect(header(s, "ratelimit-limit")).toBe("2");
    expect(header(s, "retry-after")).toBeDefined();
    expect(header(s, "x-served-by")).toBeUndefined();
  });

  it("header-rewrite first: its response rules apply to the 401 and the 429 of the filters after it, in both", async () => {
    const denied = await same(RW_PAIR, []);
    expect(denied.status).toBe(401);
    expect(header(denied, "x-served-by")).toBe("portico");
    const carol = await bearer("carol");
    const first = await same(RW_PAIR, carol);
    expect(first.status).toBe(200);
    // header-rewrite ran before jwt-auth set x-user: the template saw no x-user.
    expect(header(first, "x-seen-user", true)).toBeUndefined();
    expect(header(first, "x-user", true)).toBe("carol");
    await same(RW_PAIR, carol);
    const limited = await same(RW_PAIR, carol);
    expect(limited.status).toBe(429);
    expect(header(limited, "x-served-by")).toBe("portico");
  });
});

describe("the suite module serving one member on its own, in Envoy", () => {
  it("root_id header-rewrite runs header-rewrite alone", async () => {
    const s = await send("alone", [["x-user", "ivy"]]);
    expect(s.status).toBe(200);
    expect(header(s, "x-gateway", true)).toBe("portico");
    expect(header(s, "x-seen-user", true)).toBe("ivy");
    expect(header(s, "x-internal", true)).toBeUndefined();
    expect(header(s, "x-served-by")).toBe("portico");
  });
});

describe("suite vs a chain with a global rate-limit rule (envoyproxy/ratelimit and Redis), in Envoy", () => {
  const LIMIT = 3;
  /** Each gateway its own domain (the only difference of the configs), so each has its own counters. */
  const DOMAINS = ["suite_chain", "suite_suite"];
  const stack = useRateLimitStack({
    domains: DOMAINS.map((domain) => ({
      domain,
      descriptors: [
        { key: "rule", value: "per_user", descriptors: [{ key: "x-user", rate_limit: { unit: "hour", requests_per_unit: LIMIT } }] },
      ],
    })),
  });
  const globalEnvoy = useEnvoy("all");
  let g: Envoy;
  const globalRate = (domain: string): Json => ({
    stat_prefix: "suite_global",
    global: { cluster: "ratelimit", domain, timeout: "2s" },
    rules: [{ name: "per_user", scope: "global", requests: LIMIT, period: "1h", key: [{ header: "x-user" }] }],
  });
  const members = (domain: string): Member[] => [
    ["jwt-auth", jwtConfig],
    ["rate-limit", globalRate(domain)],
    ["header-rewrite", rewriteConfig],
  ];

  beforeAll(async () => {
    const up = await upstream();
    g = await globalEnvoy({
      name: "suite-global",
      config: bootstrap({
        listeners: [
          httpListener({ name: "g_chain", httpFilters: chainFilters("g_chain", members(DOMAINS[0]!)) }),
          httpListener({ name: "g_suite", httpFilters: suiteFilter("g_suite", members(DOMAINS[1]!)) }),
        ],
        clusters: [
          staticCluster("upstream", up.port),
          staticCluster("jwks", jwks.port),
          rateLimitServiceCluster("ratelimit", stack.service.grpcPort),
        ],
      }),
    });
  }, 180_000);

  it("the service decides for both: the limit passes, then its 429; no token is the same 401 in both", async () => {
    await waitForFreshWindow("hour");
    const user = await bearer(`g-${randomUUID()}`);
    const outcomes: Seen[] = [];
    for (let i = 0; i < LIMIT + 1; i++) {
      const a = await sendTo(g, "g_chain", user);
      const b = await sendTo(g, "g_suite", user);
      expectSame(a, b, `request ${i + 1}`);
      outcomes.push(a);
    }
    expect(outcomes.map((o) => o.status)).toEqual([...Array(LIMIT).fill(200), 429]);
    expect(header(outcomes[0]!, "x-seen-user", true)).toMatch(/^g-/);
    expect(header(outcomes[LIMIT]!, "x-served-by")).toBeUndefined();
    const none = await sendTo(g, "g_chain", []);
    const noneSuite = await sendTo(g, "g_suite", []);
    expect([none.status, noneSuite.status]).toEqual([401, 401]);
    expect(noneSuite.body).toBe(none.body);
    // Every decision was the service's: no call failed (a failure would have let a request through).
    expect(await g.stat("wasmcustom.portico.rate_limit.suite_global.global.errors_total")).toBe(0);
    expect(await g.stat("wasmcustom.portico.rate_limit.suite_global.global.calls_total")).toBe(2 * (LIMIT + 1));
  });

  it("a token with a new key waits twice in both, for the JWKS fetch and then for the service, and passes", async () => {
    await waitForFreshWindow("hour");
    const third = await generateKey("RS256", "suite-e2e-third");
    jwks.setJwks(jwksOf([key, rotated, third]));
    jwks.setDelay(JWKS_DELAY_MS);
    const headers: [string, string][] = [["authorization", `Bearer ${await token(`g2-${randomUUID()}`, third)}`]];
    // As in the JWKS test above: refused at once (401) until min_refresh has passed, then the wait.
    const passing = (listener: string) =>
      pollUntil(
        () => sendTo(g, listener, headers),
        (s) => s.status !== 401,
        { what: `${listener}: a request with the third key passing` },
      );
    const chain = await passing("g_chain");
    const suite = await passing("g_suite");
    jwks.setDelay(0);
    for (const s of [chain, suite]) expect(s.ms).toBeGreaterThanOrEqual(JWKS_DELAY_MS - 50);
    expectSame(chain, suite, "suite vs chain");
    expect(chain.status).toBe(200);
    expect(header(chain, "x-seen-user", true)).toMatch(/^g2-/); // through rate-limit to header-rewrite
  });
});

describe("envoy-configs/suite.yaml, the shipped example", () => {
  const exampleEnvoy = useEnvoy("each");
  let demo: { port: number; close(): Promise<void> } | undefined;
  afterAll(async () => {
    await demo?.close();
  });

  it("passes a demo token with the chain's headers, refuses no token (401) and the sixth request a minute (429)", async () => {
    // The echo upstream that also serves the demo JWKS and tokens, as bin/demo-upstream.mjs does.
    demo = await startEchoServer({ demoJwt: true });
    const ex = await exampleEnvoy({ name: "suite-example", config: loadExampleConfig("suite.yaml", { upstreamPort: demo.port }) });
    const token = (await request(`http://127.0.0.1:${demo.port}/demo-token`)).body.trim();
    const call = (headers: [string, string][]) => request(ex.url("/api/profile"), { headers, timeoutMs: 15_000 });
    const ok = await call([["authorization", `Bearer ${token}`]]);
    expect(ok.status, ok.body).toBe(200);
    const seen = parseEcho(ok.body);
    expect(echoedHeader(seen, "x-jwt-sub")).toEqual(["demo-user"]);
    expect(echoedHeader(seen, "x-gateway")).toEqual(["portico"]);
    expect(echoedHeader(seen, "authorization")).toEqual([]);
    expect(ok.header("x-served-by")).toBe("portico");
    expect(ok.header("ratelimit-limit")).toBe("5");
    const none = await call([]);
    expect(none.status).toBe(401);
    expect(none.header("x-served-by")).toBeUndefined();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call([["authorization", `Bearer ${token}`]])).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });
});

describe("suite configuration in Envoy", () => {
  it("a member's bad configuration is refused at load, the member's field named under its place", async () => {
    const failure = await startEnvoyExpectFailure(
      bootstrap({
        listeners: [
          httpListener({
            name: "bad",
            httpFilters: suiteFilter("bad", [
              ["header-rewrite", rewriteConfig],
              ["rate-limit", { rules: [{ name: "r", requests: 0, period: "1s" }] }],
            ]),
          }),
        ],
        clusters: [staticCluster("upstream", 9)],
      }),
      { name: "suite-bad" },
    );
    expect(failure.logs).toContain("plugins[1].config.rules[0].requests: must be");
  });
});
