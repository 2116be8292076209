// The native edge policies end to end (#13): `filter: cors`, `ip-restriction` and `request-size`
// plugins become Envoy's CORS, RBAC and buffer filters (docs/gateway-config.md, `plugins`), and
// `listeners[].trusted_hops` decides which address is the client's. Checked on real traffic
// through a real Envoy joined to the gateway: preflights answered at the edge, allowed and
// refused origins, a spoofed X-Forwarded-For ignored unless a proxy is trusted, bodies over the
// limit refused before the upstream sees them (Content-Length and chunked), a global policy on
// every route, and a policy edit applied on an open keep-alive connection without a drain.
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  echoedHeader,
  freePort,
  parseEcho,
  request,
  useEchoUpstream,
  useEnvoy,
  type EchoUpstream,
  type Envoy,
  type HttpResponse,
  type RequestOptions,
} from "../../../test/support/index.js";
import { ANY_NODE } from "../../src/xds/cache.js";
import { TypeUrl } from "../../src/xds/types.js";
import { nextOutcome, startGatewayOnFreshPort, waitSynced, type TestGateway } from "../support/gateway.js";
import { openKeepAlive } from "../support/keep-alive.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");
/** Short, so that a drained connection would be closed within the test (Envoy's default is 600 s). */
const DRAIN_TIME_S = 1;
const SMALL_LIMIT = 1024;
const GLOBAL_LIMIT = 64 * 1024;
const APP = "https://app.example.com";

let gw: TestGateway;
let envoy: Envoy;
let port: number; // listener "direct": trusted_hops 0
let behindPort: number; // listener "behind": trusted_hops 1
let up: EchoUpstream;

interface Knobs {
  /** An origin added to the cors plugin (the live edit). */
  extraOrigin?: string;
}

function config(k: Knobs = {}): string {
  return `
listeners:
  - { name: direct, address: 127.0.0.1, port: ${port} }
  - { name: behind, address: 127.0.0.1, port: ${behindPort}, trusted_hops: 1 }
routes:
  - { name: cors, match: { path: { prefix: /cors/ } }, upstream: echo, plugins: [cors] }
  - { name: deny, match: { path: { prefix: /deny/ } }, upstream: echo, plugins: [deny-one] }
  - { name: allow, match: { path: { prefix: /allow/ } }, upstream: echo, plugins: [allow-net] }
  - { name: upload, match: { path: { prefix: /upload/ } }, upstream: echo, plugins: [small-body] }
  - { name: plain, match: { path: { prefix: /plain/ } }, upstream: echo }
upstreams:
  - name: echo
    endpoints: ["127.0.0.1:${up.port}"]
plugins:
  - name: cors
    filter: cors
    config:
      origins:
        - ${APP}
        - https://*.example.org
        - { regex: "https://tenant-[0-9]+\\\\.example\\\\.net" }
${k.extraOrigin ? `        - ${k.extraOrigin}\n` : ""}      methods: [GET, PUT]
      headers: [x-api-key]
      expose_headers: [x-request-id]
      credentials: true
      max_age: 10m
  - name: deny-one
    filter: ip-restriction
    config: { deny: [10.9.9.9/32, "2001:db8::/32"] }
  - name: allow-net
    filter: ip-restriction
    config: { allow: [10.9.9.0/24] }
  - name: small-body
    filter: request-size
    config: { max_body_bytes: ${SMALL_LIMIT} }
  - name: body-limit
    filter: request-size
    global: true
    config: { max_body_bytes: 64KiB }
`;
}

const url = (path: string, p = port) => `http://127.0.0.1:${p}${path}`;
const send = (path: string, o: RequestOptions = {}, p = port): Promise<HttpResponse> => request(url(path, p), { timeoutMs: 10_000, ...o });

/** Runs `act` and returns how many requests the upstream received meanwhile. */
async function upstreamRequestsDuring(act: () => Promise<unknown>): Promise<number> {
  const before = up.requests.length;
  await act();
  return up.requests.length - before;
}

/** Preflight: OPTIONS with Origin and Access-Control-Request-Method. */
const preflight = (origin: string, method = "PUT", headers = "x-api-key") =>
  send("/cors/x", {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
  });

beforeAll(async () => {
  up = await echo();
  // The second listener's port, one per start attempt: when startGatewayOnFreshPort starts over
  // (a port taken meanwhile), it gets a fresh one too.
  const spares = [await freePort(), await freePort(), await freePort()];
  let attempt = 0;
  ({
    gw,
    envoys: [envoy],
  } = await startGatewayOnFreshPort({
    yaml: (p) => {
      port = p;
      behindPort = spares[attempt++ % spares.length]!;
      return config();
    },
    nodes: [{ id: "envoy-edge", opts: { extraArgs: ["--drain-time-s", String(DRAIN_TIME_S)] } }],
    start: envoys,
  }));
}, 90_000);

afterAll(async () => {
  await gw?.stop();
});

