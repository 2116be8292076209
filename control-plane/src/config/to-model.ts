// The validated sections → the model every later stage consumes. Runs only when nothing was
// reported, so every reference here resolves.
import { resolve } from "node:path";
import type {
  GatewayModel,
  ListenerLimitsModel,
  ListenerModel,
  PluginModel,
  RateLimitServiceModel,
  RouteModel,
  UpstreamModel,
  UpstreamTlsModel,
} from "../model/types.js";
import { SYSTEM_CA_BUNDLE, type ResolvedModule } from "./files.js";
import { HASH_LB_POLICIES, type UpstreamTlsInput } from "./schema-upstreams.js";
import type { ListenerInput, PluginInput, RouteInput, UpstreamInput } from "./schema.js";
import type { ParsedSections } from "./shape.js";
import { isIpLiteral } from "./syntax.js";

export function toModel(
  sections: ParsedSections,
  modules: Map<number, ResolvedModule>,
  baseDir: string,
  rateLimitService: RateLimitServiceModel | null,
): GatewayModel {
  const listeners = sections.listeners.map(({ value }) => listenerModel(value, baseDir));
  const plugins = sections.plugins.map(({ index, value }): PluginModel => {
    if (value.kind === "native") return { kind: "native", name: value.name, policy: value.policy, global: value.global };
    const module = modules.get(index);
    if (!module) throw new Error(`internal: plugins[${index}] has no resolved module`);
    return pluginModel(value, module);
  });
  return {
    listeners,
    routes: sections.routes.map(({ value }) => routeModel(value, listeners, plugins)),
    upstreams: sections.upstreams.map(({ value }) => upstreamModel(value, baseDir)),
    plugins,
    consumers: sections.consumers.map(({ value }) => value),
    rateLimitService,
    // Set by the loader once it knows some plugins run in one filter (it then reads the module).
    suite: null,
  };
}

function listenerModel(l: ListenerInput, baseDir: string): ListenerModel {
  return {
    name: l.name,
    address: l.address,
    port: l.port,
    protocols: l.protocols,
    tls: l.tls
      ? {
          minVersion: l.tls.min_version,
          certificates: l.tls.certificates.map((c, i) => ({
            // Named by position, not content: a rotated certificate keeps its secret's name.
            secretName: `${l.name}.cert.${i}`,
            certPath: resolve(baseDir, c.cert),
            keyPath: resolve(baseDir, c.key),
            sni: c.sni,
          })),
        }
      : null,
    accessLog: l.access_log ?? null,
    trustedHops: l.trusted_hops,
    limits: listenerLimitsModel(l),
  };
}

function listenerLimitsModel(l: ListenerInput): ListenerLimitsModel {
  return {
    headersWithUnderscoresAction: l.headers_with_underscores_action,
    pathWithEscapedSlashesAction: l.path_with_escaped_slashes_action,
    normalizePath: l.normalize_path,
    mergeSlashes: l.merge_slashes,
    maxRequestHeadersKb: l.max_request_headers_kb,
    requestHeadersTimeoutMs: l.request_headers_timeout,
    streamIdleTimeoutMs: l.stream_idle_timeout,
    idleTimeoutMs: l.idle_timeout,
    perConnectionBufferLimitBytes: l.per_connection_buffer_limit_bytes,
    http2: {
      maxConcurrentStreams: l.http2.max_concurrent_streams,
      initialStreamWindowSize: l.http2.initial_stream_window_size,
      initialConnectionWindowSize: l.http2.initial_connection_window_size,
    },
  };
}

function routeModel(r: RouteInput, listeners: ListenerModel[], plugins: PluginModel[]): RouteModel {
  const own = new Set(r.plugins);
  return {
    name: r.name,
    listeners: r.listeners ?? listeners.map((l) => l.name),
    hosts: r.hosts,
    path: r.match.path,
    methods: r.match.methods,
    headers: r.match.headers,
    query: r.match.query,
    rewrite: r.rewrite ?? null,
    timeoutMs: r.timeout ?? null,
    idleTimeoutMs: r.idle_timeout ?? null,
    retries: r.retries ?? null,
    upstreams: r.upstreams ?? (r.upstream !== undefined ? [{ name: r.upstream, weight: 1 }] : []),
    // Chain order, whatever order the route lists them in; a global plugin listed again counts once.
    plugins: plugins.filter((p) => p.global || own.has(p.name)).map((p) => p.name),
  };
}

function upstreamModel(u: UpstreamInput, baseDir: string): UpstreamModel {
  return {
    name: u.name,
    discovery: u.endpoints.every((e) => isIpLiteral(e.host)) ? "static" : "dns",
    endpoints: u.endpoints.map((e) => ({ host: e.host, port: e.port, weight: e.weight })),
    protocol: u.protocol,
    lb: u.lb,
    // ring_hash / maglev without hash_on hash the client's address (docs/gateway-config.md).
    hashOn: u.hash_on ?? (HASH_LB_POLICIES.includes(u.lb) ? { kind: "source_ip" } : null),
    connectTimeoutMs: u.connect_timeout,
    healthCheck: u.health_check ?? null,
    outlierDetection: u.outlier_detection ?? null,
    circuitBreakers: u.circuit_breakers ?? null,
    tls: u.tls ? upstreamTlsModel(u.name, u.tls, baseDir) : null,
  };
}

function upstreamTlsModel(upstream: string, t: UpstreamTlsInput, baseDir: string): UpstreamTlsModel {
  if (t.insecureSkipVerify) return { sni: t.sni, trust: { kind: "none" } };
  if (t.ca === null) return { sni: t.sni, trust: { kind: "system", path: SYSTEM_CA_BUNDLE } };
  // Named after the upstream, not the content: a rotated CA file keeps its secret's name.
  return { sni: t.sni, trust: { kind: "ca", path: resolve(baseDir, t.ca), secretName: `${upstream}.ca` } };
}

function pluginModel(p: Extract<PluginInput, { kind: "wasm" }>, module: ResolvedModule): PluginModel {
  return {
    kind: "wasm",
    name: p.name,
    filter: module.filter,
    rootId: module.rootId,
    module: { sha256: module.sha256, path: module.path, size: module.bytes.byteLength },
    config: p.config,
    global: p.global,
  };
}
