// Consumers, ACLs and the identity-header strip end to end (#15, docs/consumers.md): `filter: acl`
// is Envoy's RBAC on the identity an auth filter leaves in filter state, and every listener of a
// gateway with consumers removes client-sent x-consumer-* headers first. The auth filter here is
// a TEST-ONLY stand-in module (test/support/identity-stand-in.ts) that copies x-test-* headers
// into that filter state; the end-to-end test with the real key-auth filter comes with it.
// Checked through a real Envoy: allow by group and by name (no consumer: refused), deny by name
// and by JWT claim value (deny wins), an exact group test (`gold` is not `golden`), spoofed
// identity headers never reaching the upstream (every spelling), and a new consumer applied on
// an open connection without a drain.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
} from "../../../test/support/index.js";
import { ANY_NODE } from "../../src/xds/cache.js";
import { TypeUrl } from "../../src/xds/types.js";
import { nextOutcome, startGatewayOnFreshPort, waitSynced, type TestGateway } from "../support/gateway.js";
import { writeIdentityStandIn } from "../support/identity-stand-in.js";
import { openKeepAlive } from "../support/keep-alive.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");
const DRAIN_TIME_S = 1;

let dir: string;
let gw: TestGateway;
let envoy: Envoy;
let port: number;
/** A listener with headers_with_underscores_action: allow. */
let lenientPort: number;
let up: EchoUpstream;

function config(extraConsumer = ""): string {
  return `
listeners:
  - { name: edge, address: 127.0.0.1, port: ${port} }
  - { name: lenient, address: 127.0.0.1, port: ${lenientPort}, headers_with_underscores_action: allow }
routes:
  - { name: gold, match: { path: { prefix: /gold/ } }, upstream: echo, plugins: [identify, gold-only] }
  - { name: admin, match: { path: { prefix: /admin/ } }, upstream: echo, plugins: [identify, no-banned] }
  - { name: plain, match: { path: { prefix: /plain/ } }, upstream: echo }
upstreams:
  - name: echo
    endpoints: ["127.0.0.1:${up.port}"]
consumers:
  - { name: alice, groups: [gold, beta] }
  - { name: bob, groups: [free] }
  - { name: mallory, groups: [free] }
${extraConsumer}
plugins:
  - name: identify
    module: ./identity-stand-in.wasm
  - name: gold-only
    filter: acl
    config: { allow: { groups: [gold], consumers: [bob] } }
  - name: no-banned
    filter: acl
    config: { deny: { consumers: [mallory], claims: { role: [banned] } } }
`;
}

/** A request as the stand-in auth filter identifies it: consumer name, groups (",gold,"), role claim. */
function as(path: string, who: { consumer?: string; groups?: string; role?: string } = {}, extra: Record<string, string> = {}, p = port) {
  const headers: Record<string, string> = { ...extra };
  if (who.consumer) headers["x-test-consumer"] = who.consumer;
  if (who.groups) headers["x-test-groups"] = who.groups;
  if (who.role) headers["x-test-role"] = who.role;
  return request(`http://127.0.0.1:${p}${path}`, { headers, timeoutMs: 10_000 });
}

async function upstreamRequestsDuring(act: () => Promise<unknown>): Promise<number> {
  const before = up.requests.length;
  await act();
  return up.requests.length - before;
}

beforeAll(async () => {
  up = await echo();
  dir = mkdtempSync(join(tmpdir(), "portico-consumers-e2e-"));
  writeIdentityStandIn(join(dir, "identity-stand-in.wasm"));
  // The second listener's port, one per start attempt (startGatewayOnFreshPort may start over).
  const spares = [await freePort(), await freePort(), await freePort()];
  let attempt = 0;
  ({
    gw,
    envoys: [envoy],
  } = await startGatewayOnFreshPort({
    dir,
    yaml: (p) => {
      port = p;
      lenientPort = spares[attempt++ % spares.length]!;
      return config();
    },
    nodes: [{ id: "envoy-consumers", opts: { extraArgs: ["--drain-time-s", String(DRAIN_TIME_S)] } }],
    start: envoys,
  }));
}, 90_000);

