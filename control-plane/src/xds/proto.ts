// Envoy API protos, and encoding of xDS resources and discovery messages.
//
// The .proto files come from @grpc/grpc-js-xds (it ships envoy-api, xds, googleapis and
// protoc-gen-validate under deps/); nothing is generated ahead of time. Resources arrive as
// proto3 JSON (what the translator produces, and what Envoy's own YAML/JSON configs look like);
// proto-json.ts maps that onto the reflected Types.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { ProtoJsonError, isPlainObject, jsonToObject, lookupMessage, messageToJson, typeNameOf } from "./proto-json.js";
import { shortTypeName } from "./types.js";

export { ProtoJsonError } from "./proto-json.js";

/** Every message type the translator may put in an Any (typed_config, typed_per_filter_config,
 * transport sockets, access logs, plugin configuration), with the file that declares it. A type
 * missing here fails encoding with an error naming it: add a line. */
export const ANY_TYPES: readonly { type: string; file: string }[] = [
  {
    type: "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
    file: "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  },
  { type: "envoy.extensions.filters.http.router.v3.Router", file: "envoy/extensions/filters/http/router/v3/router.proto" },
  { type: "envoy.extensions.filters.http.wasm.v3.Wasm", file: "envoy/extensions/filters/http/wasm/v3/wasm.proto" },
  {
    type: "envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
    file: "envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto",
  },
  {
    type: "envoy.extensions.filters.http.header_mutation.v3.HeaderMutationPerRoute",
    file: "envoy/extensions/filters/http/header_mutation/v3/header_mutation.proto",
  },
  { type: "envoy.extensions.filters.http.cors.v3.Cors", file: "envoy/extensions/filters/http/cors/v3/cors.proto" },
  { type: "envoy.extensions.filters.http.cors.v3.CorsPolicy", file: "envoy/extensions/filters/http/cors/v3/cors.proto" },
  { type: "envoy.extensions.filters.http.rbac.v3.RBAC", file: "envoy/extensions/filters/http/rbac/v3/rbac.proto" },
  { type: "envoy.extensions.filters.http.rbac.v3.RBACPerRoute", file: "envoy/extensions/filters/http/rbac/v3/rbac.proto" },
  { type: "envoy.extensions.filters.http.buffer.v3.Buffer", file: "envoy/extensions/filters/http/buffer/v3/buffer.proto" },
  { type: "envoy.extensions.filters.http.buffer.v3.BufferPerRoute", file: "envoy/extensions/filters/http/buffer/v3/buffer.proto" },
  { type: "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication", file: "envoy/extensions/filters/http/jwt_authn/v3/config.proto" },
  { type: "envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig", file: "envoy/extensions/filters/http/jwt_authn/v3/config.proto" },
  {
    type: "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
    file: "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto",
  },
  {
    type: "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
    file: "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto",
  },
  { type: "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", file: "envoy/extensions/transport_sockets/tls/v3/tls.proto" },
  { type: "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", file: "envoy/extensions/transport_sockets/tls/v3/tls.proto" },
  { type: "envoy.extensions.transport_sockets.tls.v3.Secret", file: "envoy/extensions/transport_sockets/tls/v3/secret.proto" },
  {
    type: "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    file: "envoy/extensions/upstreams/http/v3/http_protocol_options.proto",
  },
  { type: "envoy.extensions.access_loggers.file.v3.FileAccessLog", file: "envoy/extensions/access_loggers/file/v3/file.proto" },
  { type: "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog", file: "envoy/extensions/access_loggers/stream/v3/stream.proto" },
  { type: "envoy.extensions.access_loggers.stream.v3.StderrAccessLog", file: "envoy/extensions/access_loggers/stream/v3/stream.proto" },
  { type: "envoy.config.core.v3.TypedExtensionConfig", file: "envoy/config/core/v3/extension.proto" },
  { type: "envoy.config.core.v3.HealthCheck", file: "envoy/config/core/v3/health_check.proto" },
  { type: "envoy.config.route.v3.FilterConfig", file: "envoy/config/route/v3/route_components.proto" },
  { type: "google.protobuf.StringValue", file: "google/protobuf/wrappers.proto" },
  { type: "google.protobuf.Struct", file: "google/protobuf/struct.proto" },
  { type: "google.protobuf.Empty", file: "google/protobuf/empty.proto" },
];

/** The xDS resource types and the ADS service. */
const RESOURCE_FILES = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  // The rate limit service's own config type (a copy of envoyproxy/ratelimit's
  // api/ratelimit/config/ratelimit/v3/rls_conf.proto, Apache-2.0, in control-plane/proto).
  "ratelimit/config/ratelimit/v3/rls_conf.proto",
];

const DEP_DIRS = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"];

function protoDirs(): string[] {
  // Resolve through the packages themselves so a hoisted or nested node_modules both work.
  const require = createRequire(import.meta.url);
  const xds = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
  // protobufjs ships google/protobuf/descriptor.proto (imported by the annotation protos).
  const pbjs = dirname(require.resolve("protobufjs/package.json"));
  const own = fileURLToPath(new URL("../../proto", import.meta.url));
  return [...DEP_DIRS.map((d) => join(xds, "deps", d)), own, pbjs];
}

// The protos are static files and loading them costs ~150 ms, so one Root serves the whole
// process. It is never mutated after loading, which is why a module-level cache is safe here.
let cachedRoot: protobuf.Root | undefined;

/** The loaded Envoy API (field names as in the .proto files, snake_case). */
export function envoyProtos(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const dirs = protoDirs();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target;
    for (const d of dirs) {
      const p = join(d, target);
      if (existsSync(p)) return p;
    }
    // The well-known types: protobufjs has them built in and serves them by this name.
    return target;
  };
  const files = [...new Set([...RESOURCE_FILES, ...ANY_TYPES.map((t) => t.file)])];
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  for (const { type } of ANY_TYPES) root.lookupType(type); // a typo in the list fails here, loudly
  cachedRoot = root;
  return root;
}

