// Prometheus metrics of the control plane (GET /metrics on its HTTP port): one registry per
// ControlPlane (no global default registry, so two in one process, as in tests, do not clash).
// The names are part of the user interface (dashboards, alerts): docs/observability.md lists
// them, and a unit test holds the Grafana dashboard to that list. Rename nothing lightly.
import { performance } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { ANY_NODE, type SnapshotCache } from "./xds/cache.js";
import type { NodeStatus, XdsServerEvents } from "./xds/server.js";
import { PUSH_ORDER, isEnvoyNode, shortTypeName, type TypeUrlValue } from "./xds/types.js";

export interface ControlPlaneMetrics {
  registry: Registry;
  configApplied: Counter<"kind">;
  configRejected: Counter;
  /** Counts one request to the HTTP port; `route` is the route's template ("/routes/{name}"), never the raw URL. */
  observeAdminRequest(method: string, route: string, status: number): void;
  /** Detaches from the xDS server and the cache (the registry keeps its last values). */
  close(): void;
}

/** What the metrics read from the xDS server (XdsServer): its events and per-node status. */
export interface MetricsXdsSource {
  on<K extends keyof XdsServerEvents>(event: K, listener: (...args: XdsServerEvents[K]) => void): unknown;
  off<K extends keyof XdsServerEvents>(event: K, listener: (...args: XdsServerEvents[K]) => void): unknown;
  status(): NodeStatus[];
}

export interface MetricsSources {
  /** The snapshot cache: pushes, config version and push latency come from its changes. */
  cache?: SnapshotCache;
  /** Monotonic clock in milliseconds (a test seam; default performance.now). */
  now?: () => number;
}

/** Push latency buckets, seconds: an ACK on a quiet host takes a few ms, a warming cluster up to the 5 s ACK timeout and beyond. */
export const PUSH_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Every metric name this module registers (docs/observability.md documents each). */
export const CONTROL_PLANE_METRIC_NAMES = [
  "portico_xds_acks_total",
  "portico_xds_nacks_total",
  "portico_xds_connected_streams",
  "portico_connected_envoys",
  "portico_config_pushes_total",
  "portico_config_version",
  "portico_xds_push_latency_seconds",
  "portico_config_applied_total",
  "portico_config_rejected_total",
  "portico_admin_requests_total",
] as const;

