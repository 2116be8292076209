// The control plane's Prometheus metrics follow the xDS server's events and the cache's changes.
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { CONTROL_PLANE_METRIC_NAMES, createMetrics } from "../../../src/metrics.js";
import { silentLog } from "../../../src/log.js";
import { SnapshotCache } from "../../../src/xds/cache.js";
import { XdsServer, type NodeStatus, type XdsServerEvents } from "../../../src/xds/server.js";
import { TypeUrl } from "../../../src/xds/types.js";
import { basicSet } from "../xds/fixtures.js";

/** An xDS server stand-in whose node list the test sets: the metrics read status() and events only. */
class FakeXds extends EventEmitter<XdsServerEvents> {
  nodes: NodeStatus[] = [];
  status(): NodeStatus[] {
    return this.nodes;
  }
  connect(nodeId: string, streams = 1): void {
    this.nodes = [
      ...this.nodes.filter((n) => n.nodeId !== nodeId),
      {
        nodeId,
        cluster: "c",
        userAgent: "envoy",
        connectedStreams: streams,
        connectedSince: streams ? new Date(0).toISOString() : null,
        types: {},
      },
    ];
    if (streams) this.emit("connect", { nodeId, stream: 1, cluster: "c", userAgent: "envoy" });
    else this.emit("disconnect", { nodeId, stream: 1, reason: "closed" });
  }
  ack(nodeId: string, typeUrl: (typeof TypeUrl)[keyof typeof TypeUrl], version: string): void {
    this.emit("ack", { nodeId, stream: 1, typeUrl, version });
  }
}

