// translate: the validated model -> Envoy v3 resources (proto3 JSON), as pure functions.
// Same inputs, same output (sorted by name), so versions come from content hashes and golden
// files stay stable.
import type { GatewayModel, WasmPluginModel } from "../model/types.js";
import { TypeUrl, type ResourceSet } from "../xds/types.js";
import { pluginFilterName, suiteFilterName } from "./common.js";
import { cluster } from "./clusters.js";
import { loadAssignment } from "./endpoints.js";
import { listener } from "./listeners.js";
import { pluginExtensionConfig, suiteExtensionConfig } from "./plugins.js";
import { rateLimitCluster, rateLimitConfigResource, rateLimitServiceAddress, rateLimitServiceConfigs } from "./rate-limit-service.js";
import { routeConfiguration } from "./routes.js";
import { tlsSecret, validationContextSecret, type SecretPem } from "./secrets.js";
import { suitePlan } from "./suite.js";

export { sameSecretPem, type CertificatePem, type SecretPem, type TrustedCaPem } from "./secrets.js";
export { pluginFilterName, routeConfigName } from "./common.js";

export interface TranslateInputs {
  model: GatewayModel;
  /** PEM of every certificate and upstream CA bundle the model names, by secret name. */
  certificates: ReadonlyMap<string, SecretPem>;
  /** Module bytes by sha256 (every plugin's module.sha256, and the suite's, must be here). */
  modules: ReadonlyMap<string, Uint8Array>;
  /** The rate limit service `portico run` supervises (gRPC address), for a config without `rate_limit_service`. */
  supervisedRateLimitService?: { host: string; port: number };
}

/** Envoy resources by type URL (every type present), each keyed by resource name: what the xDS cache takes as it is. */
export type EnvoyResources = Required<ResourceSet>;

function byName<T extends { name: string }>(items: T[], build: (item: T) => object): Map<string, object> {
  return new Map([...items].sort((a, b) => (a.name < b.name ? -1 : 1)).map((i) => [i.name, build(i)]));
}

/** EDS payloads alone: what an endpoint-only edit needs (no listener, route or cluster work). */
export function translateEndpoints(model: GatewayModel): Map<string, object> {
  return byName(
    model.upstreams.filter((u) => u.discovery === "static"),
    loadAssignment,
  );
}

function wasmPlugins(model: GatewayModel): WasmPluginModel[] {
  return model.plugins.filter((p): p is WasmPluginModel => p.kind === "wasm");
}

export function translate({ model, certificates, modules, supervisedRateLimitService }: TranslateInputs): EnvoyResources {
  const certs = model.listeners.flatMap((l) => l.tls?.certificates ?? []).map((c) => ({ name: c.secretName }));
  const cas = model.upstreams.flatMap((u) => (u.tls?.trust.kind === "ca" ? [{ name: u.tls.trust.secretName }] : []));
  // Plugins of one module (say, a rate limiter per tenant) share its base64 text: encoded once.
  const inline = new Map<string, string>();
  const base64Of = (sha256: string, user: string): string => {
    let base64 = inline.get(sha256);
    if (base64 === undefined) {
      const bytes = modules.get(sha256);
      if (!bytes) throw new Error(`module ${sha256} of ${user} was not loaded`);
      base64 = Buffer.from(bytes).toString("base64");
      inline.set(sha256, base64);
    }
    return base64;
  };
  // How routes run their plugins (plugins in one filter): made once, for every listener.
  const plan = suitePlan(model);
  const suite = model.suite;
  const suiteConfigs = suite
    ? plan
        .runs()
        .map((members): [string, object] => [
          suiteFilterName(members.map((m) => m.name)),
          suiteExtensionConfig(members, base64Of(suite.module.sha256, "the suite")),
        ])
    : [];
  const rateLimitDomains = rateLimitServiceConfigs(model);
  // The service's cluster exists while some rule calls it.
  const ownClusters =
    rateLimitDomains.length > 0 ? [rateLimitCluster(rateLimitServiceAddress(model, supervisedRateLimitService)) as { name: string }] : [];
  return {
    [TypeUrl.Secret]: byName([...certs, ...cas], ({ name }) => {
      const pem = certificates.get(name);
      if (!pem) throw new Error(`certificate ${name} was not loaded`);
      return "trustedCa" in pem ? validationContextSecret(name, pem) : tlsSecret(name, pem);
    }),
    // ECDS resources are named after the filter slot, not the plugin (suite slots after their
    // members). Native policies have none: their slot holds the Envoy filter itself, their config
    // goes per route.
    [TypeUrl.ExtensionConfig]: new Map(
      [
        ...[...byName(wasmPlugins(model), (p) => pluginExtensionConfig(p, base64Of(p.module.sha256, `plugin ${p.name}`)))].map(
          ([plugin, config]): [string, object] => [pluginFilterName(plugin), config],
        ),
        ...suiteConfigs,
      ].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    ),
    [TypeUrl.Cluster]: byName(
      [...model.upstreams.map((u) => ({ name: u.name, json: cluster(u) })), ...ownClusters.map((c) => ({ name: c.name, json: c }))],
      (c) => c.json,
    ),
    [TypeUrl.Endpoints]: translateEndpoints(model),
    [TypeUrl.Listener]: byName(model.listeners, (l) => listener(model, l, plan)),
    [TypeUrl.Route]: byName(model.listeners, (l) => routeConfiguration(model, l.name, plan)),
    // Not for Envoy: the rate limit service subscribes to these over ADS.
    [TypeUrl.RateLimitConfig]: new Map(rateLimitDomains.map((d) => [d.domain, rateLimitConfigResource(d)])),
  };
}
