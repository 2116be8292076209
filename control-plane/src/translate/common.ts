// Shared pieces of Envoy resources: type URLs inside Any fields, config sources, durations.
// Every builder in translate/ returns proto3 JSON (what Envoy's own YAML looks like), so golden
// files read like the Envoy documentation and the xDS layer encodes them in one place.
import { createHash } from "node:crypto";

export const ANY = {
  hcm: "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  router: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
  wasm: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
  filterConfig: "type.googleapis.com/envoy.config.route.v3.FilterConfig",
  downstreamTls: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
  upstreamTls: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
  httpProtocolOptions: "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
  stringValue: "type.googleapis.com/google.protobuf.StringValue",
} as const;

/**
 * The bootstrap's static cluster of the ADS stream. Upstreams become clusters of their own name,
 * so the config loader reserves this one (config/relations.ts) and the bootstrap declares it.
 */
export const XDS_CLUSTER = "portico_xds";

/**
 * The cluster of the rate limit service that rate-limit rules with `scope: global` call (the
 * gateway writes it into their config, translate/rate-limit-service.ts); reserved like XDS_CLUSTER.
 */
export const RATE_LIMIT_CLUSTER = "portico_ratelimit";

/**
 * The route ending every virtual host: it answers 404 (empty body, as Envoy's own "no route")
 * with the global plugins switched on, so they run on requests that match no user route too.
 * Routes are named after themselves, so the config loader reserves this name
 * (config/relations.ts).
 */
export const NO_ROUTE = "portico_no_route";

/** Every dynamic resource comes over the one ADS stream the bootstrap opens. */
export const ADS_SOURCE = { ads: {}, resource_api_version: "V3" } as const;

/** Milliseconds as a proto3 JSON Duration ("1.500s"; whole seconds without a fraction). */
export function duration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const rest = ms % 1000;
  return rest === 0 ? `${seconds}s` : `${seconds}.${String(rest).padStart(3, "0")}s`;
}

export function socketAddress(address: string, port: number) {
  return { socket_address: { address, port_value: port } };
}

/** The HTTP filter (and ECDS resource) name of a plugin: one stable slot per plugin in every chain. */
export function pluginFilterName(plugin: string): string {
  return `portico.plugin.${plugin}`;
}

/**
 * The HTTP filter (and ECDS resource) name of a suite slot: its members' plugin names in chain
 * order, so the same run on two routes (or listeners) is one slot, and a log line or config dump
 * says which plugins it runs. Plugin names have no "+" (config/syntax.ts NAME_PATTERN), so the
 * name is unambiguous. Names are not bounded in length, so a long list is cut and the whole
 * list's hash (stable, and different for every list) keeps it unique.
 */
export function suiteFilterName(members: string[]): string {
  const joined = members.join("+");
  if (joined.length <= SUITE_NAME_MAX) return `portico.suite.${joined}`;
  const hash = createHash("sha256").update(joined).digest("hex").slice(0, 16);
  return `portico.suite.${joined.slice(0, SUITE_NAME_MAX - hash.length - 1)}~${hash}`;
}

/** Longest member list written out in a suite slot's name (Envoy prints it in stats and logs). */
const SUITE_NAME_MAX = 120;

/** A route configuration per listener, named after it. */
export function routeConfigName(listener: string): string {
  return listener;
}
