// Routing end to end (#12 item 1): what docs/gateway-config.md promises about `routes`, checked
// with real traffic instead of golden files and `envoy --mode validate`. One control plane, one
// real Envoy, echo upstreams; every request carries a unique x-test-id, so the upstream it landed
// on (and the path that upstream saw) is read from the echo records. For each feature a request
// that should match lands on the route's upstream, and one that should not falls through to the
// catch-all route's upstream ("miss").
// Match kinds suffix / glob / contains / present:false belong to route-match.test.ts.
import { createServer, type Server } from "node:http";
import { connect as http2Connect } from "node:http2";
import { connect as netConnect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, request, useEchoUpstream, useEnvoy, type EchoUpstream, type HttpResponse } from "../../../test/support/index.js";
import { joinEnvoy, startTestGateway, waitSynced, type TestGateway } from "../support/gateway.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");

const ECHOES = ["hit", "exact", "miss", "flaky", "w70", "w30"] as const;
type EchoName = (typeof ECHOES)[number];

let gw: TestGateway;
let port: number;
/** Listener "side": serves the routes bound to it and those bound to no listener. */
let sidePort: number;
/** Listener "h1only" (protocols: [http1]) and "both" (protocols: [http1, http2]). */
let h1Port: number;
let bothPort: number;
const up = {} as Record<EchoName, EchoUpstream>;
/** Answers 200 after `?delay=<ms>`; for the route timeout. */
let slow: Server;
let slowPort: number;

function config(): string {
  const ep = (n: EchoName) => `["127.0.0.1:${up[n].port}"]`;
  return `
listeners:
  - name: public
    address: 127.0.0.1
    port: ${port}
  - { name: side, address: 127.0.0.1, port: ${sidePort} }
  - { name: h1only, address: 127.0.0.1, port: ${h1Port}, protocols: [http1] }
  - { name: both, address: 127.0.0.1, port: ${bothPort}, protocols: [http1, http2] }
routes:
  - name: only-side
    listeners: [side]
    match: { path: { prefix: /listener/side } }
    upstream: hit
  - name: only-public
    listeners: [public]
    match: { path: { prefix: /listener/public } }
    upstream: exact
  - name: host-exact
    hosts: [api.example.com]
    match: { path: { prefix: /host/ } }
    upstream: hit
  - name: host-wildcard
    hosts: ["*.wild.example.com"]
    match: { path: { prefix: /host/ } }
    upstream: hit
  - name: path-exact
    match: { path: { exact: /paths/x } }
    upstream: exact
  - name: path-prefix
    match: { path: { prefix: /paths } }
    upstream: hit
  - name: path-regex
    match: { path: { regex: "^/re/[a-z]+/[0-9]+$" } }
    upstream: hit
  - name: methods
    match: { path: { prefix: /method/ }, methods: [GET, post] }
    upstream: hit
  - name: header-exact
    match: { path: { prefix: /hdr/exact }, headers: [{ name: X-Env, exact: prod }] }
    upstream: hit
  - name: header-prefix
    match: { path: { prefix: /hdr/prefix }, headers: [{ name: x-ver, prefix: v2 }] }
    upstream: hit
  - name: header-regex
    match: { path: { prefix: /hdr/regex }, headers: [{ name: x-id, regex: "[0-9]{3}" }] }
    upstream: hit
  - name: header-present
    match: { path: { prefix: /hdr/present }, headers: [{ name: x-debug, present: true }] }
    upstream: hit
  - name: header-absent
    match: { path: { prefix: /hdr/absent }, headers: [{ name: x-debug, present: true, invert: true }] }
    upstream: hit
  - name: header-not-prod
    match: { path: { prefix: /hdr/not-prod }, headers: [{ name: x-env, exact: prod, invert: true }] }
    upstream: hit
  - name: query-exact
    match: { path: { prefix: /q/exact }, query: [{ name: debug, exact: "1" }] }
    upstream: hit
  - name: query-prefix
    match: { path: { prefix: /q/prefix }, query: [{ name: v, prefix: "2." }] }
    upstream: hit
  - name: query-regex
    match: { path: { prefix: /q/regex }, query: [{ name: id, regex: "[0-9]{3}" }] }
    upstream: hit
  - name: query-present
    match: { path: { prefix: /q/present }, query: [{ name: debug, present: true }] }
    upstream: hit
  - name: query-absent
    match: { path: { prefix: /q/absent }, query: [{ name: debug, present: true, invert: true }] }
    upstream: hit
  - name: rewrite-prefix
    match: { path: { prefix: /rw/ } }
    rewrite: { prefix: /v1/ }
    upstream: hit
  - name: rewrite-exact
    match: { path: { exact: /old } }
    rewrite: { prefix: /new }
    upstream: hit
  - name: rewrite-regex
    match: { path: { prefix: /rx/ } }
    rewrite: { regex: { pattern: "^/rx/([a-z]+)/([0-9]+)$", substitution: "/items/\\\\2/\\\\1" } }
    upstream: hit
  - name: retry-5xx
    match: { path: { prefix: /retry/5xx } }
    retries: { attempts: 2, on: [5xx] }
    upstream: flaky
  - name: retry-codes
    match: { path: { prefix: /retry/codes } }
    retries: { attempts: 2, on: [connect-failure], status_codes: [409] }
    upstream: flaky
  - name: retry-defaults
    match: { path: { prefix: /retry/defaults } }
    retries: {}
    upstream: flaky
  - name: no-retry
    match: { path: { prefix: /retry/none } }
    upstream: flaky
  - name: split
    match: { path: { prefix: /split } }
    upstreams: [{ name: w70, weight: 70 }, { name: w30, weight: 30 }]
  - name: slow-timeout
    match: { path: { prefix: /slow/short } }
    timeout: 500ms
    upstream: slow
  - name: slow-in-time
    match: { path: { prefix: /slow/long } }
    timeout: 5s
    upstream: slow
  # Bound to public only: on listener side a request no route matches gets the no-route 404.
  - name: fallback
    listeners: [public]
    upstream: miss
upstreams:
${ECHOES.map((n) => `  - name: ${n}\n    endpoints: ${ep(n)}\n`).join("")}  - name: slow
    endpoints: ["127.0.0.1:${slowPort}"]
`;
}