describe("cors", () => {
  it("answers a preflight from an allowed origin at the edge, with every CORS header, and the upstream never sees it", async () => {
    let r!: HttpResponse;
    expect(await upstreamRequestsDuring(async () => (r = await preflight(APP))), "requests reaching the upstream").toBe(0);
    expect([200, 204]).toContain(r.status);
    expect(r.header("access-control-allow-origin")).toBe(APP);
    expect(r.header("access-control-allow-methods")).toBe("GET,PUT");
    expect(r.header("access-control-allow-headers")).toBe("x-api-key");
    expect(r.header("access-control-max-age")).toBe("600");
    expect(r.header("access-control-allow-credentials")).toBe("true");
  });

  it("answers a preflight from a refused origin at the edge too, without Access-Control-Allow-Origin (so the browser refuses)", async () => {
    let r!: HttpResponse;
    expect(await upstreamRequestsDuring(async () => (r = await preflight("https://evil.example.com")))).toBe(0);
    // Envoy's answer may still carry Allow-Methods and Allow-Credentials: without Allow-Origin
    // naming the page's origin, the browser refuses the preflight and sends nothing more.
    expect([200, 204]).toContain(r.status);
    expect(r.header("access-control-allow-origin")).toBeUndefined();
  });

  it("adds the CORS headers to a simple request from an allowed origin, none for a refused one (forwarded either way)", async () => {
    const allowed = await send("/cors/x", { headers: { origin: APP } });
    expect(allowed.status).toBe(200);
    expect(allowed.header("access-control-allow-origin")).toBe(APP);
    expect(allowed.header("access-control-allow-credentials")).toBe("true");
    expect(allowed.header("access-control-expose-headers")).toBe("x-request-id");

    const refused = await send("/cors/x", { headers: { origin: "https://evil.com" } });
    expect(refused.status, "forwarded: the browser, not the gateway, withholds the answer").toBe(200);
    expect(refused.header("access-control-allow-origin")).toBeUndefined();
    expect(refused.header("access-control-allow-credentials")).toBeUndefined();
  });

  it("matches a wildcard subdomain on DNS labels only, and a regex origin on the whole value", async () => {
    const allowOrigin = async (origin: string) => (await send("/cors/x", { headers: { origin } })).header("access-control-allow-origin");
    expect(await allowOrigin("https://shop.example.org")).toBe("https://shop.example.org");
    expect(await allowOrigin("https://a.b.example.org")).toBe("https://a.b.example.org");
    expect(await allowOrigin("https://example.org")).toBeUndefined();
    expect(await allowOrigin("https://evil.com/.example.org")).toBeUndefined();
    expect(await allowOrigin("https://example.org.evil.com")).toBeUndefined();
    expect(await allowOrigin("http://shop.example.org")).toBeUndefined();
    expect(await allowOrigin("https://tenant-42.example.net")).toBe("https://tenant-42.example.net");
    expect(await allowOrigin("https://tenant-42.example.net.evil.com")).toBeUndefined();
    expect(await allowOrigin("https://tenant-x.example.net")).toBeUndefined();
  });
});

describe("ip-restriction on the trusted client address", () => {
  const spoofed = { "x-forwarded-for": "10.9.9.9" };

  it("with trusted_hops 0 a client-sent X-Forwarded-For is ignored: a deny of it does not refuse, an allow of it does not admit", async () => {
    const denied = await send("/deny/x", { headers: spoofed });
    expect(denied.status, "deny 10.9.9.9/32 does not apply to a client that only claims to be 10.9.9.9").toBe(200);
    let refused!: HttpResponse;
    expect(await upstreamRequestsDuring(async () => (refused = await send("/allow/x", { headers: spoofed })))).toBe(0);
    expect(refused.status, "allow 10.9.9.0/24 only: the real client is outside it").toBe(403);
  });

  it("with trusted_hops 1 the proxy's X-Forwarded-For entry is the client: deny refuses it with 403, allow admits it", async () => {
    let denied!: HttpResponse;
    expect(await upstreamRequestsDuring(async () => (denied = await send("/deny/x", { headers: spoofed }, behindPort)))).toBe(0);
    expect(denied.status).toBe(403);
    expect((await send("/deny/x", { headers: { "x-forwarded-for": "10.9.9.10" } }, behindPort)).status, "a neighbour is not denied").toBe(
      200,
    );
    expect((await send("/allow/x", { headers: spoofed }, behindPort)).status).toBe(200);
    expect((await send("/allow/x", { headers: { "x-forwarded-for": "10.9.8.1" } }, behindPort)).status).toBe(403);
  });

  it("matches IPv6 clients against IPv6 blocks", async () => {
    expect((await send("/deny/x", { headers: { "x-forwarded-for": "2001:db8::5" } }, behindPort)).status).toBe(403);
    expect((await send("/deny/x", { headers: { "x-forwarded-for": "2001:db9::5" } }, behindPort)).status).toBe(200);
  });
});

