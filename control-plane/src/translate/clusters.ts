// Upstreams -> Envoy Clusters. Static upstreams (IP endpoints) are EDS clusters so an endpoint
// edit is an EDS update alone; upstreams with host names are STRICT_DNS clusters carrying their
// endpoints inline (EDS needs resolved addresses).
import { isIpLiteral } from "../config/syntax.js";
import type { UpstreamModel } from "../model/types.js";
import { ADS_SOURCE, ANY, duration } from "./common.js";
import { loadAssignment } from "./endpoints.js";

const LB_POLICY: Record<UpstreamModel["lb"], string> = {
  round_robin: "ROUND_ROBIN",
  least_request: "LEAST_REQUEST",
  random: "RANDOM",
  ring_hash: "RING_HASH",
  maglev: "MAGLEV",
};

export function cluster(u: UpstreamModel): object {
  return {
    name: u.name,
    connect_timeout: duration(u.connectTimeoutMs),
    lb_policy: LB_POLICY[u.lb],
    ...(u.discovery === "static"
      ? { type: "EDS", eds_cluster_config: { eds_config: ADS_SOURCE } }
      : { type: "STRICT_DNS", dns_lookup_family: "V4_PREFERRED", load_assignment: loadAssignment(u) }),
    ...protocolOptions(u),
    ...(u.healthCheck ? { health_checks: [healthCheck(u)] } : {}),
    ...(u.outlierDetection ? { outlier_detection: outlierDetection(u.outlierDetection) } : {}),
    ...(u.circuitBreakers ? { circuit_breakers: circuitBreakers(u.circuitBreakers) } : {}),
    ...(u.tls ? { transport_socket: upstreamTls(u) } : {}),
  };
}

/** HTTP/2 (and gRPC, which is HTTP/2) upstreams multiplex requests over reused connections. */
function protocolOptions(u: UpstreamModel): object {
  if (u.protocol === "http1") return {};
  return {
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": ANY.httpProtocolOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
}

function healthCheck(u: UpstreamModel): object {
  const h = u.healthCheck!;
  return {
    timeout: duration(h.timeoutMs),
    interval: duration(h.intervalMs),
    // Envoy probes a cluster that has not carried traffic yet every 60s (no_traffic_interval),
    // and keeps a probe timer set that way after traffic starts; the documented `interval` is
    // the time between probes, always.
    no_traffic_interval: duration(h.intervalMs),
    healthy_threshold: h.healthyThreshold,
    unhealthy_threshold: h.unhealthyThreshold,
    http_health_check: {
      path: h.path,
      host: h.host ?? u.name,
      expected_statuses: h.expectedStatuses.map((r) => ({ start: r.start, end: r.end })),
      ...(u.protocol === "http1" ? {} : { codec_client_type: "HTTP2" }),
    },
  };
}

function outlierDetection(o: NonNullable<UpstreamModel["outlierDetection"]>): object {
  return {
    consecutive_5xx: o.consecutive5xx,
    interval: duration(o.intervalMs),
    base_ejection_time: duration(o.baseEjectionTimeMs),
    max_ejection_percent: o.maxEjectionPercent,
  };
}

function circuitBreakers(c: NonNullable<UpstreamModel["circuitBreakers"]>): object {
  const t: Record<string, unknown> = { priority: "DEFAULT" };
  if (c.maxConnections !== null) t.max_connections = c.maxConnections;
  if (c.maxPendingRequests !== null) t.max_pending_requests = c.maxPendingRequests;
  if (c.maxRequests !== null) t.max_requests = c.maxRequests;
  if (c.maxRetries !== null) t.max_retries = c.maxRetries;
  if (c.retryBudget)
    t.retry_budget = { budget_percent: { value: c.retryBudget.percent }, min_retry_concurrency: c.retryBudget.minConcurrency };
  return { thresholds: [t] };
}

function upstreamTls(u: UpstreamModel): object {
  const { sni, trust } = u.tls!;
  // The name the certificate is checked against: the SNI sent, else the first endpoint's host
  // (an IP address is matched against the certificate's IP SANs, and sent as no SNI).
  const name = sni ?? u.endpoints[0]!.host;
  const ip = isIpLiteral(name);
  const alpn = u.protocol === "http1" ? ["http/1.1"] : ["h2"];
  const san = { match_typed_subject_alt_names: [{ san_type: ip ? "IP_ADDRESS" : "DNS", matcher: { exact: name } }] };
  let validation: object = {};
  if (trust.kind === "system") {
    validation = { validation_context: { trusted_ca: { filename: trust.path }, ...san } };
  } else if (trust.kind === "ca") {
    // The CA bundle travels over SDS: a rotated file updates the secret alone, live.
    validation = {
      combined_validation_context: {
        default_validation_context: san,
        validation_context_sds_secret_config: { name: trust.secretName, sds_config: ADS_SOURCE },
      },
    };
  }
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": ANY.upstreamTls,
      ...(ip ? {} : { sni: name }),
      common_tls_context: { alpn_protocols: alpn, ...validation },
    },
  };
}
