// Which saved edits drain an Envoy listener (docs/control-plane.md "What reaches Envoy, and what
// does not drain"): adding a plugin name and changing the access log change the listener, so
// Envoy replaces it and closes the connections open on the old one; a plugin config edit and an
// endpoint move do not touch the listener, and an open keep-alive connection keeps serving.
// One control plane, one real Envoy started with a short --drain-time-s, so a drained connection
// is closed within seconds (Envoy's default is 600 s).
// Last, an access-log edit the loader passes but Envoy refuses: the NACK reaches /status, /metrics and
// the log, Envoy serves on with the last good listener, and the fix is ACKed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pollUntil, useEchoUpstream, useEnvoy, type EchoUpstream, type Envoy } from "../../../test/support/index.js";
import { nextOutcome, startGatewayOnFreshPort, waitSynced, type TestGateway } from "../support/gateway.js";
import { ANY_NODE } from "../../src/xds/cache.js";
import type { NodeStatus } from "../../src/xds/server.js";
import { TypeUrl } from "../../src/xds/types.js";
import { type KeepAliveResponse, openKeepAlive } from "../support/keep-alive.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");
const DRAIN_TIME_S = 1;
const logDir = mkdtempSync(join(tmpdir(), "portico-drains-"));

let gw: TestGateway;
let envoy: Envoy;
let port: number;
let upA: EchoUpstream;
let upB: EchoUpstream;

interface Knobs {
  stamp?: string;
  /** Upstream "a" served by upB instead of upA (an EDS-only edit). */
  moved?: boolean;
  /** A second plugin name, attached to route a. */
  tag?: boolean;
  /** A field added to the access log. */
  logField?: string;
}

function config(k: Knobs = {}): string {
  return `
listeners:
  - name: public
    address: 127.0.0.1
    port: ${port}
    access_log:
      path: ${join(logDir, "access.log")}
${k.logField ? `      fields: { extra: "${k.logField}" }\n` : ""}routes:
  - name: a
    match: { path: { prefix: /a/ } }
    upstream: a
    plugins: [stamp${k.tag ? ", tag" : ""}]
upstreams:
  - name: a
    endpoints: ["127.0.0.1:${k.moved ? upB.port : upA.port}"]
plugins:
  - name: stamp
    filter: header-rewrite
    config:
      rules:
        - name: stamp
          response: { set: { x-stamp: "${k.stamp ?? "v0"}" } }
${
  k.tag
    ? `  - name: tag
    filter: header-rewrite
    config:
      rules:
        - name: tag
          response: { set: { x-tag: "on" } }
`
    : ""
}`;
}

const openConn = () => openKeepAlive(port);

const drainStats = async () => {
  const s = await envoy.stats("listener_manager\\.");
  return {
    modified: s.get("listener_manager.listener_modified") ?? 0,
    draining: s.get("listener_manager.total_filter_chains_draining") ?? 0,
  };
};

/** Saves the file and waits until Envoy ACKed what it produced. */
async function save(k: Knobs): Promise<void> {
  const before = gw.cp.source.last;
  gw.write(config(k));
  const outcome = await nextOutcome(gw.cp, before);
  expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
  await waitSynced(gw.cp, "envoy-1", { failOnNack: true });
}

beforeAll(async () => {
  [upA, upB] = await Promise.all([echo(), echo()]);
  ({
    gw,
    envoys: [envoy],
  } = await startGatewayOnFreshPort({
    yaml: (p) => {
      port = p;
      return config();
    },
    nodes: [{ id: "envoy-1", opts: { extraArgs: ["--drain-time-s", String(DRAIN_TIME_S)] } }],
    start: envoys,
  }));
}, 90_000);