interface Sent {
  res: HttpResponse;
  /** Names of the upstreams that received this request, once per try. */
  hits: EchoName[];
  /** The path (query included) the upstream saw on its first try. */
  seenPath: string | undefined;
  ms: number;
}

let seq = 0;
/** One request through the gateway; `host` is the Host header (port appended unless `bareHost`). */
async function send(
  path: string,
  o: { method?: string; host?: string; bareHost?: boolean; headers?: Record<string, string>; port?: number } = {},
): Promise<Sent> {
  const id = `t${++seq}`;
  const p = o.port ?? port;
  const host = o.host === undefined ? `127.0.0.1:${p}` : o.bareHost ? o.host : `${o.host}:${p}`;
  const t0 = Date.now();
  const res = await request(`http://127.0.0.1:${p}${path}`, { method: o.method, headers: { ...o.headers, host, "x-test-id": id } });
  const ms = Date.now() - t0;
  const hits: EchoName[] = [];
  let seenPath: string | undefined;
  for (const n of ECHOES) {
    for (const r of up[n].requests) {
      if (r.headers.some(([k, v]) => k.toLowerCase() === "x-test-id" && v === id)) {
        hits.push(n);
        seenPath ??= r.path;
      }
    }
  }
  return { res, hits, seenPath, ms };
}

/** The upstream a request landed on (exactly one try expected). */
async function landsOn(path: string, o: Parameters<typeof send>[1] = {}): Promise<EchoName | string> {
  const s = await send(path, o);
  if (s.res.status !== 200) return `status ${s.res.status}`;
  return s.hits.length === 1 ? s.hits[0]! : `hits ${JSON.stringify(s.hits)}`;
}