/** Sends a request whose body is `chunks`, chunked (Transfer-Encoding: chunked, no Content-Length). */
function sendChunked(path: string, chunks: Buffer[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url(path), { method: "POST", headers: { "transfer-encoding": "chunked" }, agent: false });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString("utf8");
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // Envoy may answer 413 and close while the rest of the body is still on its way.
    req.on("error", (e) => (req.writableEnded ? undefined : reject(e)));
    req.setTimeout(10_000, () => req.destroy(new Error("chunked request timed out")));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

/**
 * Sends the head of a POST that announces `length` body bytes, then only `sent` of them, and
 * waits for the answer: a reply while the rest of the body is still owed shows Envoy refused as
 * soon as it had read past the limit, without waiting for (or buffering) the whole body.
 */
function partialBody(path: string, length: number, sent: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: ${length}\r\n\r\n`);
      socket.write("p".repeat(sent));
    });
    let got = "";
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer while the body was still owed (got ${JSON.stringify(got)})`));
    });
    socket.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (got.includes("\r\n")) {
        socket.destroy();
        resolve(got.split("\r\n")[0] ?? "");
      }
    });
    socket.on("error", reject);
  });
}

describe("request-size", () => {
  it("refuses a Content-Length body over the limit with 413, and the upstream sees nothing", async () => {
    let r!: HttpResponse;
    const body = "x".repeat(SMALL_LIMIT + 1);
    expect(await upstreamRequestsDuring(async () => (r = await send("/upload/x", { method: "POST", body })))).toBe(0);
    expect(r.status).toBe(413);
  });

  it("refuses as soon as the body is past the limit, without waiting for the rest a large Content-Length announces", async () => {
    const before = up.requests.length;
    expect(await partialBody("/upload/x", SMALL_LIMIT * 1000, SMALL_LIMIT + 1)).toMatch(/^HTTP\/1\.1 413 /);
    expect(up.requests.length).toBe(before);
  });

  it("refuses a chunked body once it is over the limit with 413, and the upstream sees nothing", async () => {
    let r!: { status: number };
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(SMALL_LIMIT / 4, "y")); // 2 KiB in 8 chunks
    expect(await upstreamRequestsDuring(async () => (r = await sendChunked("/upload/x", chunks)))).toBe(0);
    expect(r.status).toBe(413);
  });

  it("passes a body under the limit intact, chunked or not", async () => {
    const body = "z".repeat(SMALL_LIMIT - 1);
    const plain = await send("/upload/x", { method: "POST", body });
    expect(plain.status).toBe(200);
    expect(parseEcho(plain.body).body).toBe(body);
    const chunked = await sendChunked("/upload/x", [Buffer.from(body.slice(0, 500)), Buffer.from(body.slice(500))]);
    expect(chunked.status).toBe(200);
    expect(parseEcho(chunked.body).body).toBe(body);
  });

  it("a global request-size runs on every route, one listing no plugins included, and on unrouted requests", async () => {
    const big = "b".repeat(GLOBAL_LIMIT + 1);
    for (const path of ["/plain/x", "/cors/x", "/nowhere"]) {
      expect((await send(path, { method: "POST", body: big })).status, path).toBe(413);
    }
    const fits = "f".repeat(GLOBAL_LIMIT);
    const r = await send("/plain/x", { method: "POST", body: fits });
    expect(r.status).toBe(200);
    expect(parseEcho(r.body).body.length).toBe(GLOBAL_LIMIT);
    expect(echoedHeader(parseEcho(r.body), "content-length")).toEqual([String(GLOBAL_LIMIT)]);
  });
});

const openConn = () => openKeepAlive(port);

describe("a policy edit", () => {
  it("applies on an open keep-alive connection as a route update: the listener is unchanged and nothing drains", async () => {
    const NEW = "https://new.example.com";
    const versionOf = (type: typeof TypeUrl.Listener | typeof TypeUrl.Route) => gw.cp.cache.get(ANY_NODE)?.types[type]?.version;
    const drainStats = async () => {
      const s = await envoy.stats("listener_manager\\.");
      return {
        modified: s.get("listener_manager.listener_modified") ?? 0,
        draining: s.get("listener_manager.total_filter_chains_draining") ?? 0,
      };
    };
    const conn = openConn();
    try {
      expect((await conn.get("/cors/x", { origin: NEW })).headers["access-control-allow-origin"], "not allowed yet").toBeUndefined();
      const listenerVersion = versionOf(TypeUrl.Listener);
      const routeVersion = versionOf(TypeUrl.Route);
      const drains = await drainStats();

      const before = gw.cp.source.last;
      gw.write(config({ extraOrigin: NEW }));
      const outcome = await nextOutcome(gw.cp, before);
      expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
      await waitSynced(gw.cp, "envoy-edge", { failOnNack: true });

      const r = await conn.get("/cors/x", { origin: NEW });
      expect(r.headers["access-control-allow-origin"], "the edited policy is in force").toBe(NEW);
      expect(r.reused, "served over the connection opened before the edit").toBe(true);
      expect(versionOf(TypeUrl.Listener), "the listener resource is unchanged").toBe(listenerVersion);
      expect(versionOf(TypeUrl.Route), "the routes carry the edit").not.toBe(routeVersion);
      expect(await drainStats(), "listener_modified and total_filter_chains_draining unchanged").toEqual(drains);
      expect(conn.closed(), "the connection is still open").toBe(false);
      expect((await conn.get("/cors/x", { origin: APP })).reused).toBe(true);
    } finally {
      conn.close();
    }
  });
});
