// The xDS resource types Portico serves, declared once: every other spelling of a type (the
// translator's output, the cache, diffs, metrics labels, `portico status`, golden files) is read
// from this table.

/**
 * In Envoy's safe order: what a later type references exists before it arrives (secrets and
 * extension configs before the clusters and listeners using them, clusters and their endpoints
 * before the listeners and routes sending traffic to them).
 */
const TYPES = {
  Secret: { url: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret", api: "SDS", key: "secrets" },
  ExtensionConfig: { url: "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig", api: "ECDS", key: "extension_configs" },
  Cluster: { url: "type.googleapis.com/envoy.config.cluster.v3.Cluster", api: "CDS", key: "clusters" },
  Endpoints: { url: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", api: "EDS", key: "endpoints" },
  Listener: { url: "type.googleapis.com/envoy.config.listener.v3.Listener", api: "LDS", key: "listeners" },
  Route: { url: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", api: "RDS", key: "routes" },
  // Not for Envoy: the rate limit service (envoyproxy/ratelimit, CONFIG_TYPE=GRPC_XDS_SOTW)
  // subscribes to its domains' limits over the same ADS server (docs/rate-limit-service.md).
  RateLimitConfig: { url: "type.googleapis.com/ratelimit.config.ratelimit.v3.RateLimitConfig", api: "RLS", key: "rate_limit_configs" },
} as const;

type Declared = (typeof TYPES)[keyof typeof TYPES];

/** The type URL of each type, by the name code refers to it with (TypeUrl.Cluster). */
export const TypeUrl = Object.fromEntries(Object.entries(TYPES).map(([id, t]) => [id, t.url])) as {
  readonly [Id in keyof typeof TYPES]: (typeof TYPES)[Id]["url"];
};

export type TypeUrlValue = Declared["url"];

export interface XdsType {
  url: TypeUrlValue;
  /** The message name ("ClusterLoadAssignment"): logs, errors, metrics labels, dry-run diffs. */
  short: string;
  /** The discovery service ("EDS"), as `portico status` labels it. */
  api: Declared["api"];
  /** The type's section where resources are written out by type (the translator's golden files). */
  key: Declared["key"];
}

/** Every type, in push order. */
export const XDS_TYPES: readonly XdsType[] = Object.values(TYPES).map((t) => ({ ...t, short: shortTypeName(t.url) }));

/** The type URLs, in push order. */
export const PUSH_ORDER: readonly TypeUrlValue[] = XDS_TYPES.map((t) => t.url);

/** The declared type of a type URL; undefined for a type Portico does not serve. */
export function xdsType(typeUrl: string): XdsType | undefined {
  return XDS_TYPES.find((t) => t.url === typeUrl);
}

/** The xDS node id of the rate limit service `portico run` supervises: a client of the ADS server that is no Envoy. */
export const RATE_LIMIT_SERVICE_NODE = "portico-ratelimit";

/** Whether an ADS client is an Envoy (every node but the rate limit service): what /status and the metrics count. */
export function isEnvoyNode(node: { nodeId: string }): boolean {
  return node.nodeId !== RATE_LIMIT_SERVICE_NODE;
}

/** The types Envoy subscribes to: all but the rate limit service's own. */
export const ENVOY_TYPES: readonly TypeUrlValue[] = PUSH_ORDER.filter((t) => t !== TypeUrl.RateLimitConfig);

/** Types Envoy subscribes to as a whole (wildcard); the others it asks for by name. */
export const WILDCARD_TYPES: ReadonlySet<string> = new Set([TypeUrl.Cluster, TypeUrl.Listener, TypeUrl.RateLimitConfig]);

/** name -> proto3 JSON resource, per type. A type left out has no resources. */
export type ResourceSet = { [T in TypeUrlValue]?: Map<string, object> };

export function isTypeUrl(s: string): s is TypeUrlValue {
  return (PUSH_ORDER as readonly string[]).includes(s);
}

/** "Cluster" for the Cluster type URL: for logs and errors. */
export function shortTypeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
}
