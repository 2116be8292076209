// Upstreams end to end (#12 item 1): one control plane, one real Envoy, small Node backends
// whose behaviour the tests steer (health status, 5xx, slowness, TLS). What docs/gateway-config.md
// promises about `upstreams` is checked on real traffic: load balancing, active health checks,
// outlier detection, circuit breakers, DNS endpoints and upstream TLS, health-check host and
// expected_statuses, the reset retry condition, protocol: http2 and connect_timeout.
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttp2Server, type Http2Session } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, pollUntil, request, useEnvoy, type Envoy, type HttpResponse } from "../../../test/support/index.js";
import { joinEnvoy, startTestGateway, waitSynced, type TestGateway } from "../support/gateway.js";
import { generateCa, generateSignedCertificate } from "../support/tls.js";

const envoys = useEnvoy("all");

/** A backend answering `{ id }` (and `x-backend: id`); /health answers `health`. */
interface Backend {
  id: string;
  port: number;
  /** Requests other than health probes. */
  hits: number;
  probes: number;
  /** Host header of the last health probe. */
  probeHost: string;
  health: number;
  /** Destroy the connection of the next this-many requests before answering. */
  resetNext: number;
  /** Answer 500 to every request but the probes. */
  failing: boolean;
  delayMs: number;
  /** Delays of the next requests, one each, before `delayMs` applies again. */
  nextDelays: number[];
  /** While true, answers wait in `held` until `release()`. */
  holding: boolean;
  held: (() => void)[];
  release(): void;
  /** SNI of the last TLS request ("" over plain HTTP or without SNI). */
  servername: string;
  close(): Promise<void>;
}

async function startBackend(id: string, tls?: { cert: string; key: string }): Promise<Backend> {
  const b: Backend = {
    id,
    port: 0,
    hits: 0,
    probes: 0,
    probeHost: "",
    health: 200,
    resetNext: 0,
    failing: false,
    delayMs: 0,
    nextDelays: [],
    holding: false,
    held: [],
    release() {},
    servername: "",
    close: async () => {},
  };
  b.release = () => {
    b.holding = false;
    for (const answer of b.held.splice(0)) answer();
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    if (req.url === "/health") {
      b.probes++;
      b.probeHost = req.headers.host ?? "";
      res.writeHead(b.health, { "content-length": "0" }).end();
      return;
    }
    const hit = ++b.hits;
    if (b.resetNext > 0) {
      b.resetNext--;
      req.socket.destroy();
      return;
    }
    b.servername = (req.socket as TLSSocket).servername || "";
    const body = JSON.stringify({ id });
    const answer = () =>
      res
        .writeHead(b.failing ? 500 : 200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-backend": id,
          "x-hit": String(hit),
        })
        .end(body);
    const delay = b.nextDelays.shift() ?? b.delayMs;
    if (b.holding) b.held.push(answer);
    else if (delay > 0) {
      const t = setTimeout(answer, delay);
      res.on("close", () => clearTimeout(t));
    } else answer();
  };
  const srv: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler) : createHttpServer(handler);
  // Envoy reuses its upstream connections: never let Node close one under it.
  srv.keepAliveTimeout = 60 * 60 * 1000;
  srv.headersTimeout = srv.keepAliveTimeout + 1000;
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  b.port = typeof addr === "object" && addr ? addr.port : 0;
  b.close = () =>
    new Promise((resolve) => {
      b.held.length = 0;
      srv.close(() => resolve());
      srv.closeAllConnections();
    });
  return b;
}

/** A cleartext HTTP/2 (h2c, prior knowledge) backend recording the HTTP version of each request. */
async function startH2Backend(): Promise<{ port: number; versions: string[]; close(): void }> {
  const versions: string[] = [];
  const sessions = new Set<Http2Session>();
  const srv = createHttp2Server((req, res) => {
    versions.push(req.httpVersion);
    req.resume();
    res.writeHead(200, { "x-backend": "h2", "x-http-version": req.httpVersion }).end("ok");
  });
  srv.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const addr = srv.address();
  return {
    port: typeof addr === "object" && addr ? addr.port : 0,
    versions,
    close() {
      for (const s of sessions) s.destroy();
      srv.close();
    },
  };
}