/** Each [path, options, expected upstream], sent in parallel; compared as one table for readable failures. */
async function expectLanding(cases: [string, Parameters<typeof send>[1], EchoName][]): Promise<void> {
  const got = await Promise.all(cases.map(([p, o]) => landsOn(p, o)));
  const show = (ups: (string | undefined)[]) =>
    cases.map(([p, o], i) => `${o?.method ?? "GET"} ${p} ${JSON.stringify({ ...o, method: undefined })} -> ${ups[i]}`);
  expect(show(got)).toEqual(show(cases.map((c) => c[2])));
}

beforeAll(async () => {
  const echoes = await Promise.all(ECHOES.map(() => echo()));
  ECHOES.forEach((n, i) => {
    up[n] = echoes[i]!;
  });
  slow = createServer((req, res) => {
    const delay = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
    const t = setTimeout(() => res.end("slow ok"), delay);
    res.on("close", () => clearTimeout(t));
  });
  await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
  slowPort = (slow.address() as AddressInfo).port;
  port = await freePort();
  sidePort = await freePort();
  h1Port = await freePort();
  bothPort = await freePort();
  gw = await startTestGateway({ yaml: config() });
  await joinEnvoy(gw.cp, "routing", {}, envoys);
  await waitSynced(gw.cp, "routing");
  expect(gw.cp.source.last?.ok, gw.cp.source.last?.error).toBe(true);
}, 90_000);

afterAll(async () => {
  await gw?.stop();
  slow?.closeAllConnections();
  await new Promise((r) => slow?.close(r));
});

