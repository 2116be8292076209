// The bootstrap an Envoy joins the control plane with (Envoy itself validates it in
// control-plane/test/e2e/supervisor.test.ts).
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { bootstrapYaml, RE2_MAX_PROGRAM_SIZE, renderBootstrap, XDS_CLUSTER, type BootstrapOptions } from "../../../src/envoy/bootstrap.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a proto3 JSON tree
type Json = Record<string, any>;

const options: BootstrapOptions = {
  nodeId: "edge-1",
  xds: { host: "10.0.0.5", port: 18000 },
  admin: { address: "127.0.0.1", port: 9901 },
  overload: { maxHeapBytes: 1 << 30, maxDownstreamConnections: 5000 },
};
const render = (o: Partial<BootstrapOptions> = {}) => renderBootstrap({ ...options, ...o }) as Json;
const cluster = (b: Json, name: string): Json => (b.static_resources.clusters as Json[]).find((c) => c.name === name)!;
const HPO = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

describe("renderBootstrap", () => {
  it("names the node, defaulting its cluster to portico", () => {
    expect(render().node).toEqual({ id: "edge-1", cluster: "portico" });
    expect(render({ nodeCluster: "edge" }).node).toEqual({ id: "edge-1", cluster: "edge" });
  });

  it("gets everything else over ADS from the portico_xds cluster", () => {
    expect(render().dynamic_resources).toEqual({
      ads_config: {
        api_type: "GRPC",
        transport_api_version: "V3",
        set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: "portico_xds" } }],
      },
      cds_config: { ads: {}, resource_api_version: "V3" },
      lds_config: { ads: {}, resource_api_version: "V3" },
    });
    expect(XDS_CLUSTER).toBe("portico_xds");
  });

  it("reaches the xDS server over HTTP/2 with TCP keepalive and a 1 s connect timeout", () => {
    const xds = cluster(render(), XDS_CLUSTER);
    expect(xds.type).toBe("STATIC");
    expect(xds.connect_timeout).toBe("1s");
    expect(xds.load_assignment).toEqual({
      cluster_name: XDS_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.0.0.5", port_value: 18000 } } } }] }],
    });
    expect(xds.typed_extension_protocol_options[HPO]).toEqual({
      "@type": `type.googleapis.com/${HPO}`,
      explicit_http_config: { http2_protocol_options: {} },
    });
    expect(xds.upstream_connection_options.tcp_keepalive).toBeDefined();
  });

  it("uses STATIC for IPv4 and IPv6 literals and STRICT_DNS for names", () => {
    const types = (host: string) => cluster(render({ xds: { host, port: 1 } }), XDS_CLUSTER).type;
    expect(types("127.0.0.1")).toBe("STATIC");
    expect(types("::1")).toBe("STATIC");
    expect(types("localhost")).toBe("STRICT_DNS");
    expect(types("control-plane.portico.svc")).toBe("STRICT_DNS");
  });

  it("puts the admin API on the given address, outside the client connection limit, and has nothing else", () => {
    const b = render({ admin: { address: "0.0.0.0", port: 0 } });
    expect(b.admin).toEqual({ address: { socket_address: { address: "0.0.0.0", port_value: 0 } }, ignore_global_conn_limit: true });
    expect(Object.keys(b).sort()).toEqual([
      "admin",
      "dynamic_resources",
      "layered_runtime",
      "node",
      "overload_manager",
      "static_resources",
    ]);
    expect(b.static_resources.clusters.map((c: Json) => c.name)).toEqual([XDS_CLUSTER]);
  });
});

describe("the overload manager", () => {
  it("watches the heap against the given limit: shrink at 95%, refuse requests at 98% (Envoy's edge page)", () => {
    const om = render().overload_manager;
    expect(om.refresh_interval).toBe("0.250s");
    expect(om.resource_monitors[0]).toEqual({
      name: "envoy.resource_monitors.fixed_heap",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig",
        max_heap_size_bytes: 1 << 30,
      },
    });
    expect(om.actions).toEqual([
      {
        name: "envoy.overload_actions.shrink_heap",
        triggers: [{ name: "envoy.resource_monitors.fixed_heap", threshold: { value: 0.95 } }],
      },
      {
        name: "envoy.overload_actions.stop_accepting_requests",
        triggers: [{ name: "envoy.resource_monitors.fixed_heap", threshold: { value: 0.98 } }],
      },
    ]);
  });

  it("limits client connections in all with the global downstream connections monitor", () => {
    const om = render({ overload: { maxHeapBytes: 1 << 30, maxDownstreamConnections: 42 } }).overload_manager;
    expect(om.resource_monitors[1]).toEqual({
      name: "envoy.resource_monitors.global_downstream_max_connections",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
        max_active_downstream_connections: 42,
      },
    });
  });
});

describe("the RE2 program size runtime layer", () => {
  it("raises re2.max_program_size (error and warn) from Envoy's 100 to RE2_MAX_PROGRAM_SIZE", () => {
    expect(render().layered_runtime).toEqual({
      layers: [
        {
          name: "portico",
          static_layer: {
            "re2.max_program_size.error_level": RE2_MAX_PROGRAM_SIZE,
            "re2.max_program_size.warn_level": RE2_MAX_PROGRAM_SIZE,
          },
        },
      ],
    });
    expect(RE2_MAX_PROGRAM_SIZE).toBe(2048);
  });
});

describe("bootstrapYaml", () => {
  it("is the same bootstrap as YAML text, without anchors", () => {
    const text = bootstrapYaml(options);
    expect(parse(text)).toEqual(renderBootstrap(options));
    expect(text).not.toMatch(/[&*]a\d/); // shared sub-objects (cds/lds config) written out, not aliased
  });
});
