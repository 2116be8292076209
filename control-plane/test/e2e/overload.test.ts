// The bootstrap's global client-connection limit in a real Envoy (docs/gateway-config.md "Envoy
// overload limits"): with --max-downstream-connections 3 (here: the same option, given to the
// bootstrap), three open client connections are served and a fourth is closed without an answer;
// once one closes, a new client is served again. The admin API stays reachable meanwhile
// (ignore_global_conn_limit). This also shows Envoy 1.40 knows the monitor by the name the
// bootstrap gives it: under any other name it would not enforce the limit.
import http from "node:http";
import { connect as netConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onFreshPort, pollUntil, useEchoUpstream, useEnvoy, type EchoUpstream, type Envoy } from "../../../test/support/index.js";
import { renderBootstrap } from "../../src/envoy/bootstrap.js";
import { startTestGateway, waitSynced, type TestGateway } from "../support/gateway.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");
const NODE = "overload-1";
const LIMIT = 3;

let gw: TestGateway;
let envoy: Envoy;
let port: number;
let up: EchoUpstream;

beforeAll(async () => {
  up = await echo();
  ({ gw, envoy, port } = await onFreshPort(async (p) => {
    const g = await startTestGateway({
      yaml: `
listeners: [{ name: public, address: 127.0.0.1, port: ${p} }]
routes: [{ name: all, upstream: app }]
upstreams: [{ name: app, endpoints: ["127.0.0.1:${up.port}"] }]
`,
    });
    try {
      const config = renderBootstrap(
        g.cp.bootstrapOptions({ nodeId: NODE, admin: { address: "127.0.0.1", port: 0 }, overload: { maxDownstreamConnections: LIMIT } }),
      );
      const e = await envoys({ name: NODE, concurrency: 1, readyTimeoutMs: 30_000, config });
      await waitSynced(g.cp, NODE, { failOnNack: true });
      return { gw: g, envoy: e, port: p };
    } catch (err) {
      await g.stop();
      throw err;
    }
  }));
}, 90_000);

afterAll(async () => {
  await gw?.stop();
});

/** A keep-alive client connection that has been served one request. */
async function servedConnection(): Promise<{ agent: http.Agent; status: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const status = await new Promise<number>((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/held", agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      })
      .on("error", reject);
  });
  return { agent, status };
}

/** What a new connection gets for one request: its status line, or "" when closed unanswered. */
function oneRequest(): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect(port, "127.0.0.1");
    let got = "";
    s.on("connect", () => s.write(`GET /probe HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`));
    s.on("data", (d) => {
      got += d.toString("latin1");
    });
    s.on("error", () => {});
    s.on("close", () => resolve(got.split("\r\n")[0] ?? ""));
  });
}

describe("the global downstream connection limit", () => {
  it("closes a connection past the limit unanswered, serves again once one is closed, keeps the admin API reachable", async () => {
    const held = [];
    try {
      for (let i = 0; i < LIMIT; i++) {
        const c = await servedConnection();
        held.push(c);
        expect(c.status).toBe(200);
      }
      const before = up.requests.length;
      expect(await oneRequest(), "a connection past the limit").toBe("");
      expect(up.requests.length).toBe(before);
      expect((await envoy.admin("/ready")).status, "the admin API is outside the limit").toBe(200);
      const overflow = await envoy.stats("downstream_global_cx_overflow");
      expect([...overflow.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);

      held.pop()!.agent.destroy();
      // Envoy notices the close on its next event; a new client is served once it has.
      await pollUntil(oneRequest, (line) => line === "HTTP/1.1 200 OK", { timeoutMs: 5000, intervalMs: 50, what: "a new client served" });
    } finally {
      for (const c of held) c.agent.destroy();
    }
  });
});
