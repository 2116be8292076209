// Small builders for Envoy bootstrap configs in tests. They return plain
// objects, so a test can still adjust any field before starting Envoy.
// Every listener and the admin bind 127.0.0.1:0; startEnvoy discovers ports.
export type Json = Record<string, unknown>;

const T = {
  hcm: "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  router: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
  wasm: "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
  string: "type.googleapis.com/google.protobuf.StringValue",
};

const loopback = (port = 0) => ({ socket_address: { address: "127.0.0.1", port_value: port } });

export const routerFilter = (): Json => ({ name: "envoy.filters.http.router", typed_config: { "@type": T.router } });

export interface WasmFilterOptions {
  /** Absolute path of the .wasm module. */
  file: string;
  /** Plugin name (shows up in logs and stats). */
  name?: string;
  /** Must match the name given to registerRootContext() in the module. */
  rootId?: string;
  vmId?: string;
  /** Plugin configuration handed to on_configure: a string, or an object sent as JSON. */
  configuration?: string | object;
}

/** An envoy.filters.http.wasm entry for http_filters, on the V8 runtime. */
export function wasmHttpFilter(o: WasmFilterOptions): Json {
  const config: Json = {
    name: o.name ?? "plugin",
    root_id: o.rootId ?? "",
    vm_config: {
      vm_id: o.vmId ?? o.name ?? "plugin",
      runtime: "envoy.wasm.runtime.v8",
      code: { local: { filename: o.file } },
    },
  };
  if (o.configuration !== undefined) {
    config.configuration = {
      "@type": T.string,
      value: typeof o.configuration === "string" ? o.configuration : JSON.stringify(o.configuration),
    };
  }
  return { name: "envoy.filters.http.wasm", typed_config: { "@type": T.wasm, config } };
}

export interface HttpListenerOptions {
  name?: string;
  /** Filters before the router (which is always appended last). */
  httpFilters?: Json[];
  /** Route everything to this cluster... */
  cluster?: string;
  /** ...or answer everything directly. */
  directResponse?: { status: number; body?: string };
  /** Full route list, overriding cluster/directResponse. */
  routes?: Json[];
  port?: number;
}

export function httpListener(o: HttpListenerOptions): Json {
  const name = o.name ?? "main";
  const routes = o.routes ?? [
    o.directResponse
      ? {
          match: { prefix: "/" },
          direct_response: {
            status: o.directResponse.status,
            ...(o.directResponse.body === undefined ? {} : { body: { inline_string: o.directResponse.body } }),
          },
        }
      : { match: { prefix: "/" }, route: { cluster: o.cluster ?? "upstream" } },
  ];
  return {
    name,
    address: loopback(o.port),
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": T.hcm,
              stat_prefix: name,
              route_config: { name: `${name}_routes`, virtual_hosts: [{ name: "all", domains: ["*"], routes }] },
              http_filters: [...(o.httpFilters ?? []), routerFilter()],
            },
          },
        ],
      },
    ],
  };
}

/** A STATIC cluster of one HTTP/1.1 endpoint on 127.0.0.1. */
export function staticCluster(name: string, port: number): Json {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: loopback(port) } }] }],
    },
  };
}

export function bootstrap(o: { listeners: Json[]; clusters?: Json[] }): Json {
  return {
    admin: { address: loopback(0) },
    static_resources: { listeners: o.listeners, clusters: o.clusters ?? [] },
  };
}

/** The common case: one listener, optional filters, proxying to 127.0.0.1:<upstreamPort>. */
export function proxyConfig(o: { upstreamPort: number; httpFilters?: Json[]; listener?: string }): Json {
  return bootstrap({
    listeners: [httpListener({ name: o.listener, httpFilters: o.httpFilters, cluster: "upstream" })],
    clusters: [staticCluster("upstream", o.upstreamPort)],
  });
}
