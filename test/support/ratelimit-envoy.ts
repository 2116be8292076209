// Envoy config pieces for the global rate limit stack: the cluster that reaches an
// envoyproxy/ratelimit service and Envoy's own envoy.filters.http.ratelimit asking it. Shared by
// the native oracle (test/e2e/ratelimit-service.test.ts), the global-limit cluster test and the
// bench, so the native side of every comparison is configured one way. And the shipped example of
// our filter's global rules, pointed at a test's service.
import { staticCluster, type Json } from "./configs.js";
import { loadExampleConfig } from "./examples.js";

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

export interface RateLimitGlobalExampleOptions {
  upstreamPort: number;
  /** The gRPC port of the test's rate limit service. */
  servicePort: number;
  /** Given the example's plugin configuration (parsed), returns the one to use instead. */
  plugin?: (example: Json) => Json;
}

/**
 * The shipped example envoy-configs/rate-limit-global.yaml, with its "ratelimit" cluster pointed at
 * the test's service and, with `o.plugin`, the rate-limit filter's configuration (JSON text in the
 * Wasm filter's StringValue) changed.
 */
export function rateLimitGlobalExample(o: RateLimitGlobalExampleOptions): Json {
  const config = loadExampleConfig("rate-limit-global.yaml", { upstreamPort: o.upstreamPort });
  const clusters = (config.static_resources as Json).clusters as Json[];
  const rls = clusters.find((c) => c.name === "ratelimit")!;
  const endpoint = (((rls.load_assignment as Json).endpoints as Json[])[0]!.lb_endpoints as Json[])[0]!.endpoint as Json;
  ((endpoint.address as Json).socket_address as Json).port_value = o.servicePort;
  if (o.plugin) {
    const listener = ((config.static_resources as Json).listeners as Json[])[0]!;
    const hcm = ((listener.filter_chains as Json[])[0]!.filters as Json[])[0]!.typed_config as Json;
    const wasm = (hcm.http_filters as Json[]).find((f) => f.name === "portico.rate_limit")!;
    const value = ((wasm.typed_config as Json).config as Json).configuration as Json;
    value.value = JSON.stringify(o.plugin(JSON.parse(value.value as string) as Json));
  }
  return config;
}