afterAll(async () => {
  await gw?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

describe("edits that do not touch the listener", () => {
  it("a plugin config edit and an endpoint move apply with the listener unmodified and an open connection serving on", async () => {
    const conn = openConn();
    try {
      expect((await conn.get("/a/x")).headers["x-stamp"]).toBe("v0");
      const before = await drainStats();

      // (c) a plugin's config: ECDS only.
      await save({ stamp: "v1" });
      const r1 = await conn.get("/a/x");
      expect(r1.headers["x-stamp"], "the new plugin config is in force").toBe("v1");
      expect(r1.reused, "served over the connection opened before the edit").toBe(true);

      // (d) an endpoint move: EDS only.
      const servedByB = upB.requests.length;
      await save({ stamp: "v1", moved: true });
      const r2 = await conn.get("/a/x");
      expect(r2.status).toBe(200);
      expect(upB.requests.length, "the request went to the moved endpoint").toBe(servedByB + 1);
      expect(r2.reused).toBe(true);

      expect(await drainStats(), "listener_modified and total_filter_chains_draining unchanged").toEqual(before);
      expect(conn.closed()).toBe(false);
    } finally {
      conn.close();
    }
  });
});

describe("edits that change the listener drain it", () => {
  async function expectDrains(k: Knobs, applied: (r: KeepAliveResponse) => void): Promise<void> {
    const conn = openConn();
    try {
      expect((await conn.get("/a/x")).status).toBe(200);
      const before = await drainStats();
      await save(k);
      const after = await drainStats();
      expect(after.modified, "listener_manager.listener_modified").toBe(before.modified + 1);
      // The old listener's filter chains drain for --drain-time-s, then its connections are closed.
      await pollUntil(async () => conn.closed(), Boolean, {
        timeoutMs: (DRAIN_TIME_S + 10) * 1000,
        intervalMs: 50,
        what: "the keep-alive connection opened before the edit closed by Envoy",
      });
    } finally {
      conn.close();
    }
    // A new connection gets the new listener.
    const fresh = openConn();
    try {
      applied(await fresh.get("/a/x"));
    } finally {
      fresh.close();
    }
  }

  it("(a) adding a plugin name modifies the listener and closes a connection opened before it", async () => {
    await expectDrains({ stamp: "v1", moved: true, tag: true }, (r) => expect(r.headers["x-tag"]).toBe("on"));
  });

  it("(b) changing the access log modifies the listener and closes a connection opened before it", async () => {
    await expectDrains({ stamp: "v1", moved: true, tag: true, logField: "%REQ(X-TENANT)%" }, (r) => expect(r.status).toBe(200));
  });
});

describe("a config Envoy refuses", () => {
  const last = { stamp: "v1", moved: true, tag: true } satisfies Knobs;
  const cpGet = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${gw.cp.httpPort}${path}`);
    expect(r.status).toBe(200);
    return r;
  };
  const listenerStatus = async () => {
    const s = (await (await cpGet("/status")).json()) as { envoys: NodeStatus[] };
    return s.envoys.find((n) => n.nodeId === "envoy-1")?.types[TypeUrl.Listener];
  };
  const listenerNacks = async () => {
    const m = /^portico_xds_nacks_total\{type="Listener"\} (\d+)$/m.exec(await (await cpGet("/metrics")).text());
    return m ? Number(m[1]) : 0;
  };
  const wantedListenerVersion = () => gw.cp.cache.get(ANY_NODE)?.types[TypeUrl.Listener]?.version;

  it("is NACKed, shown in /status, counted in portico_xds_nacks_total and logged; Envoy serves on; a fix is ACKed", async () => {
    // The loader checks the grammar of access-log operators, not their names: a misspelt name
    // passes it, and only Envoy refuses it.
    // Where (b) left the file: the last good config.
    await waitSynced(gw.cp, "envoy-1", { failOnNack: true });
    const good = await listenerStatus();
    const nacksBefore = await listenerNacks();
    const drainBefore = await drainStats();

    const before = gw.cp.source.last;
    gw.write(config({ ...last, logField: "%REQ_HEADR(x)%" }));
    const outcome = await nextOutcome(gw.cp, before);
    expect(outcome.ok, "the loader passes the misspelt operator").toBe(true);
    const bad = wantedListenerVersion();
    expect(bad).not.toBe(good?.versionAcked);

    const nacked = await pollUntil(listenerStatus, (s) => s?.lastNack?.version === bad, {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: "the Listener NACK in /status",
    });
    expect(nacked?.lastNack?.message, "Envoy's own message").toMatch(/REQ_HEADR/);
    expect(nacked?.versionAcked, "Envoy keeps the last good listener").toBe(good?.versionAcked);
    expect(await listenerNacks(), 'portico_xds_nacks_total{type="Listener"}').toBe(nacksBefore + 1);
    expect(gw.logs.some((l) => l.startsWith("warn Envoy rejected a config (NACK)") && l.includes("REQ_HEADR"))).toBe(true);

    // Traffic flows on the old config, and the refused listener did not replace (drain) the old one.
    const conn = openConn();
    try {
      const r = await conn.get("/a/x");
      expect(r.status).toBe(200);
      expect(r.headers["x-stamp"]).toBe("v1");
      expect(r.headers["x-tag"]).toBe("on");
    } finally {
      conn.close();
    }
    expect((await drainStats()).modified).toBe(drainBefore.modified);

    // The fix is ACKed and in force.
    await save({ ...last, logField: "%REQ(X-USER)%" });
    const fixed = await listenerStatus();
    expect(fixed?.versionAcked).toBe(wantedListenerVersion());
    expect(fixed?.versionAcked).not.toBe(good?.versionAcked);
    expect((await drainStats()).modified).toBe(drainBefore.modified + 1);
  });
});
