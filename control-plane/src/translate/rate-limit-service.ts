// Global rate limits (rate-limit rules with `scope: global`, docs/rate-limit-service.md) -> what
// the gateway adds around the filter: the cluster and domain written into the filter's config,
// the Envoy cluster of the rate limit service, and the service's own config (one domain per
// plugin, a descriptor tree per rule). Pure functions of plugin configs and the model.
//
// The descriptor a global rule sends is fixed by the filter (filters/rate-limit): entries
// ("rule", <rule name>) then one per key part, in the key's order. The service's tree mirrors
// it: a `rule` node with the rule's name as value, then one level per key part, the limit on the
// last. A part with no value in the tree (client_ip, consumer, header, route) gives every value
// its own counter; a fixed part carries its value.
import { stringify as toYaml } from "yaml";
import { parseDuration } from "../config/durations.js";
import type { GatewayModel, RateLimitServiceModel } from "../model/types.js";
import { ANY, duration, RATE_LIMIT_CLUSTER, socketAddress } from "./common.js";
import { isIpLiteral } from "../config/syntax.js";

/** The suite filter whose `scope: global` rules use the service. */
export const RATE_LIMIT_FILTER = "rate-limit";

/** The service's domain of one plugin: plugins count apart even when their rules share names. */
export function rateLimitDomain(plugin: string): string {
  return `portico.${plugin}`;
}

export type RateLimitUnit = "second" | "minute" | "hour" | "day";

/** The service counts in fixed windows of these units; a global rule's period must be one. */
const UNIT_OF_PERIOD_MS: ReadonlyMap<number, RateLimitUnit> = new Map([
  [1_000, "second"],
  [60_000, "minute"],
  [3_600_000, "hour"],
  [86_400_000, "day"],
]);

/** One node of the service's descriptor tree, as its YAML spells it. */
export interface RateLimitDescriptor {
  key: string;
  value?: string;
  rate_limit?: { unit: RateLimitUnit; requests_per_unit: number };
  descriptors?: RateLimitDescriptor[];
}

/** One domain of the service's config (one file in its runtime directory, one xDS resource). */
export interface RateLimitDomainConfig {
  domain: string;
  descriptors: RateLimitDescriptor[];
}