describe("route matching", () => {
  // Hosts are sent without a port here (as through a listener on :80); with a port, see below.
  it("a route for an exact host answers that host, in any case, and no other", async () => {
    await expectLanding([
      ["/host/a", { host: "api.example.com", bareHost: true }, "hit"],
      ["/host/a", { host: "API.Example.COM", bareHost: true }, "hit"],
      ["/host/a", { host: "www.example.com", bareHost: true }, "miss"],
      ["/host/a", { host: "x.api.example.com", bareHost: true }, "miss"],
      ["/host/a", {}, "miss"],
    ]);
  });

  it("a *.suffix host answers every name under the suffix but not the suffix itself", async () => {
    await expectLanding([
      ["/host/a", { host: "a.wild.example.com", bareHost: true }, "hit"],
      ["/host/a", { host: "a.b.wild.example.com", bareHost: true }, "hit"],
      ["/host/a", { host: "wild.example.com", bareHost: true }, "miss"],
      ["/host/a", { host: "a.wild.example.org", bareHost: true }, "miss"],
    ]);
  });

  // Clients of a listener on any port but 80/443 send "host:port" (curl, browsers); the route
  // configuration ignores the port in host matching, as docs/gateway-config.md promises.
  it("a host route also answers a Host header that carries the listener's port", async () => {
    await expectLanding([
      ["/host/a", { host: "api.example.com" }, "hit"],
      ["/host/a", { host: "a.wild.example.com" }, "hit"],
    ]);
  });

  it("an exact path matches the whole path (query string aside) and wins over a later prefix", async () => {
    await expectLanding([
      ["/paths/x", {}, "exact"],
      ["/paths/x?a=1", {}, "exact"],
      ["/paths/x/", {}, "hit"],
      ["/paths/xy", {}, "hit"],
    ]);
  });

  it("a prefix matches paths starting with it, with or without a slash after it", async () => {
    await expectLanding([
      ["/paths", {}, "hit"],
      ["/paths/y/z", {}, "hit"],
      ["/pathsx", {}, "hit"],
      ["/path", {}, "miss"],
      ["/x/paths", {}, "miss"],
    ]);
  });

  it("a regex path must match the whole path", async () => {
    await expectLanding([
      ["/re/abc/123", {}, "hit"],
      ["/re/abc/123?x=1", {}, "hit"],
      ["/re/abc/123/x", {}, "miss"],
      ["/re/ABC/123", {}, "miss"],
      ["/re/abc/", {}, "miss"],
    ]);
  });

  it("methods match in any case as written in the file, other methods fall through", async () => {
    await expectLanding([
      ["/method/a", { method: "GET" }, "hit"],
      ["/method/a", { method: "POST" }, "hit"],
      ["/method/a", { method: "DELETE" }, "miss"],
      ["/method/a", { method: "PUT" }, "miss"],
    ]);
  });

  it("header matchers: exact, prefix, whole-value regex, present, and their inversions", async () => {
    await expectLanding([
      ["/hdr/exact", { headers: { "x-env": "prod" } }, "hit"],
      ["/hdr/exact", { headers: { "X-ENV": "prod" } }, "hit"],
      ["/hdr/exact", { headers: { "x-env": "prod2" } }, "miss"],
      ["/hdr/exact", { headers: { "x-env": "Prod" } }, "miss"],
      ["/hdr/exact", {}, "miss"],
      ["/hdr/prefix", { headers: { "x-ver": "v2.1" } }, "hit"],
      ["/hdr/prefix", { headers: { "x-ver": "v1.9" } }, "miss"],
      ["/hdr/regex", { headers: { "x-id": "123" } }, "hit"],
      ["/hdr/regex", { headers: { "x-id": "1234" } }, "miss"],
      ["/hdr/regex", { headers: { "x-id": "a123" } }, "miss"],
      ["/hdr/present", { headers: { "x-debug": "1" } }, "hit"],
      ["/hdr/present", {}, "miss"],
      ["/hdr/absent", {}, "hit"],
      ["/hdr/absent", { headers: { "x-debug": "1" } }, "miss"],
      ["/hdr/not-prod", { headers: { "x-env": "staging" } }, "hit"],
      ["/hdr/not-prod", { headers: { "x-env": "prod" } }, "miss"],
    ]);
  });

  it("query matchers: exact, prefix, whole-value regex and present; names are case-sensitive", async () => {
    await expectLanding([
      ["/q/exact?debug=1", {}, "hit"],
      ["/q/exact?a=b&debug=1", {}, "hit"],
      ["/q/exact?debug=2", {}, "miss"],
      ["/q/exact?Debug=1", {}, "miss"],
      ["/q/exact", {}, "miss"],
      ["/q/prefix?v=2.5", {}, "hit"],
      ["/q/prefix?v=1.5", {}, "miss"],
      ["/q/regex?id=123", {}, "hit"],
      ["/q/regex?id=1234", {}, "miss"],
      ["/q/present?debug", {}, "hit"],
      ["/q/present?debug=x", {}, "hit"],
      ["/q/present?other=1", {}, "miss"],
    ]);
  });

  // Envoy's QueryParameterMatcher has no invert_match: an inverted presence test is translated to
  // the opposite presence test (an inverted value test is refused at load, see load-errors.test.ts).
  it("an inverted query matcher matches requests without the parameter", async () => {
    await expectLanding([
      ["/q/absent", {}, "hit"],
      ["/q/absent?debug=1", {}, "miss"],
    ]);
  });
});

describe("path rewrites", () => {
  it("a prefix rewrite replaces the matched prefix; the upstream sees the new path, query kept", async () => {
    const [a, b, c] = await Promise.all([send("/rw/users"), send("/rw/users/7?x=1"), send("/old")]);
    expect([a, b, c].map((s) => [s.hits, s.seenPath])).toEqual([
      [["hit"], "/v1/users"],
      [["hit"], "/v1/users/7?x=1"],
      [["hit"], "/new"], // an exact match's whole path is replaced
    ]);
  });

  it("a regex rewrite substitutes the pattern's groups; a path the pattern misses is forwarded unchanged", async () => {
    const [a, q, b] = await Promise.all([send("/rx/abc/42"), send("/rx/abc/42?z=1"), send("/rx/abc/def")]);
    expect([a, q, b].map((s) => [s.hits, s.seenPath])).toEqual([
      [["hit"], "/items/42/abc"],
      [["hit"], "/items/42/abc?z=1"], // the pattern applies to the path, the query string is kept
      [["hit"], "/rx/abc/def"],
    ]);
  });

  it("a route without a rewrite forwards the path as sent", async () => {
    const s = await send("/elsewhere/a?b=c");
    expect([s.hits, s.seenPath]).toEqual([["miss"], "/elsewhere/a?b=c"]);
  });
});

