// The control plane's Prometheus metrics follow the xDS server's events.
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../../src/metrics.js";
import { silentLog } from "../../../src/log.js";
import { SnapshotCache } from "../../../src/xds/cache.js";
import { XdsServer } from "../../../src/xds/server.js";
import { TypeUrl } from "../../../src/xds/types.js";

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
});
