// Consumers → what Envoy gets of them (docs/consumers.md): the `consumers` block of each auth
// filter's config, the claims jwt-auth writes for ACLs, and the native filter that removes
// client-sent identity headers on every route. Pure functions of the model's values.
import { type AuthFilter, isAuthFilter } from "../config/consumer-filters.js";
import type { ConsumerModel, GatewayModel } from "../model/types.js";
import type { PolicyModel } from "../policies/index.js";
import { aclClaims } from "../policies/acl.js";

/** The credential member each auth filter reads from a consumer object. */
const OWN_KIND: Record<AuthFilter, "keys" | "basic" | "jwt"> = { "key-auth": "keys", "basic-auth": "basic", "jwt-auth": "jwt" };

/**
 * The request headers an auth filter writes for the upstream, which a client must never set
 * (assembly/runtime/consumer.ts CONSUMER_HEADERS; a unit test holds the two lists together).
 */
export const CONSUMER_HEADERS = ["x-consumer-name", "x-consumer-groups", "x-credential-identifier"] as const;

/**
 * One consumer as an auth filter reads it. Each filter gets its own credential kind only: a
 * key-auth config has no password hashes in it, a basic-auth config no key digests. API keys
 * leave as digests (the model holds nothing else).
 */
function consumerEntry(c: ConsumerModel, kind: "keys" | "basic" | "jwt"): object {
  const entry: Record<string, unknown> = { name: c.name, groups: c.groups };
  if (c[kind].length > 0) entry[kind] = c[kind];
  return entry;
}

/** The JSON the filter is configured with: the plugin's own config plus what the gateway adds. */
export function authPluginConfig(
  filter: string,
  config: string,
  consumers: readonly ConsumerModel[],
  claimsForAcls: readonly string[],
): string {
  if (!isAuthFilter(filter)) return config;
  const own = JSON.parse(config) as Record<string, unknown>;
  const kind = OWN_KIND[filter];
  const anonymous = typeof own.anonymous === "string" ? own.anonymous : undefined;
  // Only the consumers this filter can identify, and the anonymous one: a 10,000-consumer
  // gateway with keys for most does not ship every key digest to basic-auth.
  const listed = consumers.filter((c) => c[kind].length > 0 || c.name === anonymous);
  const out: Record<string, unknown> = { ...own };
  if (filter !== "jwt-auth" || listed.length > 0) out.consumers = listed.map((c) => consumerEntry(c, kind));
  if (filter === "jwt-auth" && claimsForAcls.length > 0) {
    const written = Array.isArray(own.claims_to_filter_state) ? (own.claims_to_filter_state as unknown[]) : [];
    out.claims_to_filter_state = [...new Set([...written, ...claimsForAcls])];
  }
  return JSON.stringify(out);
}

/** Every claim some ACL matches, once, sorted (jwt-auth writes these to filter state). */
export function claimsMatchedByAcls(plugins: readonly { kind: string; policy?: PolicyModel }[]): string[] {
  const claims = plugins.flatMap((p) => (p.policy?.filter === "acl" ? aclClaims(p.policy.config) : []));
  return [...new Set(claims)].sort();
}

/**
 * Whether listeners strip client-sent identity headers: when the gateway has consumers, an auth
 * filter or an ACL. Keyed on more than "has consumers" so that creating the first consumer on a
 * gateway that already has its key-auth plugin changes no listener (no connection drains).
 */
export function stripsIdentityHeaders(model: Pick<GatewayModel, "plugins" | "consumers">): boolean {
  return model.consumers.length > 0 || model.plugins.some((p) => (p.kind === "wasm" ? isAuthFilter(p.filter) : p.policy.filter === "acl"));
}

const HEADER_MUTATION_TYPE = "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation";

/**
 * Envoy's header_mutation filter, first in the chain, removing the identity headers from every
 * request: a route without an auth filter must not pass a client's `x-consumer-name` on as if
 * the gateway had set it. Underscore spellings (`x_consumer_name`) never get this far under the
 * listener default headers_with_underscores_action: reject_request (docs/gateway-config.md).
 */
export function identityHeaderStrip(): object {
  return {
    name: "portico.strip_identity_headers",
    typed_config: {
      "@type": HEADER_MUTATION_TYPE,
      mutations: { request_mutations: CONSUMER_HEADERS.map((header) => ({ remove: header })) },
    },
  };
}
