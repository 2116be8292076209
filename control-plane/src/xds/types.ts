// The xDS resource types Portico serves, and the shape the translator hands to the cache.

export const TypeUrl = {
  Secret: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
  ExtensionConfig: "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
  Cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  Endpoints: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  Listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  Route: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
} as const;

export type TypeUrlValue = (typeof TypeUrl)[keyof typeof TypeUrl];

/**
 * Envoy's safe order: what a later type references exists before it arrives (secrets and
 * extension configs before the clusters and listeners using them, clusters and their endpoints
 * before the listeners and routes sending traffic to them).
 */
export const PUSH_ORDER: readonly TypeUrlValue[] = [
  TypeUrl.Secret,
  TypeUrl.ExtensionConfig,
  TypeUrl.Cluster,
  TypeUrl.Endpoints,
  TypeUrl.Listener,
  TypeUrl.Route,
];

/** Types Envoy subscribes to as a whole (wildcard); the others it asks for by name. */
export const WILDCARD_TYPES: ReadonlySet<string> = new Set([TypeUrl.Cluster, TypeUrl.Listener]);

/** name -> proto3 JSON resource, per type. A type left out has no resources. */
export type ResourceSet = { [T in TypeUrlValue]?: Map<string, object> };

export function isTypeUrl(s: string): s is TypeUrlValue {
  return (PUSH_ORDER as readonly string[]).includes(s);
}

/** "Cluster" for the Cluster type URL: for logs and errors. */
export function shortTypeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf(".") + 1);
}
