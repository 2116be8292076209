// A listener's edge-safety settings in a real Envoy (#13 holes 1 and 2, docs/gateway-config.md
// "Listener edge-safety settings"): the defaults are in Envoy's config dump (with the bootstrap's
// overload manager) and act on traffic: an underscore header is refused, `..%2F` is redirected to
// the normalised path and never reaches the upstream, oversized headers get 431. Then one saved
// edit relaxes the listener (allow, keep_unchanged, a 1 s request_headers_timeout): the same
// requests now reach the upstream as sent, which shows the settings are what decides, and a client
// that never finishes its headers is cut off. A listener-setting edit changes the listener, so
// Envoy drains its old connections: each request here opens a fresh one.
import { connect as netConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  echoedHeader,
  parseEcho,
  pollUntil,
  request,
  useEchoUpstream,
  useEnvoy,
  type EchoUpstream,
  type Envoy,
} from "../../../test/support/index.js";
import { nextOutcome, startGatewayOnFreshPort, waitSynced, type TestGateway } from "../support/gateway.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");
const NODE = "edge-1";

let gw: TestGateway;
let envoy: Envoy;
let port: number;
let up: EchoUpstream;

/** `listenerExtra`: YAML lines added to the listener (indented 4). */
function config(listenerExtra = ""): string {
  return `
listeners:
  - name: public
    address: 127.0.0.1
    port: ${port}
${listenerExtra}routes:
  - name: open
    match: { path: { prefix: /public/ } }
    upstream: app
  - name: api
    match: { path: { prefix: /api/ } }
    upstream: app
upstreams:
  - name: app
    endpoints: ["127.0.0.1:${up.port}"]
`;
}

async function save(yaml: string): Promise<void> {
  const before = gw.cp.source.last;
  gw.write(yaml);
  const outcome = await nextOutcome(gw.cp, before);
  expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
  await waitSynced(gw.cp, NODE, { failOnNack: true });
}

const url = (path: string) => `http://127.0.0.1:${port}${path}`;

/** Requests the echo upstream has seen so far whose path contains `part`. */
const seen = (part: string) => up.requests.filter((r) => r.path.includes(part));

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking Envoy's config dump (proto3 JSON)
type Json = Record<string, any>;

async function configDump(): Promise<Json[]> {
  const r = await envoy.admin("/config_dump");
  expect(r.status).toBe(200);
  return (JSON.parse(r.body) as { configs: Json[] }).configs;
}

const byType = (configs: Json[], suffix: string): Json => configs.find((c) => String(c["@type"]).endsWith(suffix))!;

beforeAll(async () => {
  up = await echo();
  ({
    gw,
    port,
    envoys: [envoy],
  } = await startGatewayOnFreshPort({
    yaml: (p) => {
      port = p;
      return config();
    },
    nodes: [{ id: NODE }],
    start: envoys,
  }));
}, 90_000);

afterAll(async () => {
  await gw?.stop();
});

describe("the edge defaults", () => {
  it("are in Envoy's config dump: connection manager, listener buffer limit, bootstrap overload manager", async () => {
    const configs = await configDump();
    const listener = byType(configs, "ListenersConfigDump").dynamic_listeners.find((l: Json) => l.name === "public").active_state.listener;
    expect(listener.per_connection_buffer_limit_bytes).toBe(32768);
    const hcm = listener.filter_chains[0].filters[0].typed_config;
    expect(hcm).toMatchObject({
      normalize_path: true,
      merge_slashes: true,
      path_with_escaped_slashes_action: "UNESCAPE_AND_REDIRECT",
      max_request_headers_kb: 60,
      request_headers_timeout: "10s",
      stream_idle_timeout: "300s",
      common_http_protocol_options: { idle_timeout: "3600s", headers_with_underscores_action: "REJECT_REQUEST" },
      http2_protocol_options: { max_concurrent_streams: 100, initial_stream_window_size: 65536, initial_connection_window_size: 1048576 },
    });

    const om = byType(configs, "BootstrapConfigDump").bootstrap.overload_manager;
    expect(om.resource_monitors.map((m: Json) => m.name)).toEqual([
      "envoy.resource_monitors.fixed_heap",
      "envoy.resource_monitors.global_downstream_max_connections",
    ]);
    expect(Number(om.resource_monitors[0].typed_config.max_heap_size_bytes)).toBeGreaterThanOrEqual(64 * 2 ** 20);
    expect(Number(om.resource_monitors[1].typed_config.max_active_downstream_connections)).toBeGreaterThanOrEqual(256);
    expect(om.actions.map((a: Json) => [a.name, a.triggers[0].threshold.value])).toEqual([
      ["envoy.overload_actions.shrink_heap", 0.95],
      ["envoy.overload_actions.stop_accepting_requests", 0.98],
    ]);
  });

  it("refuse a header with an underscore in its name (x_jwt_sub) with 400; the upstream sees nothing", async () => {
    const ok = await request(url("/public/ok"), { headers: { "x-test": "underscore-before" } });
    expect(ok.status, "the route itself serves").toBe(200);
    const r = await request(url("/public/who"), { headers: { x_jwt_sub: "admin" } });
    expect(r.status).toBe(400);
    expect(seen("/public/who")).toEqual([]);
  });

  it("redirect /public/..%2Fapi/profile to /api/profile, which is routed like any other path; the upstream sees nothing", async () => {
    const r = await request(url("/public/..%2Fapi/profile"));
    expect(r.status).toBe(307);
    expect(r.header("location")).toBe("/api/profile");
    expect(seen("profile"), "the escaped path never reached the upstream").toEqual([]);
    // The client following the redirect gets the /api/ route (and whatever guards it).
    const followed = await request(url(r.header("location")!));
    expect(followed.status).toBe(200);
    expect(parseEcho(followed.body).path).toBe("/api/profile");
  });

  it("refuse request headers past 60 KiB with 431, and take them below", async () => {
    const big = await request(url("/public/big"), { headers: { "x-big": "a".repeat(61 * 1024) } });
    expect(big.status).toBe(431);
    expect(seen("/public/big")).toEqual([]);
    // 12 KiB: below the echo upstream's own limit (Node's 16 KiB), so a 431 here would be Envoy's.
    const fits = await request(url("/public/fits"), { headers: { "x-big": "a".repeat(12 * 1024) } });
    expect(fits.status).toBe(200);
    expect(seen("/public/fits")).toHaveLength(1);
  });
});