describe("retries", () => {
  const failing = (code: number) => ({ headers: { "x-echo-status": String(code) } });

  it("attempts: 2 on 5xx tries a failing request 3 times, then returns the upstream's 503", async () => {
    const s = await send("/retry/5xx", failing(503));
    expect(s.res.status).toBe(503);
    expect(s.hits).toEqual(["flaky", "flaky", "flaky"]);
  });

  it("a response the retry conditions do not cover is tried once", async () => {
    const [notFound, ok] = await Promise.all([send("/retry/5xx", failing(404)), send("/retry/5xx")]);
    expect([notFound.res.status, notFound.hits.length]).toEqual([404, 1]);
    expect([ok.res.status, ok.hits.length]).toEqual([200, 1]);
  });

  it("status_codes retries exactly the listed statuses, even when on does not name retriable-status-codes", async () => {
    const [listed, unlisted] = await Promise.all([send("/retry/codes", failing(409)), send("/retry/codes", failing(503))]);
    expect([listed.res.status, listed.hits.length]).toEqual([409, 3]);
    expect([unlisted.res.status, unlisted.hits.length]).toEqual([503, 1]);
  });

  it("retries: {} means the documented defaults, one retry on 5xx", async () => {
    const [failed, notFound] = await Promise.all([send("/retry/defaults", failing(503)), send("/retry/defaults", failing(404))]);
    expect([failed.res.status, failed.hits.length]).toEqual([503, 2]);
    expect([notFound.res.status, notFound.hits.length]).toEqual([404, 1]);
  });

  it("a route without retries tries a failing request once", async () => {
    const s = await send("/retry/none", failing(503));
    expect([s.res.status, s.hits.length]).toEqual([503, 1]);
  });
});

