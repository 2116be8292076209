// Prometheus metrics of the control plane (GET /metrics on its HTTP port): one registry per
// ControlPlane (no global default registry, so two in one process, as in tests, do not clash).
import { Counter, Gauge, Registry } from "prom-client";
import type { XdsServer } from "./xds/server.js";
import { shortTypeName } from "./xds/types.js";

export interface ControlPlaneMetrics {
  registry: Registry;
  configApplied: Counter<"kind">;
  configRejected: Counter;
}

export function createMetrics(xds: XdsServer): ControlPlaneMetrics {
  const registry = new Registry();
  const acks = new Counter({ name: "portico_xds_acks_total", help: "xDS responses Envoys accepted", labelNames: ["type"], registers: [registry] });
  const nacks = new Counter({ name: "portico_xds_nacks_total", help: "xDS responses Envoys rejected (they keep the previous config)", labelNames: ["type"], registers: [registry] });
  const connected = new Gauge({ name: "portico_xds_connected_streams", help: "Open ADS streams from Envoys", registers: [registry] });
  xds.on("ack", (e) => acks.inc({ type: shortTypeName(e.typeUrl) }));
  xds.on("nack", (e) => nacks.inc({ type: shortTypeName(e.typeUrl) }));
  xds.on("connect", () => connected.inc());
  xds.on("disconnect", () => connected.dec());
  return {
    registry,
    configApplied: new Counter({ name: "portico_config_applied_total", help: "Configs accepted and handed to the xDS cache, by kind (full, endpoints, unchanged)", labelNames: ["kind"], registers: [registry] }),
    configRejected: new Counter({ name: "portico_config_rejected_total", help: "Configs rejected (validation, translation or snapshot checks); the last good config kept serving", registers: [registry] }),
  };
}