describe("a listener edit relaxing them", () => {
  beforeAll(async () => {
    await save(
      config(
        [
          "    headers_with_underscores_action: allow",
          "    path_with_escaped_slashes_action: keep_unchanged",
          "    max_request_headers_kb: 8",
          "    request_headers_timeout: 1s",
          "",
        ].join("\n"),
      ),
    );
  }, 30_000);

  it("is in the config dump (ALLOW, the proto's zero value, is not written out there)", async () => {
    const listener = byType(await configDump(), "ListenersConfigDump").dynamic_listeners.find((l: Json) => l.name === "public").active_state
      .listener;
    expect(listener.filter_chains[0].filters[0].typed_config).toMatchObject({
      path_with_escaped_slashes_action: "KEEP_UNCHANGED",
      max_request_headers_kb: 8,
      request_headers_timeout: "1s",
    });
    expect(listener.filter_chains[0].filters[0].typed_config.common_http_protocol_options).not.toHaveProperty(
      "headers_with_underscores_action",
    );
  });

  it("allow: the underscore header reaches the upstream as sent", async () => {
    const r = await request(url("/public/who-allowed"), { headers: { x_jwt_sub: "admin" } });
    expect(r.status).toBe(200);
    expect(echoedHeader(parseEcho(r.body), "x_jwt_sub")).toEqual(["admin"]);
  });

  it("keep_unchanged: the escaped path is routed by /public/ and reaches the upstream unchanged", async () => {
    const r = await request(url("/public/..%2Fapi/profile"));
    expect(r.status).toBe(200);
    expect(parseEcho(r.body).path).toBe("/public/..%2Fapi/profile");
  });

  it("max_request_headers_kb: 8 refuses the 12 KiB headers the default took", async () => {
    const r = await request(url("/public/fits-no-more"), { headers: { "x-big": "a".repeat(12 * 1024) } });
    expect(r.status).toBe(431);
    expect(seen("/public/fits-no-more")).toEqual([]);
  });

  it("request_headers_timeout: 1s answers 408 and closes a connection whose headers never end", async () => {
    const socket = netConnect(port, "127.0.0.1");
    let answeredAt = 0;
    let closed = false;
    let received = "";
    socket.on("data", (d) => {
      answeredAt ||= Date.now();
      received += d.toString("latin1");
    });
    socket.on("close", () => {
      closed = true;
    });
    socket.on("error", () => {}); // a reset ends it too
    await new Promise<void>((r) => socket.once("connect", () => r()));
    const sentAt = Date.now();
    // A request line and one header, and never the blank line that ends the headers.
    socket.write(`GET /public/slow HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-slow: 1\r\n`);
    try {
      // Envoy answers when the timeout fires, then waits up to its delayed_close_timeout (1 s)
      // for the client to close before it closes the connection itself.
      await pollUntil(async () => closed, Boolean, { timeoutMs: 8000, intervalMs: 50, what: "Envoy closing the slow client" });
    } finally {
      socket.destroy();
    }
    expect(received.startsWith("HTTP/1.1 408 Request Timeout\r\n"), received).toBe(true);
    expect(received.toLowerCase()).toContain("\r\nconnection: close\r\n");
    expect(received.endsWith("\r\n\r\nrequest header timeout"), received).toBe(true);
    const after = answeredAt - sentAt;
    expect(after, "not before the timeout").toBeGreaterThanOrEqual(900);
    expect(after, "well before the 10 s default").toBeLessThan(4000);
    expect(seen("/public/slow")).toEqual([]);
  });
});
