// Envoy config pieces for the global rate limit stack: the cluster that reaches an
// envoyproxy/ratelimit service and Envoy's own envoy.filters.http.ratelimit asking it. Shared by
// the native oracle (test/e2e/ratelimit-service.test.ts), the global-limit cluster test and the
// bench, so the native side of every comparison is configured one way.
import { staticCluster, type Json } from "./configs.js";

/** The service's gRPC endpoint as a static cluster: gRPC needs HTTP/2 to the upstream. */
export function rateLimitServiceCluster(name: string, port: number): Json {
  return {
    ...staticCluster(name, port),
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
}

export interface NativeRateLimitOptions {
  domain: string;
  /** The cluster of rateLimitServiceCluster(). */
  cluster: string;
  /** The call's deadline (Envoy's default is 20ms). */
  timeout?: string;
  /** false (default): a failed call admits the request, as our rules' on_failure "allow". */
  failureModeDeny?: boolean;
  /** Stat prefix of the filter's counters (default: they live under cluster.<route cluster>.ratelimit.). */
  statPrefix?: string;
}

/** Envoy's native global rate limit filter; the descriptors come from the route's rate_limits. */
export function nativeRateLimitFilter(o: NativeRateLimitOptions): Json {
  return {
    name: "envoy.filters.http.ratelimit",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit",
      domain: o.domain,
      failure_mode_deny: o.failureModeDeny ?? false,
      timeout: o.timeout ?? "1s",
      ...(o.statPrefix === undefined ? {} : { stat_prefix: o.statPrefix }),
      rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: o.cluster } }, transport_api_version: "V3" },
    },
  };
}

/**
 * The route-level rate_limits entry that makes the native filter send the descriptor our filter
 * sends for a rule with a fixed key: ("rule", <name>), ("fixed", <value>) (docs/rate-limit-service.md).
 */
export function nativeFixedDescriptor(rule: string, fixed = "global"): Json {
  return {
    actions: [
      { generic_key: { descriptor_key: "rule", descriptor_value: rule } },
      { generic_key: { descriptor_key: "fixed", descriptor_value: fixed } },
    ],
  };
}
