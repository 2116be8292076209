// routes[].idle_timeout, routes[].retries.backoff and upstreams[].circuit_breakers.retry_budget
// (#13) in a real Envoy: an upstream that sends its response headers and then stalls is cut off
// after the route's idle timeout (long before the route's whole-request timeout), one that stalls
// before its headers gets 504, one that keeps trickling bytes is not cut; a retry budget of 0% with
// no minimum stops every retry (Envoy counts the overflow), and both settings are in Envoy's
// config dump as the translator wrote them.
import { createServer, get as httpGet, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useEchoUpstream, useEnvoy, type EchoUpstream, type Envoy } from "../../../test/support/index.js";
import { startGatewayOnFreshPort, type TestGateway } from "../support/gateway.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");
let gw: TestGateway;
let envoy: Envoy;
let port: number;
let failing: EchoUpstream;
let budgeted: EchoUpstream;

/** /stall-after-headers: 200 with a content-length of 100, 7 bytes, then nothing. /stall-before:
 *  never answers. /trickle: 10 bytes, one every 150ms (1.5s in all), then the end. */
let stalling: Server;
let stallPort: number;

const IDLE_MS = 600;
const yaml = (p: number) => {
  port = p;
  return `
listeners:
  - { name: public, address: 127.0.0.1, port: ${p} }
routes:
  - name: idle
    match: { path: { prefix: /idle/ } }
    rewrite: { prefix: / }
    timeout: 20s
    idle_timeout: ${IDLE_MS}ms
    upstream: stalling
  - name: budget
    match: { path: { prefix: /budget/ } }
    retries: { attempts: 2, on: [5xx], backoff: { base: 10ms, max: 40ms } }
    upstream: budgeted
  - name: unlimited
    match: { path: { prefix: /unlimited/ } }
    retries: { attempts: 2, on: [5xx], backoff: { base: 10ms, max: 40ms } }
    upstream: failing
upstreams:
  - name: stalling
    endpoints: ["127.0.0.1:${stallPort}"]
  - name: budgeted
    endpoints: ["127.0.0.1:${budgeted.port}"]
    circuit_breakers: { retry_budget: { percent: 0, min_concurrency: 0 } }
  - name: failing
    endpoints: ["127.0.0.1:${failing.port}"]
    circuit_breakers: { retry_budget: {} }
`;
};

interface Outcome {
  status: number | undefined;
  body: string;
  /** The response ended with every byte its content-length promised. */
  complete: boolean;
  ms: number;
}

/** A GET that reports what a client sees: the status, what body arrived, and whether it was cut off. */
function fetchOutcome(path: string): Promise<Outcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let status: number | undefined;
    let body = "";
    const done = (complete: boolean) => resolve({ status, body, complete, ms: Date.now() - t0 });
    const req = httpGet(`http://127.0.0.1:${port}${path}`, (res) => {
      status = res.statusCode;
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => done(res.complete));
      res.on("error", () => done(false));
      res.on("aborted", () => done(false));
    });
    req.on("error", () => done(false));
    // Far beyond every expectation below: a hang fails the test instead of stalling it.
    req.setTimeout(15_000, () => req.destroy());
  });
}

beforeAll(async () => {
  [failing, budgeted] = await Promise.all([echo(), echo()]);
  stalling = createServer((req, res) => {
    if (req.url === "/stall-after-headers") {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "100" });
      res.write("partial");
    } else if (req.url === "/trickle") {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "10" });
      let sent = 0;
      const t = setInterval(() => {
        res.write(String(sent++));
        if (sent === 10) {
          clearInterval(t);
          res.end();
        }
      }, 150);
      res.on("close", () => clearInterval(t));
    }
    // /stall-before: no answer at all.
  });
  await new Promise<void>((r) => stalling.listen(0, "127.0.0.1", r));
  stallPort = (stalling.address() as AddressInfo).port;
  ({
    gw,
    envoys: [envoy],
  } = await startGatewayOnFreshPort({ yaml, nodes: [{ id: "timeouts", opts: { concurrency: 1 } }], start: envoys }));
}, 90_000);
afterAll(async () => {
  await gw?.stop();
  stalling?.closeAllConnections();
  await new Promise((r) => stalling?.close(r));
});