afterAll(async () => {
  await gw?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("acl: allow", () => {
  it("admits a consumer in an allowed group or allowed by name; refuses others and requests with no consumer (403, upstream untouched)", async () => {
    expect((await as("/gold/x", { consumer: "alice", groups: ",gold,beta," })).status).toBe(200);
    expect((await as("/gold/x", { consumer: "bob", groups: ",free," })).status, "bob is allowed by name").toBe(200);
    for (const who of [
      { consumer: "carol", groups: ",free," },
      { consumer: "dave", groups: ",golden," },
      { consumer: "eve", groups: "," },
      {},
    ]) {
      let r!: HttpResponse;
      expect(await upstreamRequestsDuring(async () => (r = await as("/gold/x", who))), JSON.stringify(who)).toBe(0);
      expect(r.status, JSON.stringify(who)).toBe(403);
    }
  });

  it("reads the identity from filter state only: identity headers a client sends do not count", async () => {
    const r = await as("/gold/x", {}, { "x-consumer-name": "bob", "x-consumer-groups": "gold" });
    expect(r.status).toBe(403);
  });
});

describe("acl: deny", () => {
  it("refuses a denied consumer and a denied claim value; admits everyone else, with or without a consumer", async () => {
    expect((await as("/admin/x", { consumer: "mallory", groups: ",free," })).status).toBe(403);
    expect((await as("/admin/x", { consumer: "alice", groups: ",gold,", role: ",user,banned," })).status).toBe(403);
    expect((await as("/admin/x", { consumer: "alice", groups: ",gold,", role: ",user," })).status).toBe(200);
    expect((await as("/admin/x", { consumer: "alice", role: ",unbanned," })).status, "a claim value matches whole").toBe(200);
    expect((await as("/admin/x")).status, "no consumer: nothing denies it").toBe(200);
  });
});

describe("identity headers from clients", () => {
  const spoofed = { "x-consumer-name": "admin", "x-consumer-groups": "gold", "x-credential-identifier": "key:admin" };

  it("never reach the upstream, on a route without an auth filter or with one", async () => {
    for (const path of ["/plain/x", "/admin/x"]) {
      const r = await as(path, {}, { ...spoofed, "X-Consumer-Name": "admin2" });
      expect(r.status, path).toBe(200);
      const rec = parseEcho(r.body);
      for (const name of Object.keys(spoofed)) expect(echoedHeader(rec, name), `${path} ${name}`).toEqual([]);
    }
  });

  it("underscore spellings are refused by the listener default (headers_with_underscores_action: reject_request)", async () => {
    let r!: HttpResponse;
    expect(await upstreamRequestsDuring(async () => (r = await as("/plain/x", {}, { x_consumer_name: "admin" })))).toBe(0);
    expect(r.status).toBe(400);
  });

  it("with headers_with_underscores_action: allow, a route without an auth filter passes x_consumer_name on (as documented); x-consumer-name is still removed", async () => {
    const r = await as("/plain/x", {}, { x_consumer_name: "admin", "x-consumer-name": "admin" }, lenientPort);
    expect(r.status).toBe(200);
    const rec = parseEcho(r.body);
    expect(echoedHeader(rec, "x_consumer_name")).toEqual(["admin"]);
    expect(echoedHeader(rec, "x-consumer-name")).toEqual([]);
  });
});

describe("a consumer edit", () => {
  it("applies on an open keep-alive connection: the listener is unchanged and nothing drains", async () => {
    const versionOf = (type: typeof TypeUrl.Listener) => gw.cp.cache.get(ANY_NODE)?.types[type]?.version;
    const drainStats = async () => {
      const s = await envoy.stats("listener_manager\\.");
      return {
        modified: s.get("listener_manager.listener_modified") ?? 0,
        draining: s.get("listener_manager.total_filter_chains_draining") ?? 0,
      };
    };
    const conn = openKeepAlive(port);
    try {
      expect((await conn.get("/gold/x", { "x-test-consumer": "zoe", "x-test-groups": ",gold," })).status).toBe(200);
      const listenerVersion = versionOf(TypeUrl.Listener);
      const drains = await drainStats();
      const before = gw.cp.source.last;
      gw.write(config("  - { name: zoe, groups: [gold] }"));
      const outcome = await nextOutcome(gw.cp, before);
      expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
      await waitSynced(gw.cp, "envoy-consumers", { failOnNack: true });
      const r = await conn.get("/plain/x", { "x-consumer-name": "admin" });
      expect(r.status).toBe(200);
      expect(r.reused, "served over the connection opened before the edit").toBe(true);
      expect(versionOf(TypeUrl.Listener), "the listener resource is unchanged").toBe(listenerVersion);
      expect(await drainStats(), "listener_modified and total_filter_chains_draining unchanged").toEqual(drains);
      expect(conn.closed()).toBe(false);
    } finally {
      conn.close();
    }
  });
});