// ---------------------------------------------------------------------------------------------
// Resources

/** Encodes a proto3 JSON value of `typeName` (e.g. "envoy.config.cluster.v3.Cluster"). */
export function encodeJson(typeName: string, json: unknown): Uint8Array {
  const root = envoyProtos();
  const type = lookupMessage(root, typeName);
  if (!type) throw new ProtoJsonError("", `unknown message type ${typeName}`);
  return type.encode(type.fromObject(jsonToObject(root, type, json, ""))).finish();
}

/** Name of a resource as xDS knows it (ClusterLoadAssignment calls it cluster_name). */
export function resourceName(json: unknown): string | undefined {
  if (!isPlainObject(json)) return undefined;
  const n = json.name ?? json.cluster_name ?? json.clusterName;
  return typeof n === "string" ? n : undefined;
}

/**
 * Encodes one xDS resource from proto3 JSON: the bytes of the Any value in a DiscoveryResponse.
 * Errors are ProtoJsonErrors whose message names the resource and the JSON path, e.g.
 * `Listener "public": filter_chains[0].filters[0].typed_config.stat_prefx: unknown field`.
 */
export function encodeResource(typeUrl: string, json: unknown): Uint8Array {
  try {
    return encodeJson(typeNameOf(typeUrl), json);
  } catch (err) {
    if (!(err instanceof ProtoJsonError)) throw err;
    const short = shortTypeName(typeUrl);
    const name = resourceName(json);
    throw err.within(name === undefined ? short : `${short} "${name}"`);
  }
}

/** The inverse of encodeResource: proto3 JSON with snake_case names and Anys expanded. */
export function decodeResource(typeUrl: string, bytes: Uint8Array): Record<string, unknown> {
  const root = envoyProtos();
  const type = lookupMessage(root, typeNameOf(typeUrl));
  if (!type) throw new Error(`unknown message type ${typeNameOf(typeUrl)}`);
  return messageToJson(root, type, type.decode(bytes) as unknown as Record<string, unknown>) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// DiscoveryRequest / DiscoveryResponse

export interface NodeInfo {
  id: string;
  cluster: string;
  userAgent: string;
}

export interface DiscoveryRequest {
  versionInfo: string;
  /** Present on the first request of a stream; later ones may omit it. */
  node?: NodeInfo;
  resourceNames: string[];
  typeUrl: string;
  responseNonce: string;
  /** Set when the request NACKs the response named by responseNonce. */
  errorDetail?: { code: number; message: string };
}

export interface EncodedAny {
  typeUrl: string;
  value: Uint8Array;
}

export interface DiscoveryResponse {
  versionInfo: string;
  resources: EncodedAny[];
  typeUrl: string;
  nonce: string;
}

const DISCOVERY = "envoy.service.discovery.v3";

export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  const type = envoyProtos().lookupType(`${DISCOVERY}.DiscoveryRequest`);
  const m = type.toObject(type.decode(bytes), { defaults: true, arrays: true }) as {
    version_info: string;
    node?: { id?: string; cluster?: string; user_agent_name?: string; user_agent_version?: string };
    resource_names: string[];
    type_url: string;
    response_nonce: string;
    error_detail?: { code?: number; message?: string };
  };
  const req: DiscoveryRequest = {
    versionInfo: m.version_info,
    resourceNames: m.resource_names,
    typeUrl: m.type_url,
    responseNonce: m.response_nonce,
  };
  if (m.node) {
    const ua = [m.node.user_agent_name, m.node.user_agent_version].filter(Boolean).join("/");
    req.node = { id: m.node.id ?? "", cluster: m.node.cluster ?? "", userAgent: ua };
  }
  if (m.error_detail) req.errorDetail = { code: m.error_detail.code ?? 0, message: m.error_detail.message ?? "" };
  return req;
}

export function encodeDiscoveryRequest(req: DiscoveryRequest): Uint8Array {
  const type = envoyProtos().lookupType(`${DISCOVERY}.DiscoveryRequest`);
  return type
    .encode(
      type.fromObject({
        version_info: req.versionInfo,
        node: req.node ? { id: req.node.id, cluster: req.node.cluster, user_agent_name: req.node.userAgent } : undefined,
        resource_names: req.resourceNames,
        type_url: req.typeUrl,
        response_nonce: req.responseNonce,
        error_detail: req.errorDetail,
      }),
    )
    .finish();
}

export function encodeDiscoveryResponse(res: DiscoveryResponse): Uint8Array {
  const type = envoyProtos().lookupType(`${DISCOVERY}.DiscoveryResponse`);
  return type
    .encode(
      type.fromObject({
        version_info: res.versionInfo,
        resources: res.resources.map((r) => ({ type_url: r.typeUrl, value: r.value })),
        type_url: res.typeUrl,
        nonce: res.nonce,
      }),
    )
    .finish();
}

export function decodeDiscoveryResponse(bytes: Uint8Array): DiscoveryResponse {
  const type = envoyProtos().lookupType(`${DISCOVERY}.DiscoveryResponse`);
  const m = type.toObject(type.decode(bytes), { defaults: true, arrays: true }) as {
    version_info: string;
    resources: { type_url: string; value: Uint8Array }[];
    type_url: string;
    nonce: string;
  };
  return {
    versionInfo: m.version_info,
    resources: m.resources.map((r) => ({ typeUrl: r.type_url, value: r.value })),
    typeUrl: m.type_url,
    nonce: m.nonce,
  };
}