describe("weighted split", () => {
  it("70/30 weights share 400 requests within 4.5 sigma of 30%", async () => {
    const N = 400;
    const before = { w70: up.w70.requests.length, w30: up.w30.requests.length };
    const statuses: number[] = [];
    // 8 batches of 50 concurrent requests: quick, without opening 400 sockets at once.
    for (let b = 0; b < N / 50; b++) {
      statuses.push(
        ...(await Promise.all(Array.from({ length: 50 }, () => request(`http://127.0.0.1:${port}/split`)))).map((r) => r.status),
      );
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const w70 = up.w70.requests.length - before.w70;
    const w30 = up.w30.requests.length - before.w30;
    expect(w70 + w30, "every request went to one of the two").toBe(N);
    // Each request lands on w30 independently with p = 30 / (70 + 30) = 0.3, so the w30 count is
    // Binomial(400, 0.3): mean 120, sigma = sqrt(400 * 0.3 * 0.7) = 9.17. A 4.5 sigma band
    // ([79, 161]) fails a correct gateway with probability ~7e-6 (two-sided normal tail), while a
    // 50/50 split (mean 200) or an ignored weight (0 or 400) falls far outside it.
    const p = 30 / 100;
    const mean = N * p;
    const sigma = Math.sqrt(N * p * (1 - p));
    expect(Math.abs(w30 - mean), `w30 got ${w30} of ${N}; mean ${mean}, sigma ${sigma.toFixed(2)}`).toBeLessThanOrEqual(4.5 * sigma);
  });
});

describe("route timeout", () => {
  it("a slow upstream answers 504 once the route's timeout (500ms) has passed", async () => {
    const [late, inTime] = await Promise.all([
      send("/slow/short?delay=3000"),
      send("/slow/long?delay=1000"), // same upstream, a route with 5s: waits for the answer
    ]);
    expect(late.res.status).toBe(504);
    expect(late.ms).toBeGreaterThanOrEqual(450);
    expect(late.ms).toBeLessThan(2_000);
    expect(inTime.res.status).toBe(200);
    expect(inTime.res.body).toBe("slow ok");
    expect(inTime.ms).toBeGreaterThanOrEqual(950);
  });
});

describe("routes[].listeners", () => {
  it("a route bound to one listener answers there only; on the other the request is routed as if it did not exist", async () => {
    const [sideOnSide, sideOnPublic, publicOnPublic, publicOnSide] = await Promise.all([
      send("/listener/side", { port: sidePort }),
      send("/listener/side"),
      send("/listener/public"),
      send("/listener/public", { port: sidePort }),
    ]);
    expect([sideOnSide.res.status, sideOnSide.hits]).toEqual([200, ["hit"]]);
    // On public the catch-all route (bound to public) takes it.
    expect([sideOnPublic.res.status, sideOnPublic.hits]).toEqual([200, ["miss"]]);
    expect([publicOnPublic.res.status, publicOnPublic.hits]).toEqual([200, ["exact"]]);
    // side has no catch-all: the gateway's no-route 404, empty, reaching no upstream.
    expect([publicOnSide.res.status, publicOnSide.res.body, publicOnSide.hits]).toEqual([404, "", []]);
  });
});

/** One GET over HTTP/2 with prior knowledge (h2c, no upgrade): the status, or the client's error. */
function h2cGet(p: number, path: string): Promise<string> {
  return new Promise((resolve) => {
    const session = http2Connect(`http://127.0.0.1:${p}`);
    const timer = setTimeout(() => {
      session.destroy();
      resolve("timed out");
    }, 5_000);
    const done = (outcome: string) => {
      clearTimeout(timer);
      session.destroy();
      resolve(outcome);
    };
    session.on("error", (e: NodeJS.ErrnoException) => done(`error ${e.code ?? e.message}`));
    const req = session.request({ ":path": path });
    req.on("response", (h) => done(`status ${h[":status"]}`));
    req.on("error", (e: NodeJS.ErrnoException) => done(`error ${e.code ?? e.message}`));
    req.end();
  });
}

/** Writes the HTTP/2 connection preface on a plain TCP connection: what came back before the close. */
function afterH2Preface(p: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = netConnect(p, "127.0.0.1");
    let got = "";
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`${got}[still open after 5s]`);
    }, 5_000);
    socket.on("connect", () => socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    socket.on("data", (d) => (got += d.toString("latin1")));
    socket.on("error", (e: NodeJS.ErrnoException) => (got += `[error ${e.code}]`));
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(`${got}[closed]`);
    });
  });
}

describe("listeners[].protocols", () => {
  it("protocols: [http1] serves HTTP/1.1 and refuses HTTP/2 with prior knowledge: an HTTP/1.1 400 and the connection closed", async () => {
    const [h1, h2c] = await Promise.all([send("/paths/a", { port: h1Port }), h2cGet(h1Port, "/paths/a")]);
    expect([h1.res.status, h1.hits]).toEqual([200, ["hit"]]);
    expect(h2c).toBe("error ERR_HTTP2_ERROR");
    // What Envoy's HTTP/1 codec does with the preface ("PRI * HTTP/2.0"): a 400 and the close.
    const raw = await afterH2Preface(h1Port);
    expect(raw.startsWith("HTTP/1.1 400 Bad Request\r\n"), raw).toBe(true);
    expect(raw.toLowerCase()).toContain("\r\nconnection: close\r\n");
    expect(raw.endsWith("\r\n\r\nBad Request[closed]"), raw).toBe(true);
  });

  it("protocols: [http1, http2] (and the default) serve HTTP/1.1 and HTTP/2 with prior knowledge", async () => {
    const [h1, h2c, h2cDefault] = await Promise.all([
      send("/paths/a", { port: bothPort }),
      h2cGet(bothPort, "/paths/a"),
      h2cGet(port, "/paths/a"),
    ]);
    expect([h1.res.status, h1.hits]).toEqual([200, ["hit"]]);
    expect(h2c).toBe("status 200");
    expect(h2cDefault).toBe("status 200");
  });
});
