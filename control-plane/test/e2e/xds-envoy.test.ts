// The xDS server feeding a real Envoy 1.40 over ADS: the initial config serves traffic, a route
// change is served, and a config Envoy rejects (NACK) shows in status() while traffic keeps
// flowing on the previous config.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parseEcho, request, useEchoUpstream, useEnvoy, type EchoUpstream, type Envoy } from "../../../test/support/index.js";
import { renderBootstrap } from "../../src/envoy/bootstrap.js";
import { machineOverloadLimits } from "../../src/envoy/overload.js";
import type { LogFn } from "../../src/log.js";
import { SnapshotCache } from "../../src/xds/cache.js";
import { XdsServer, type NackEvent } from "../../src/xds/server.js";
import { TypeUrl } from "../../src/xds/types.js";
import { basicSet, edsCluster, endpoints, rdsListener, resourceSet, routeConfig, type RouteSpec } from "../unit/xds/fixtures.js";

const NODE = "e2e-envoy";
const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");
let e: Envoy;
let up: EchoUpstream;
let cache: SnapshotCache;
let server: XdsServer;
const nacks: NackEvent[] = [];
const logs: string[] = [];

const snapshot = (routes: RouteSpec[]) => basicSet(up.port, routes);

/** What path the upstream saw for a request to `path` through Envoy. */
async function upstreamPath(path: string): Promise<string> {
  const res = await request(e.url(path, "public"));
  expect(res.status, res.body).toBe(200);
  return parseEcho(res.body).path;
}

beforeAll(async () => {
  up = await upstream();
  cache = new SnapshotCache();
  const log: LogFn = (level, msg, fields) => {
    const line = `${level} ${msg} ${JSON.stringify(fields ?? {})}`;
    logs.push(line);
    if (process.env.PORTICO_XDS_DEBUG === "1") console.log(line); // the server's side of a failing run
  };
  server = new XdsServer({ cache, log });
  server.on("nack", (n) => nacks.push(n));
  const port = await server.listen("127.0.0.1", 0);
  cache.set("*", snapshot([{ prefix: "/" }]));
  e = await envoy({
    name: "xds",
    config: renderBootstrap({
      nodeId: NODE,
      nodeCluster: "e2e",
      xds: { host: "127.0.0.1", port },
      admin: { address: "127.0.0.1", port: 0 },
      overload: machineOverloadLimits(),
    }),
  });
});

afterAll(async () => {
  await server?.stop();
});