/**
 * A listening socket whose connections never complete: a child Node process listens with a
 * backlog of 1 and then blocks its event loop for good, so it never accepts. Once `fill()` has
 * queued the connections the kernel holds for it, Linux drops every further SYN (accept queue
 * full), and a connect to it hangs on loopback as it would towards an unreachable host.
 */
async function startBlackhole(port: number): Promise<{ fill(): Promise<void>; close(): void }> {
  const script = `const s = require("node:net").createServer();
s.listen(+process.argv[1], "127.0.0.1", 1, () => {
  process.stdout.write("ready\\n");
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;
  const child: ChildProcess = spawn(process.execPath, ["-e", script, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => child.stdout!.once("data", resolve));
  const fillers: Socket[] = [];
  return {
    /** Connects until a connect does not complete within 300ms: the accept queue is then full. */
    async fill() {
      for (let i = 0; i < 8; i++) {
        const s = connect(port, "127.0.0.1");
        s.on("error", () => {});
        fillers.push(s);
        const done = await new Promise<boolean>((resolve) => {
          s.once("connect", () => resolve(true));
          setTimeout(() => resolve(false), 300);
        });
        if (!done) return;
      }
      throw new Error("the blackhole's accept queue never filled");
    },
    close() {
      for (const s of fillers) s.destroy();
      child.kill();
    },
  };
}

let gw: TestGateway;
let h2Backend: Awaited<ReturnType<typeof startH2Backend>>;
let blackhole: Awaited<ReturnType<typeof startBlackhole>>;
let blackholePort: number;
let envoy: Envoy;
let certDir: string;
/** A port nothing listens on: connections to it are refused. */
let refusedPort: number;
const backends: Record<string, Backend> = {};
const ep = (...ids: string[]) => `[${ids.map((i) => `"127.0.0.1:${backends[i]!.port}"`).join(", ")}]`;

const TLS_ROUTES = ["tls", "tls-host", "tls-system", "tls-wrong-ca", "tls-other-sni", "tls-insecure", "tls-rotate"];
/** A CA file of the test's, by absolute path (relative ones start from the gateway's own directory). */
const ca = (file: string) => JSON.stringify(join(certDir, file));

function config(port: number): string {
  return `
listeners:
  - { name: public, address: 127.0.0.1, port: ${port} }
routes:
${["rr", "lr", "random", "weighted", "ring", "maglev-cookie", "ring-ip", "hc", "hc-status", "od", "cb", "dns", "h2", "ct-short", "ct-long", ...TLS_ROUTES].map((n) => `  - { name: ${n}, match: { path: { prefix: /${n}/ } }, upstream: ${n} }`).join("\n")}
  - { name: ptt-retry, match: { path: { prefix: /ptt-retry/ } }, upstream: ptt, retries: { attempts: 1, per_try_timeout: 300ms } }
  - { name: cf-none, match: { path: { prefix: /cf-none/ } }, upstream: cf }
  - { name: reset-none, match: { path: { prefix: /reset-none/ } }, upstream: rs }
  - { name: reset-retry, match: { path: { prefix: /reset-retry/ } }, upstream: rs, retries: { attempts: 1, on: [reset] } }
  - { name: cf-retry, match: { path: { prefix: /cf-retry/ } }, upstream: cf, retries: { attempts: 1, on: [connect-failure] } }
upstreams:
  - name: rr
    endpoints: ${ep("r1", "r2", "r3")}
  - name: lr
    lb: least_request
    endpoints: ${ep("l1", "l2", "l3")}
  - name: random
    lb: random
    endpoints: ${ep("r1", "r2", "r3")}
  - name: weighted
    endpoints:
      - { host: 127.0.0.1, port: ${backends.w3!.port}, weight: 3 }
      - { host: 127.0.0.1, port: ${backends.w1!.port}, weight: 1 }
  - name: ptt
    endpoints: ${ep("p1")}
  - name: cf
    endpoints: ["127.0.0.1:${refusedPort}", "127.0.0.1:${backends.f1!.port}"]
  - name: ring
    lb: ring_hash
    hash_on: { header: x-user }
    endpoints: ${ep("r1", "r2", "r3")}
  - name: maglev-cookie
    lb: maglev
    hash_on: { cookie: session }
    endpoints: ${ep("r1", "r2", "r3")}
  - name: ring-ip
    lb: ring_hash
    endpoints: ${ep("r1", "r2", "r3")}
  - name: hc
    endpoints: ${ep("h1", "h2")}
    health_check: { path: /health, interval: 100ms, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1 }
  - name: hc-status
    endpoints: ${ep("h3", "h4")}
    health_check: { path: /health, host: probe.example, interval: 100ms, unhealthy_threshold: 1, healthy_threshold: 1, expected_statuses: [204] }
  - name: rs
    endpoints: ${ep("x1")}
  - name: h2
    protocol: http2
    endpoints: ["127.0.0.1:${h2Backend.port}"]
  - name: ct-short
    connect_timeout: 200ms
    endpoints: ["127.0.0.1:${blackholePort}"]
  - name: ct-long
    connect_timeout: 1200ms
    endpoints: ["127.0.0.1:${blackholePort}"]
  - name: od
    endpoints: ${ep("o1", "o2")}
    outlier_detection: { consecutive_5xx: 3, interval: 100ms, base_ejection_time: 30s, max_ejection_percent: 50 }
  - name: cb
    endpoints: ${ep("c1")}
    circuit_breakers: { max_connections: 1, max_pending_requests: 1, max_requests: 1 }
  - name: dns
    endpoints: ["localhost:${backends.d1!.port}"]
  - name: tls
    endpoints: ${ep("t1")}
    tls: { sni: backend.test, ca: ${ca("ca.pem")} }
  - name: tls-host
    endpoints: ["localhost:${backends.t1!.port}"]
    tls: { ca: ${ca("ca.pem")} }
  - name: tls-system
    endpoints: ["localhost:${backends.t1!.port}"]
    tls: true
  - name: tls-wrong-ca
    endpoints: ${ep("t1")}
    tls: { sni: backend.test, ca: ${ca("other-ca.pem")} }
  - name: tls-other-sni
    endpoints: ${ep("t1")}
    tls: { sni: other.test, ca: ${ca("ca.pem")} }
  - name: tls-insecure
    endpoints: ${ep("t1")}
    tls: { sni: other.test, insecure_skip_verify: true }
  - name: tls-rotate
    endpoints: ${ep("t1")}
    tls: { sni: backend.test, ca: ${ca("rotating-ca.pem")} }
`;
}

const get = (path: string, headers: Record<string, string> = {}): Promise<HttpResponse> =>
  request(envoy.url(path), { headers, timeoutMs: 10_000 });
/** Which backend answered each of `n` sequential requests. */
async function spread(path: string, n: number, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = await get(path, headers);
    const id = r.status === 200 ? r.header("x-backend")! : `status ${r.status}`;
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), "portico-upstream-tls-"));
  // The backend's certificate is signed by a test CA, for backend.test and localhost; another CA
  // (trusted by no one here) stands for an attacker's, and rotating-ca.pem starts out as that one.
  const testCa = generateCa(join(certDir, "ca.pem"), join(certDir, "ca.key"), "Portico test CA");
  generateCa(join(certDir, "other-ca.pem"), join(certDir, "other-ca.key"), "Some other CA");
  copyFileSync(join(certDir, "other-ca.pem"), join(certDir, "rotating-ca.pem"));
  const cert = generateSignedCertificate(testCa, join(certDir, "backend.crt"), join(certDir, "backend.key"), ["backend.test", "localhost"]);
  const pem = { cert: readFileSync(cert.certPath, "utf8"), key: readFileSync(cert.keyPath, "utf8") };
  const plain = ["r1", "r2", "r3", "l1", "l2", "l3", "w3", "w1", "p1", "f1", "h1", "h2", "h3", "h4", "x1", "o1", "o2", "c1", "d1"];
  const started = await Promise.all([...plain.map((id) => startBackend(id)), startBackend("t1", pem)]);
  for (const b of started) backends[b.id] = b;
  backends.h3!.health = 204;
  h2Backend = await startH2Backend();
  blackholePort = await freePort();
  blackhole = await startBlackhole(blackholePort);
  refusedPort = await freePort();
  gw = await startTestGateway({ yaml: config(await freePort()) });
  envoy = await joinEnvoy(gw.cp, "envoy-up", {}, envoys);
  await waitSynced(gw.cp, "envoy-up");
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
  h2Backend?.close();
  blackhole?.close();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

describe("load balancing", () => {
  it("round_robin (the default) spreads requests evenly over the endpoints", async () => {
    const seen = await spread("/rr/x", 30);
    expect([...seen.keys()].sort()).toEqual(["r1", "r2", "r3"]);
    // Two workers each keep their own rotation: even to within a request or two.
    for (const n of seen.values()) expect(n).toBeGreaterThanOrEqual(8);
  });

  /**
   * One client (`headers(client)`) sent 30 times lands on one endpoint each time, while 30
   * different clients spread over more than one. With 3 endpoints each taking about a third of
   * the hash space, 30 clients all landing on one endpoint has odds of about 3 * (1/3)^30 = 3^-29,
   * about 1.5e-14.
   */
  async function expectSticky(path: string, headers: (client: string) => Record<string, string>): Promise<void> {
    const one = await spread(path, 30, headers("alice"));
    expect([...one.keys()], JSON.stringify([...one])).toHaveLength(1);
    expect([...one.keys()][0]).toMatch(/^r[123]$/);
    const landed = new Set<string>();
    for (let i = 0; i < 30; i++) for (const id of (await spread(path, 1, headers(`user-${i}`))).keys()) landed.add(id);
    expect(
      [...landed].every((id) => /^r[123]$/.test(id)),
      [...landed].join(","),
    ).toBe(true);
    expect(landed.size, "30 clients all on one endpoint").toBeGreaterThan(1);
  }

  it("ring_hash with hash_on: { header: x-user } keeps each user on one endpoint, and spreads users", async () => {
    await expectSticky("/ring/x", (user) => ({ "x-user": user }));
  });

  it("maglev with hash_on: { cookie: session } keeps each session on one endpoint, and spreads sessions", async () => {
    await expectSticky("/maglev-cookie/x", (session) => ({ cookie: `theme=dark; session=${session}` }));
  });

  it("ring_hash without hash_on hashes the client's address: one client stays on one endpoint whatever its headers", async () => {
    // Every request here comes from 127.0.0.1, so only the stickiness can be seen (not the spread).
    const landed = new Set<string>();
    for (let i = 0; i < 30; i++) for (const id of (await spread("/ring-ip/x", 1, { "x-user": `user-${i}` })).keys()) landed.add(id);
    expect([...landed]).toHaveLength(1);
    expect([...landed][0]).toMatch(/^r[123]$/);
  });
});

describe("least_request, random and endpoint weights", () => {
  /** Sends `n` requests in batches of 50 concurrent ones; which backend answered how many. */
  async function spreadConcurrent(path: string, n: number): Promise<Map<string, number>> {
    const seen = new Map<string, number>();
    for (let done = 0; done < n; done += 50) {
      const rs = await Promise.all(Array.from({ length: Math.min(50, n - done) }, () => get(path)));
      for (const r of rs) {
        const id = r.status === 200 ? r.header("x-backend")! : `status ${r.status}`;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
    }
    return seen;
  }
  /** |count - n p| within 4.5 binomial sigmas: a correct gateway fails this ~7e-6 of the time. */
  function expectBinomial(count: number, n: number, p: number, what: string): void {
    const sigma = Math.sqrt(n * p * (1 - p));
    expect(Math.abs(count - n * p), `${what}: ${count} of ${n}; mean ${n * p}, sigma ${sigma.toFixed(2)}`).toBeLessThanOrEqual(4.5 * sigma);
  }

  it("least_request: while one endpoint holds requests open, new requests go to the idle ones", async () => {
    const l1 = backends.l1!;
    l1.holding = true;
    const parked: Promise<HttpResponse>[] = [];
    let settled = 0;
    try {
      // Park requests until l1 holds 3 of them (the others land on l2/l3 and return at once).
      await pollUntil(
        async () => {
          parked.push(get("/lr/x").finally(() => settled++));
          return l1.held.length;
        },
        (n) => n >= 3,
        { timeoutMs: 10_000, intervalMs: 20, what: "l1 holding 3 requests" },
      );
      // Every parked request is either held by l1 or answered (none still on its way to l1)...
      await pollUntil(
        async () => settled + l1.held.length,
        (n) => n === parked.length,
        { timeoutMs: 5_000, intervalMs: 10, what: "parked requests held or answered" },
      );
      // ...the held ones stay open, and l1 answers the requests that reach it from now on at once.
      l1.holding = false;
      const hitsBefore = l1.hits;
      const N = 90;
      const seen = await spread("/lr/x", N);
      // Envoy's least_request with equal weights is "power of two choices": it draws two endpoints
      // at random (with replacement) and takes the one with fewer active requests. l1 (≥ 3 active)
      // is only taken when both draws are l1: p = 1/9, so l1's share is Binomial(90, 1/9), mean 10,
      // sigma 2.98; P(≥ 25) ~ 1e-5. Round robin would send it 30, and nothing of its answers.
      const toL1 = l1.hits - hitsBefore;
      expect(toL1, JSON.stringify([...seen])).toBeLessThanOrEqual(24);
      expect((seen.get("l2") ?? 0) + (seen.get("l3") ?? 0) + toL1, JSON.stringify([...seen])).toBe(N);
      expect(seen.get("l2"), JSON.stringify([...seen])).toBeGreaterThan(20);
      expect(seen.get("l3"), JSON.stringify([...seen])).toBeGreaterThan(20);
      expect(seen.get("l1") ?? 0).toBe(toL1);
      expect(l1.held.length, "still held open").toBeGreaterThanOrEqual(3);
    } finally {
      l1.release();
    }
    const parkedAnswers = await Promise.all(parked);
    expect(parkedAnswers.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
  });

  it("random spreads 300 requests over all endpoints, each within 4.5 sigma of a third", async () => {
    const N = 300;
    const seen = await spreadConcurrent("/random/x", N);
    expect([...seen.keys()].sort(), JSON.stringify([...seen])).toEqual(["r1", "r2", "r3"]);
    // Each endpoint's count is Binomial(300, 1/3): mean 100, sigma 8.16, band [63, 137].
    for (const [id, n] of seen) expectBinomial(n, N, 1 / 3, id);
  });

  it("endpoint weights 3:1 share 400 requests within 4.5 sigma of 25% for the weight-1 endpoint", async () => {
    const N = 400;
    const seen = await spreadConcurrent("/weighted/x", N);
    expect([...seen.keys()].sort(), JSON.stringify([...seen])).toEqual(["w1", "w3"]);
    // Binomial(400, 1/4): mean 100, sigma 8.66, band [61, 139]. Weighted round robin is in fact
    // much closer to 100 than a binomial; equal weights (200) or one ignored (0/400) fall far outside.
    expectBinomial(seen.get("w1")!, N, 1 / 4, "w1");
  });
});

describe("retries against real endpoints", () => {
  it("per_try_timeout cuts a slow first try at 300ms and retries: the upstream sees 2 tries, the client gets the second's answer", async () => {
    const p1 = backends.p1!;
    const before = p1.hits;
    p1.nextDelays = [3_000];
    const t0 = Date.now();
    const r = await get("/ptt-retry/x");
    const ms = Date.now() - t0;
    expect(r.status).toBe(200);
    expect(p1.hits - before, "tries the upstream saw").toBe(2);
    expect(r.header("x-hit"), "the answer is the second try's").toBe(String(before + 2));
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms, "not the slow try's 3s").toBeLessThan(2_000);
    expect(await envoy.stat("cluster.ptt.upstream_rq_per_try_timeout")).toBeGreaterThanOrEqual(1);
  });

  it("on: [reset] retries a request whose connection the backend destroys mid-request: the second try answers 200; without retries the client gets 503", async () => {
    const x1 = backends.x1!;
    let before = x1.hits;
    x1.resetNext = 1;
    const retried = await get("/reset-retry/x");
    expect(retried.status).toBe(200);
    expect(x1.hits - before, "tries the upstream saw").toBe(2);
    expect(retried.header("x-hit"), "the answer is the second try's").toBe(String(before + 2));
    expect(await envoy.stat("cluster.rs.upstream_rq_retry")).toBeGreaterThanOrEqual(1);

    before = x1.hits;
    x1.resetNext = 1;
    const plain = await get("/reset-none/x");
    expect(plain.status).toBe(503);
    expect(x1.hits - before, "tries the upstream saw").toBe(1);
  });

  it("on: [connect-failure] retries a request whose endpoint refuses connections on the other endpoint", async () => {
    const f1 = backends.f1!;
    const [withRetry, without] = [[] as number[], [] as number[]];
    for (let i = 0; i < 10; i++) withRetry.push((await get("/cf-retry/x")).status);
    for (let i = 0; i < 10; i++) without.push((await get("/cf-none/x")).status);
    // Round robin sends every other try to the refused endpoint; the retry goes to the next one, f1.
    expect(withRetry).toEqual(Array(10).fill(200));
    expect(without.filter((s) => s === 503).length, `without retries: ${without.join(",")}`).toBeGreaterThan(0);
    expect(f1.hits).toBeGreaterThanOrEqual(10);
    expect(await envoy.stat("cluster.cf.upstream_cx_connect_fail")).toBeGreaterThan(0);
    expect(await envoy.stat("cluster.cf.upstream_rq_retry")).toBeGreaterThan(0);
  });
});

describe("active health checks", () => {
  it("expected_statuses: [204] keeps in service only the endpoint whose probe answers 204, following changes; probes carry host", async () => {
    const [h3, h4] = [backends.h3!, backends.h4!];
    const only = (id: string) =>
      pollUntil(
        () => spread("/hc-status/x", 4),
        (s) => s.get(id) === 4,
        { timeoutMs: 10_000, what: `only ${id} serving` },
      );
    // h3's probe answers 204 (listed), h4's 200 (not listed, though 2xx).
    await only("h3");
    expect(await envoy.stat("cluster.hc-status.membership_healthy")).toBe(1);
    const hitsBefore = h4.hits;
    expect([...(await spread("/hc-status/x", 10))]).toEqual([["h3", 10]]);
    expect(h4.hits, "no request reached the endpoint answering 200").toBe(hitsBefore);
    expect(h3.probeHost).toBe("probe.example");
    expect(h4.probeHost).toBe("probe.example");
    // Swap: now h4 answers the listed 204 and h3 an unlisted 200.
    h3.health = 200;
    h4.health = 204;
    await only("h4");
    expect(await envoy.stat("cluster.hc-status.membership_healthy")).toBe(1);
  });

  it("ejects an endpoint whose health path fails, and readmits it once it recovers", async () => {
    const [h1, h2] = [backends.h1!, backends.h2!];
    await pollUntil(
      () => spread("/hc/x", 6),
      (s) => s.get("h1")! > 0 && s.get("h2")! > 0,
      { timeoutMs: 10_000, what: "both hc endpoints serving" },
    );
    h2.health = 503;
    await pollUntil(
      async () => (await envoy.stat("cluster.hc.health_check.failure")) ?? 0,
      (n) => n >= 2,
      { timeoutMs: 10_000, what: "two failed probes of h2" },
    );
    await pollUntil(
      async () => (await envoy.stat("cluster.hc.membership_healthy")) ?? -1,
      (n) => n === 1,
      { timeoutMs: 10_000, what: "h2 ejected" },
    );
    // The main thread counts it first; the workers' host sets follow a moment later.
    await pollUntil(
      () => spread("/hc/x", 4),
      (s) => s.get("h1") === 4,
      { timeoutMs: 5_000, what: "only h1 serving" },
    );
    const hitsBefore = h2.hits;
    const seen = await spread("/hc/x", 20);
    expect([...seen]).toEqual([["h1", 20]]);
    expect(h2.hits, "no request reached the failing endpoint").toBe(hitsBefore);

    h2.health = 200;
    await pollUntil(
      async () => (await envoy.stat("cluster.hc.membership_healthy")) ?? -1,
      (n) => n === 2,
      { timeoutMs: 10_000, what: "h2 readmitted" },
    );
    const after = await pollUntil(
      () => spread("/hc/x", 4),
      (s) => (s.get("h2") ?? 0) > 0,
      { timeoutMs: 5_000, what: "h2 serving again" },
    );
    expect([...after.keys()].sort()).toEqual(["h1", "h2"]);
    expect(h1.hits).toBeGreaterThan(0);
  });
});

describe("outlier detection", () => {
  it("ejects an endpoint that answers consecutive 5xx", async () => {
    const o2 = backends.o2!;
    o2.failing = true;
    // Round robin sends o2 about every other request: after its third 5xx in a row it is ejected.
    const ejections = async () => (await envoy.stat("cluster.od.outlier_detection.ejections_enforced_consecutive_5xx")) ?? 0;
    await pollUntil(
      async () => {
        await get("/od/x");
        return ejections();
      },
      (n) => n >= 1,
      { timeoutMs: 10_000, intervalMs: 0, what: "o2 ejected (consecutive 5xx)" },
    );
    expect(await envoy.stat("cluster.od.outlier_detection.ejections_active")).toBe(1);
    const hitsBefore = o2.hits;
    const seen = await spread("/od/x", 20);
    expect([...seen]).toEqual([["o1", 20]]);
    expect(o2.hits, "no request reached the ejected endpoint").toBe(hitsBefore);
  });
});

describe("circuit breakers", () => {
  it("with every limit at 1, concurrent requests beyond it get Envoy's 503 overflow, counted in the stats", async () => {
    const c1 = backends.c1!;
    c1.delayMs = 1_000;
    try {
      const results = await Promise.all(Array.from({ length: 6 }, () => get("/cb/x")));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 200).length, statuses.join(",")).toBeGreaterThanOrEqual(1);
      const overflowed = results.filter((r) => r.status === 503);
      expect(overflowed.length, statuses.join(",")).toBeGreaterThanOrEqual(1);
      for (const r of overflowed) expect(r.header("x-envoy-overloaded")).toBe("true");
      expect(c1.hits, "the backend never saw more than the limit allows at once").toBeLessThanOrEqual(results.length - overflowed.length);
      // Requests refused for want of a connection or of a request slot: Envoy counts them in
      // upstream_rq_pending_overflow or, for max_requests, upstream_rq_active_overflow. Which one
      // depends on timing (still connecting, or the one request slot already taken): seen with all
      // overflows counted as active (4 active, 0 pending), so only their sum is checked.
      const s = await envoy.stats("^cluster\\.cb\\.upstream_rq_(pending|active)_overflow$");
      const pending = s.get("cluster.cb.upstream_rq_pending_overflow") ?? 0;
      expect(pending + (s.get("cluster.cb.upstream_rq_active_overflow") ?? 0), JSON.stringify([...s])).toBeGreaterThanOrEqual(
        overflowed.length,
      );
    } finally {
      c1.delayMs = 0;
    }
  });
});

describe("upstream protocol and connect_timeout", () => {
  it("protocol: http2 speaks cleartext HTTP/2 to the endpoint: an HTTP/1.1 client's request reaches it as 2.0", async () => {
    const r = await get("/h2/x");
    expect(r.status).toBe(200);
    expect(r.header("x-http-version")).toBe("2.0");
    expect(h2Backend.versions.length).toBeGreaterThan(0);
    expect(new Set(h2Backend.versions)).toEqual(new Set(["2.0"]));
  });

  it("connect_timeout: 200ms gives up on an endpoint whose connect never completes after about 200ms (503), 1200ms after about 1.2s", async () => {
    await blackhole.fill();
    const timed = async (path: string) => {
      const t0 = Date.now();
      const r = await get(path);
      return { status: r.status, ms: Date.now() - t0 };
    };
    const [short, long] = await Promise.all([timed("/ct-short/x"), timed("/ct-long/x")]);
    expect(short.status).toBe(503);
    expect(long.status).toBe(503);
    expect(short.ms, "short").toBeGreaterThanOrEqual(180);
    expect(short.ms, "short").toBeLessThan(900);
    expect(long.ms, "long").toBeGreaterThanOrEqual(1_150);
    expect(long.ms, "long").toBeLessThan(3_000);
    expect(await envoy.stat("cluster.ct-short.upstream_cx_connect_timeout")).toBeGreaterThanOrEqual(1);
    expect(await envoy.stat("cluster.ct-long.upstream_cx_connect_timeout")).toBeGreaterThanOrEqual(1);
  });
});

describe("DNS endpoints", () => {
  it("an endpoint given as localhost:<port> is resolved by Envoy and receives traffic", async () => {
    const d1 = backends.d1!;
    const r = await pollUntil(
      () => get("/dns/x"),
      (x) => x.status === 200,
      { timeoutMs: 10_000, what: "the DNS upstream answering" },
    );
    expect(r.header("x-backend")).toBe("d1");
    expect(d1.hits).toBeGreaterThan(0);
  });
});

describe("upstream TLS", () => {
  /** Handshakes Envoy refused because the upstream's certificate failed verification, by cluster. */
  const verifyFailures = async (cluster: string) => {
    const s = await envoy.stats(`^cluster\\.${cluster}\\.ssl\\.fail_verify_(error|san)$`);
    return { chain: s.get(`cluster.${cluster}.ssl.fail_verify_error`) ?? 0, name: s.get(`cluster.${cluster}.ssl.fail_verify_san`) ?? 0 };
  };

  it("tls: { sni, ca } reaches an upstream whose certificate that CA signed for that name, sending the name", async () => {
    const r = await get("/tls/x");
    expect(r.status).toBe(200);
    expect(r.header("x-backend")).toBe("t1");
    expect(backends.t1!.servername).toBe("backend.test");
  });

  it("tls: { ca } without sni sends, and verifies the certificate for, the first endpoint's host", async () => {
    const r = await get("/tls-host/x");
    expect(r.status).toBe(200);
    expect(r.header("x-backend")).toBe("t1");
    expect(backends.t1!.servername).toBe("localhost");
  });

  it("tls: true verifies against the system trust store: a certificate from a private CA is refused (503)", async () => {
    const hits = backends.t1!.hits;
    const r = await get("/tls-system/x");
    expect(r.status).toBe(503);
    expect(backends.t1!.hits).toBe(hits);
    expect((await verifyFailures("tls-system")).chain).toBeGreaterThan(0);
  });

  it("a certificate the configured CA did not sign is refused (503)", async () => {
    const hits = backends.t1!.hits;
    const r = await get("/tls-wrong-ca/x");
    expect(r.status).toBe(503);
    expect(backends.t1!.hits).toBe(hits);
    expect((await verifyFailures("tls-wrong-ca")).chain).toBeGreaterThan(0);
  });

  it("a certificate not valid for the sni name is refused (503), though the right CA signed it", async () => {
    const hits = backends.t1!.hits;
    const r = await get("/tls-other-sni/x");
    expect(r.status).toBe(503);
    expect(backends.t1!.hits).toBe(hits);
    expect((await verifyFailures("tls-other-sni")).name).toBeGreaterThan(0);
  });

  it("insecure_skip_verify: true accepts any certificate (the explicit, dangerous opt-out)", async () => {
    const r = await get("/tls-insecure/x");
    expect(r.status).toBe(200);
    expect(backends.t1!.servername).toBe("other.test");
  });

  it("replacing the ca file reaches Envoy live: the upstream is trusted once the right CA is in it", async () => {
    expect((await get("/tls-rotate/x")).status).toBe(503);
    const next = join(certDir, "rotating-ca.pem.next");
    copyFileSync(join(certDir, "ca.pem"), next);
    renameSync(next, join(certDir, "rotating-ca.pem"));
    const r = await pollUntil(
      () => get("/tls-rotate/x"),
      (x) => x.status === 200,
      { timeoutMs: 10_000, what: "the rotated CA trusted" },
    );
    expect(r.header("x-backend")).toBe("t1");
  });
});