describe("routes[].idle_timeout", () => {
  it("cuts off a response whose upstream sent its headers and then stalled, after the idle timeout, not the 20s route timeout", async () => {
    const r = await fetchOutcome("/idle/stall-after-headers");
    expect(r.status).toBe(200);
    expect(r.body).toBe("partial");
    expect(r.complete).toBe(false);
    expect(r.ms).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(r.ms).toBeLessThan(5_000);
    expect(await envoy.stat("http.public.downstream_rq_idle_timeout")).toBeGreaterThanOrEqual(1);
  });

  // Envoy's RouteAction docs say 408; Envoy 1.40 answers 504, as an upstream timeout.
  it("answers 504 when the upstream stalls before its response headers", async () => {
    const r = await fetchOutcome("/idle/stall-before");
    expect([r.status, r.body]).toEqual([504, "stream timeout"]);
    expect(r.ms).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(r.ms).toBeLessThan(5_000);
  });

  it("lets a response through that keeps moving, though it takes longer than the idle timeout in all", async () => {
    const r = await fetchOutcome("/idle/trickle");
    expect(r).toMatchObject({ status: 200, body: "0123456789", complete: true });
    expect(r.ms).toBeGreaterThan(IDLE_MS);
  });
});

describe("retry back-off and upstreams[].circuit_breakers.retry_budget", () => {
  const failingRequest = { "x-echo-status": "503" };
  const send = (path: string) =>
    new Promise<number | undefined>((resolve, reject) => {
      httpGet(`http://127.0.0.1:${port}${path}`, { headers: failingRequest }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      }).on("error", reject);
    });

  it("a retry budget of 0% with no minimum lets no retry through (Envoy counts the overflow); Envoy's default budget lets attempts: 2 retry twice", async () => {
    const [budget, unlimited] = [budgeted.requests.length, failing.requests.length];
    expect(await send("/budget/x")).toBe(503);
    expect(await send("/unlimited/x")).toBe(503);
    expect(budgeted.requests.length - budget).toBe(1);
    expect(failing.requests.length - unlimited).toBe(3);
    expect(await envoy.stat("cluster.budgeted.upstream_rq_retry_overflow")).toBe(1);
    expect(await envoy.stat("cluster.failing.upstream_rq_retry_overflow")).toBe(0);
  });

  it("Envoy's config dump holds the retry budget, the back-off and the idle timeout as configured", async () => {
    const dump = JSON.parse((await envoy.admin("/config_dump?resource=dynamic_active_clusters")).body) as {
      configs: { cluster: { name: string; circuit_breakers?: { thresholds: { retry_budget?: unknown }[] } } }[];
    };
    const budgetOf = (name: string) =>
      dump.configs.find((c) => c.cluster.name === name)?.cluster.circuit_breakers?.thresholds[0]?.retry_budget;
    expect(budgetOf("budgeted")).toEqual({ budget_percent: {}, min_retry_concurrency: 0 });
    expect(budgetOf("failing")).toEqual({ budget_percent: { value: 20 }, min_retry_concurrency: 3 });
    const routes = JSON.parse((await envoy.admin("/config_dump?resource=dynamic_route_configs")).body) as {
      configs: { route_config: { virtual_hosts: { routes: { name: string; route?: Record<string, unknown> }[] }[] } }[];
    };
    const all = routes.configs.flatMap((c) => c.route_config.virtual_hosts.flatMap((v) => v.routes));
    const action = (name: string) => all.find((r) => r.name === name)?.route;
    expect(action("idle")).toMatchObject({ idle_timeout: "0.600s", timeout: "20s" });
    expect(action("budget")).toMatchObject({ retry_policy: { retry_back_off: { base_interval: "0.010s", max_interval: "0.040s" } } });
  });
});