export function createMetrics(xds: MetricsXdsSource, o: MetricsSources = {}): ControlPlaneMetrics {
  const registry = new Registry();
  const now = o.now ?? (() => performance.now());
  const types = PUSH_ORDER.map(shortTypeName);

  const acks = new Counter({
    name: "portico_xds_acks_total",
    help: "xDS responses Envoys accepted, by resource type",
    labelNames: ["type"],
    registers: [registry],
  });
  const nacks = new Counter({
    name: "portico_xds_nacks_total",
    help: "xDS responses Envoys rejected (they keep the previous config), by resource type",
    labelNames: ["type"],
    registers: [registry],
  });
  const streams = new Gauge({ name: "portico_xds_connected_streams", help: "Open ADS streams from Envoys", registers: [registry] });
  new Gauge({
    name: "portico_connected_envoys",
    help: "Distinct Envoy nodes with at least one open ADS stream",
    registers: [registry],
    collect() {
      // The supervised rate limit service subscribes too (its own config), but is no Envoy.
      this.set(xds.status().filter((n) => n.connectedStreams > 0 && isEnvoyNode(n)).length);
    },
  });
  const pushes = new Counter({
    name: "portico_config_pushes_total",
    help: "Snapshot changes handed to the xDS server (a burst of edits counts once)",
    registers: [registry],
  });
  const version = new Gauge({
    name: "portico_config_version",
    help: "Generation of the config in force: the number of pushes since the control plane started",
    registers: [registry],
  });
  const latency = new Histogram({
    name: "portico_xds_push_latency_seconds",
    help: "From a snapshot change to each connected Envoy's ACK of that type's new version, by resource type",
    labelNames: ["type"],
    buckets: PUSH_LATENCY_BUCKETS,
    registers: [registry],
  });
  const admin = new Counter({
    name: "portico_admin_requests_total",
    help: "Requests to the HTTP port (admin API, /status, /metrics, /modules), by method, route template and response status",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });

  const applied = new Counter({
    name: "portico_config_applied_total",
    help: "Configs accepted and handed to the xDS cache, by kind (full, endpoints, unchanged)",
    labelNames: ["kind"],
    registers: [registry],
  });
  const rejected = new Counter({
    name: "portico_config_rejected_total",
    help: "Configs rejected (validation, translation or snapshot checks); the last good config kept serving",
    registers: [registry],
  });

  // Series that exist from the start read 0 instead of being absent: rate() and alerts on them
  // work before the first NACK.
  for (const type of types) {
    acks.inc({ type }, 0);
    nacks.inc({ type }, 0);
    latency.zero({ type });
  }
  for (const kind of ["full", "endpoints", "unchanged"]) applied.inc({ kind }, 0);

  // Pending pushes, per node and type: the version it is to ACK and when the snapshot changed.
  const pending = new Map<string, { version: string; since: number }>();
  const key = (nodeId: string, t: TypeUrlValue) => `${nodeId}\0${t}`;

  const onAck = (e: { nodeId: string; typeUrl: TypeUrlValue; version: string }) => {
    acks.inc({ type: shortTypeName(e.typeUrl) });
    const k = key(e.nodeId, e.typeUrl);
    const p = pending.get(k);
    // A "+retiring" CDS version is a step on the way; the push ends with the version itself.
    if (p && p.version === e.version) {
      latency.observe({ type: shortTypeName(e.typeUrl) }, (now() - p.since) / 1000);
      pending.delete(k);
    }
  };
  const onNack = (e: { nodeId: string; typeUrl: TypeUrlValue }) => {
    nacks.inc({ type: shortTypeName(e.typeUrl) });
    // A rejected version is never ACKed: not a latency, and not pending any more.
    pending.delete(key(e.nodeId, e.typeUrl));
  };
  const onConnect = () => streams.inc();
  const onDisconnect = (e: { nodeId: string }) => {
    streams.dec();
    // An Envoy that went away stops the clock: its resync after reconnecting is not a push latency.
    if (xds.status().some((n) => n.nodeId === e.nodeId && n.connectedStreams > 0)) return;
    for (const t of PUSH_ORDER) pending.delete(key(e.nodeId, t));
  };
  xds.on("ack", onAck);
  xds.on("nack", onNack);
  xds.on("connect", onConnect);
  xds.on("disconnect", onDisconnect);

  const cache = o.cache;
  const unsubscribe = cache?.onChange((node, changed) => {
    const at = now();
    pushes.inc();
    version.inc();
    const snapshot = cache.get(node);
    if (!snapshot) return;
    // Only Envoys connected now are timed (one that joins later gets its first config, not a
    // push), and only those this snapshot serves ("*" serves every node without its own).
    for (const n of xds.status()) {
      if (n.connectedStreams === 0) continue;
      if (node !== ANY_NODE && n.nodeId !== node) continue;
      const served = cache.get(n.nodeId);
      for (const t of changed) {
        const v = snapshot.types[t].version;
        if (served?.types[t].version === v) pending.set(key(n.nodeId, t), { version: v, since: at });
      }
    }
  });

  return {
    registry,
    configApplied: applied,
    configRejected: rejected,
    observeAdminRequest: (method, route, status) => admin.inc({ method: method.toUpperCase(), route, status: String(status) }),
    close: () => {
      unsubscribe?.();
      xds.off("ack", onAck);
      xds.off("nack", onNack);
      xds.off("connect", onConnect);
      xds.off("disconnect", onDisconnect);
      pending.clear();
    },
  };
}