/** A sample's value from the exposition text, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("control-plane metrics", () => {
  it("count ACKs and NACKs by type and track connected streams", async () => {
    const xds = new XdsServer({ cache: new SnapshotCache(), log: silentLog });
    const m = createMetrics(xds);
    xds.emit("connect", { nodeId: "n", stream: 1, cluster: "c", userAgent: "envoy" });
    xds.emit("ack", { nodeId: "n", stream: 1, typeUrl: TypeUrl.Route, version: "1-a" });
    xds.emit("nack", { nodeId: "n", stream: 1, typeUrl: TypeUrl.Listener, version: "2-b", message: "bad" });
    xds.emit("nack", { nodeId: "n", stream: 1, typeUrl: TypeUrl.Listener, version: "3-c", message: "bad" });
    m.configRejected.inc();
    const text = await m.registry.metrics();
    expect(text).toContain('portico_xds_acks_total{type="RouteConfiguration"} 1');
    expect(text).toContain('portico_xds_nacks_total{type="Listener"} 2');
    expect(text).toContain("portico_xds_connected_streams 1");
    expect(text).toContain("portico_config_rejected_total 1");
    xds.emit("disconnect", { nodeId: "n", stream: 1, reason: "closed" });
    expect(await m.registry.metrics()).toContain("portico_xds_connected_streams 0");
  });

  it("exports every NACK and ACK series at 0 before the first event, so rates and alerts work from the start", async () => {
    const text = await createMetrics(new FakeXds()).registry.metrics();
    for (const t of ["Secret", "TypedExtensionConfig", "Cluster", "ClusterLoadAssignment", "Listener", "RouteConfiguration"]) {
      expect(sample(text, `portico_xds_nacks_total{type="${t}"}`), t).toBe(0);
      expect(sample(text, `portico_xds_acks_total{type="${t}"}`), t).toBe(0);
    }
  });

  it("counts distinct connected Envoys, not streams", async () => {
    const xds = new FakeXds();
    const m = createMetrics(xds);
    xds.connect("a", 2);
    xds.connect("b", 1);
    let text = await m.registry.metrics();
    expect(sample(text, "portico_connected_envoys")).toBe(2);
    xds.connect("b", 0); // b's last stream closed
    text = await m.registry.metrics();
    expect(sample(text, "portico_connected_envoys")).toBe(1);
  });

  it("counts pushes and the config version from the cache's changes; an unchanged set is no push", async () => {
    const cache = new SnapshotCache();
    const m = createMetrics(new FakeXds(), { cache });
    cache.set("*", basicSet(9001));
    cache.set("*", basicSet(9001)); // same content
    cache.set("*", basicSet(9002)); // endpoints only
    const text = await m.registry.metrics();
    expect(sample(text, "portico_config_pushes_total")).toBe(2);
    expect(sample(text, "portico_config_version")).toBe(2);
  });

  it("times each connected Envoy's ACK of the version a change produced, per type", async () => {
    const cache = new SnapshotCache();
    const xds = new FakeXds();
    let clock = 1_000;
    const m = createMetrics(xds, { cache, now: () => clock });
    xds.connect("a");
    xds.connect("b");
    cache.set("*", basicSet(9001));
    const eds = cache.get("*")!.types[TypeUrl.Endpoints].version;
    const cds = cache.get("*")!.types[TypeUrl.Cluster].version;
    clock += 3; // a ACKs EDS after 3 ms
    xds.ack("a", TypeUrl.Endpoints, eds);
    clock += 700; // b after 703 ms
    xds.ack("b", TypeUrl.Endpoints, eds);
    xds.ack("b", TypeUrl.Endpoints, eds); // a repeated ACK is not a second push
    xds.ack("a", TypeUrl.Cluster, `${cds}+retiring`); // a step on the way, not the end of the push
    let text = await m.registry.metrics();
    const eb = (le: string) => sample(text, `portico_xds_push_latency_seconds_bucket{le="${le}",type="ClusterLoadAssignment"}`);
    expect(sample(text, 'portico_xds_push_latency_seconds_count{type="ClusterLoadAssignment"}')).toBe(2);
    expect(eb("0.0025")).toBe(0);
    expect(eb("0.005")).toBe(1);
    expect(eb("0.5")).toBe(1);
    expect(eb("1")).toBe(2);
    expect(sample(text, 'portico_xds_push_latency_seconds_sum{type="ClusterLoadAssignment"}')).toBeCloseTo(0.706, 6);
    expect(sample(text, 'portico_xds_push_latency_seconds_count{type="Cluster"}')).toBe(0);
    clock += 1_000;
    xds.ack("a", TypeUrl.Cluster, cds);
    text = await m.registry.metrics();
    expect(sample(text, 'portico_xds_push_latency_seconds_count{type="Cluster"}')).toBe(1);
    expect(sample(text, 'portico_xds_push_latency_seconds_sum{type="Cluster"}')).toBeCloseTo(1.703, 6);
  });

  it("does not time Envoys that joined after the change, left before their ACK, or rejected it", async () => {
    const cache = new SnapshotCache();
    const xds = new FakeXds();
    let clock = 0;
    const m = createMetrics(xds, { cache, now: () => clock });
    xds.connect("leaves");
    xds.connect("rejects");
    cache.set("*", basicSet(9001));
    const v = cache.get("*")!.types[TypeUrl.Endpoints].version;
    xds.connect("late");
    xds.connect("leaves", 0);
    xds.emit("nack", { nodeId: "rejects", stream: 1, typeUrl: TypeUrl.Endpoints, version: v, message: "no" });
    clock += 60_000;
    xds.connect("leaves");
    for (const n of ["late", "leaves", "rejects"]) xds.ack(n, TypeUrl.Endpoints, v);
    const text = await m.registry.metrics();
    expect(sample(text, 'portico_xds_push_latency_seconds_count{type="ClusterLoadAssignment"}')).toBe(0);
  });

  it("a node with its own snapshot is timed against it, not against the shared one", async () => {
    const cache = new SnapshotCache();
    const xds = new FakeXds();
    let clock = 0;
    const m = createMetrics(xds, { cache, now: () => clock });
    xds.connect("own");
    xds.connect("shared");
    cache.set("own", basicSet(7000));
    cache.set("*", basicSet(9001)); // "own" is not served this one
    const shared = cache.get("*")!.types[TypeUrl.Endpoints].version;
    clock += 10;
    xds.ack("own", TypeUrl.Endpoints, shared); // not what it was sent: no measurement
    xds.ack("shared", TypeUrl.Endpoints, shared);
    const count = async () => sample(await m.registry.metrics(), 'portico_xds_push_latency_seconds_count{type="ClusterLoadAssignment"}');
    expect(await count()).toBe(1);
    xds.ack("own", TypeUrl.Endpoints, cache.get("own")!.types[TypeUrl.Endpoints].version);
    expect(await count()).toBe(2);
  });

  it("counts admin API requests by method, route pattern and status", async () => {
    const m = createMetrics(new FakeXds());
    m.observeAdminRequest("get", "/routes/{name}", 200);
    m.observeAdminRequest("GET", "/routes/{name}", 200);
    m.observeAdminRequest("PUT", "/routes/{name}", 400);
    const text = await m.registry.metrics();
    expect(sample(text, 'portico_admin_requests_total{method="GET",route="/routes/{name}",status="200"}')).toBe(2);
    expect(sample(text, 'portico_admin_requests_total{method="PUT",route="/routes/{name}",status="400"}')).toBe(1);
  });

  it("registers exactly the documented names, and close() detaches from the sources", async () => {
    const cache = new SnapshotCache();
    const xds = new FakeXds();
    const m = createMetrics(xds, { cache });
    const names = (await m.registry.getMetricsAsJSON()).map((x) => x.name).sort();
    expect(names).toEqual([...CONTROL_PLANE_METRIC_NAMES].sort());
    m.close();
    cache.set("*", basicSet(9001));
    xds.ack("a", TypeUrl.Route, "1-x");
    const text = await m.registry.metrics();
    expect(sample(text, "portico_config_pushes_total")).toBe(0);
    expect(sample(text, 'portico_xds_acks_total{type="RouteConfiguration"}')).toBe(0);
    expect(xds.listenerCount("ack")).toBe(0);
  });
});