describe("ADS to a real Envoy", () => {
  it("serves the initial snapshot: EDS cluster, listener with RDS, route", async () => {
    expect(await upstreamPath("/hello")).toBe("/hello");
    const [status] = server.status();
    expect(status).toMatchObject({ nodeId: NODE, cluster: "e2e", connectedStreams: 1 });
    for (const t of [TypeUrl.Cluster, TypeUrl.Endpoints, TypeUrl.Listener, TypeUrl.Route]) {
      const version = cache.get(NODE)!.types[t].version;
      expect(status!.types[t], t).toMatchObject({ versionSent: version, versionAcked: version, lastNack: null });
    }
    expect(status!.userAgent).toMatch(/^envoy/);
  });

  it("serves a changed route (a prefix rewrite)", async () => {
    const changed = cache.set("*", snapshot([{ prefix: "/api/", prefixRewrite: "/v2/" }, { prefix: "/" }]));
    expect(changed).toEqual([TypeUrl.Route]);
    expect(
      await vi.waitFor(
        async () => {
          const path = await upstreamPath("/api/items");
          expect(path).toBe("/v2/items");
          return path;
        },
        { timeout: 10_000 },
      ),
    ).toBe("/v2/items");
    expect(await upstreamPath("/other")).toBe("/other");
    const acked = await vi.waitFor(
      async () => {
        const rds = server.status()[0]!.types[TypeUrl.Route]!;
        expect(rds.versionAcked).toBe(cache.get(NODE)!.types[TypeUrl.Route].version);
        return rds;
      },
      { timeout: 10_000 },
    );
    expect(acked.lastNack).toBeNull();
  });

  it("adds a cluster and a route to it at once, then removes both, without a single failed request", async () => {
    const b = await upstream();
    cache.set(
      "*",
      resourceSet({
        clusters: [edsCluster("upstream"), edsCluster("b")],
        endpoints: [endpoints("upstream", up.port), endpoints("b", b.port)],
        listeners: [rdsListener("public")],
        routes: [routeConfig("public", [{ prefix: "/b/", cluster: "b" }, { prefix: "/api/", prefixRewrite: "/v2/" }, { prefix: "/" }])],
      }),
    );
    // Until the route arrives, /b/ goes to the first upstream; after, to "b". Were the route sent
    // before b's endpoints were ACKed, requests would meet a warming cluster and get a 503.
    const statuses = new Set<number>();
    const deadline = Date.now() + 10_000;
    while (b.requests.length === 0 && Date.now() < deadline) {
      statuses.add((await request(e.url("/b/x", "public"))).status);
    }
    expect(b.requests.map((r) => r.path)).toEqual(["/b/x"]);
    expect([...statuses]).toEqual([200]);

    // And back: the cluster and its route go at once. The cluster must outlive the route.
    cache.set("*", snapshot([{ prefix: "/api/", prefixRewrite: "/v2/" }, { prefix: "/" }]));
    const seenBefore = up.requests.length;
    statuses.clear();
    const removalDeadline = Date.now() + 10_000;
    while (up.requests.slice(seenBefore).every((r) => r.path !== "/b/y") && Date.now() < removalDeadline) {
      statuses.add((await request(e.url("/b/y", "public"))).status);
    }
    expect(up.requests.slice(seenBefore).map((r) => r.path)).toContain("/b/y");
    expect([...statuses]).toEqual([200]);
    await vi.waitFor(
      async () => expect(server.status()[0]!.types[TypeUrl.Cluster]!.versionAcked).toBe(cache.get(NODE)!.types[TypeUrl.Cluster].version),
      { timeout: 10_000 },
    );
    const clusters = JSON.parse((await e.admin("/config_dump?resource=dynamic_active_clusters")).body) as {
      configs: { cluster: { name: string } }[];
    };
    expect(clusters.configs.map((c) => c.cluster.name)).toEqual(["upstream"]);
  });

  it("records Envoy's NACK of a regex RE2 rejects, while traffic flows on the previous route", async () => {
    const good = cache.get(NODE)!.types[TypeUrl.Route].version;
    cache.set("*", snapshot([{ regex: "(?=x)" }, { prefix: "/api/", prefixRewrite: "/v2/" }, { prefix: "/" }]));
    const bad = cache.get(NODE)!.types[TypeUrl.Route].version;
    expect(bad).not.toBe(good);

    const rds = await vi.waitFor(
      async () => {
        const s = server.status()[0]!.types[TypeUrl.Route]!;
        expect(s.lastNack?.version).toBe(bad);
        return s;
      },
      { timeout: 10_000 },
    );
    expect(rds.versionSent).toBe(bad);
    expect(rds.versionAcked).toBe(good);
    expect(rds.lastNack!.message).toContain("invalid perl operator: (?="); // RE2 has no lookahead
    expect(nacks.map((n) => [n.nodeId, n.typeUrl, n.version])).toEqual([[NODE, TypeUrl.Route, bad]]);
    expect(logs.some((l) => l.startsWith("warn") && l.includes("NACK"))).toBe(true);

    // Envoy kept the last good config: the rewrite still applies.
    expect(await upstreamPath("/api/items")).toBe("/v2/items");
    const dump = JSON.parse((await e.admin("/config_dump?resource=dynamic_route_configs")).body) as { configs: { version_info: string }[] };
    expect(dump.configs.map((c) => c.version_info)).toEqual([good]);
  });
});