export interface GlobalRule {
  name: string;
  requests: number;
  unit: RateLimitUnit;
  /** The descriptor entries after ("rule", name): a key, and a value for fixed parts. */
  parts: { key: string; value?: string }[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function rulesOf(config: unknown): Json[] {
  return isObject(config) && Array.isArray(config.rules) ? config.rules.filter(isObject) : [];
}

const isGlobal = (rule: Json): boolean => rule.scope === "global";

/** A key part -> its descriptor entry (undefined for a part the filter would refuse). */
function descriptorPart(part: unknown): { key: string; value?: string } | undefined {
  if (!isObject(part)) return undefined;
  if (part.client_ip === true) return { key: "client_ip" };
  if (part.consumer === true) return { key: "consumer" };
  if (typeof part.header === "string") return { key: part.header.toLowerCase() };
  if (part.route === true) return { key: "route" };
  if (typeof part.fixed === "string") return { key: "fixed", value: part.fixed };
  return undefined;
}

function periodMs(rule: Json): number | undefined {
  const period = rule.period ?? (typeof rule.period_s === "number" ? rule.period_s : undefined);
  if (typeof period !== "string" && typeof period !== "number") return undefined;
  const parsed = parseDuration(period);
  return parsed.ok ? parsed.ms : undefined;
}

function isUint32Count(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 0xffff_ffff;
}

/**
 * The `scope: global` rules of a rate-limit config, as the service counts them. A rule the
 * filter refuses (a period that is no unit, a malformed key) is left out: the filter's own
 * check names it, and a config it refused is never applied.
 */
export function globalRules(config: unknown): GlobalRule[] {
  const out: GlobalRule[] = [];
  for (const rule of rulesOf(config).filter(isGlobal)) {
    const ms = periodMs(rule);
    const unit = ms === undefined ? undefined : UNIT_OF_PERIOD_MS.get(ms);
    // requests_per_unit is a uint32: anything else would make the RateLimitConfig unencodable.
    if (typeof rule.name !== "string" || !isUint32Count(rule.requests) || unit === undefined) continue;
    const key = rule.key === undefined ? [{ fixed: "global" }] : rule.key;
    // The filter refuses an empty key ("omit it for one bucket for everyone"): no descriptor either.
    if (!Array.isArray(key) || key.length === 0) continue;
    const parts = key.map(descriptorPart);
    if (parts.some((p) => p === undefined)) continue;
    out.push({ name: rule.name, requests: rule.requests, unit, parts: parts as GlobalRule["parts"] });
  }
  return out;
}

/** A rule's branch of the tree: ("rule", name), then one level per key part, the limit last. */
function ruleDescriptor(rule: GlobalRule): RateLimitDescriptor {
  let node: RateLimitDescriptor | undefined;
  for (const part of [...rule.parts].reverse()) {
    const limit = node === undefined ? { rate_limit: { unit: rule.unit, requests_per_unit: rule.requests } } : {};
    node = { ...part, ...limit, ...(node ? { descriptors: [node] } : {}) };
  }
  return { key: "rule", value: rule.name, descriptors: [node!] };
}

export interface PluginConfigProblem {
  /** Inside the plugin's config, e.g. ["global", "cluster"]. */
  path: string[];
  message: string;
}

/** The fields of the filter's `global` block the gateway writes (a user never does in gateway.yaml). */
export const GATEWAY_SET_GLOBAL_FIELDS = ["cluster", "domain"] as const;

/**
 * The config the filter gets: with global rules, `global.cluster` and `global.domain` are the
 * gateway's (the cluster it declares, the plugin's own domain); a user-set one is a problem.
 * Without global rules the config is unchanged (the filter refuses a `global` block nobody uses).
 */
export function withGatewayGlobal(plugin: string, config: string): { config: string; problems: PluginConfigProblem[] } {
  let own: unknown;
  try {
    own = JSON.parse(config);
  } catch {
    return { config, problems: [] }; // the schema reported it
  }
  if (!isObject(own) || !rulesOf(own).some(isGlobal)) return { config, problems: [] };
  const global = own.global ?? {};
  if (!isObject(global)) return { config, problems: [] }; // the filter names the field
  const problems = GATEWAY_SET_GLOBAL_FIELDS.filter((field) => global[field] !== undefined).map((field) => ({
    path: ["global", field],
    message: `set by the gateway (${field === "cluster" ? RATE_LIMIT_CLUSTER : rateLimitDomain(plugin)}): leave it out`,
  }));
  const out = { ...own, global: { ...global, cluster: RATE_LIMIT_CLUSTER, domain: rateLimitDomain(plugin) } };
  return { config: JSON.stringify(out), problems };
}

/** The service's config: one domain per rate-limit plugin with global rules, sorted by domain. */
export function rateLimitServiceConfigs(model: Pick<GatewayModel, "plugins">): RateLimitDomainConfig[] {
  const out: RateLimitDomainConfig[] = [];
  for (const p of model.plugins) {
    if (p.kind !== "wasm" || p.filter !== RATE_LIMIT_FILTER) continue;
    const rules = globalRules(JSON.parse(p.config));
    if (rules.length > 0) out.push({ domain: rateLimitDomain(p.name), descriptors: rules.map(ruleDescriptor) });
  }
  return out.sort((a, b) => (a.domain < b.domain ? -1 : 1));
}

/** A domain as the xDS resource ratelimit.config.ratelimit.v3.RateLimitConfig (proto3 JSON), named after its domain. */
export function rateLimitConfigResource(c: RateLimitDomainConfig): object {
  const toProto = (d: RateLimitDescriptor): object => ({
    key: d.key,
    ...(d.value !== undefined ? { value: d.value } : {}),
    ...(d.rate_limit ? { rate_limit: { unit: d.rate_limit.unit.toUpperCase(), requests_per_unit: d.rate_limit.requests_per_unit } } : {}),
    ...(d.descriptors ? { descriptors: d.descriptors.map(toProto) } : {}),
  });
  return { name: c.domain, domain: c.domain, descriptors: c.descriptors.map(toProto) };
}

/** A domain as the service's YAML file (its runtime directory holds one per domain). */
export function rateLimitConfigYaml(c: RateLimitDomainConfig): string {
  return toYaml(c);
}

/** Whether the config's global rules are counted by the service `portico run` supervises. */
export function usesSupervisedService(model: Pick<GatewayModel, "plugins" | "rateLimitService">): boolean {
  return model.rateLimitService === null && rateLimitServiceConfigs(model).length > 0;
}

/** Where a config's global rules are counted: its own address, else the supervised service's. */
export function rateLimitServiceAddress(
  model: Pick<GatewayModel, "rateLimitService">,
  supervised: RateLimitServiceModel["address"] | undefined,
): RateLimitServiceModel["address"] {
  const address = model.rateLimitService?.address ?? supervised;
  if (!address) {
    throw new Error(
      "rate-limit rules with scope: global need a rate limit service: set rate_limit_service.address, or run the gateway with `portico run`, which starts one",
    );
  }
  return address;
}

/**
 * Envoy's circuit breakers on the service's cluster. The filter bounds its calls in flight itself
 * (`global.max_pending` per worker, default 1000); Envoy's defaults (1024 requests per cluster,
 * all workers together) would cut below that under load and turn decisions into failures.
 */
const RATE_LIMIT_CIRCUIT_BREAKER = 1_000_000;

/** The Envoy cluster the filter's gRPC calls go to (HTTP/2: gRPC). */
export function rateLimitCluster(address: RateLimitServiceModel["address"]): object {
  return {
    name: RATE_LIMIT_CLUSTER,
    connect_timeout: duration(1_000),
    circuit_breakers: {
      thresholds: [{ max_requests: RATE_LIMIT_CIRCUIT_BREAKER, max_pending_requests: RATE_LIMIT_CIRCUIT_BREAKER }],
    },
    ...(isIpLiteral(address.host) ? { type: "STATIC" } : { type: "STRICT_DNS", dns_lookup_family: "V4_PREFERRED" }),
    load_assignment: {
      cluster_name: RATE_LIMIT_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address.host, address.port) } }] }],
    },
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": ANY.httpProtocolOptions,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
}
