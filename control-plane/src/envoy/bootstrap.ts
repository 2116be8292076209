// The bootstrap an Envoy needs to join the control plane: who it is (node), how to reach the
// xDS server (ADS over gRPC), where its admin API listens, and the overload limits that keep it
// alive under load (overload.ts). Everything else (listeners,
// routes, clusters, secrets, plugin configs with their modules) arrives over ADS, so an Envoy
// on another host needs nothing but this file.
import { isIP } from "node:net";
import { stringify } from "yaml";
import { ADS_SOURCE, socketAddress, XDS_CLUSTER } from "../translate/common.js";
import { type OverloadLimits, overloadManager } from "./overload.js";

export interface BootstrapOptions {
  /** node.id: the name the control plane knows this Envoy by. */
  nodeId: string;
  /** node.cluster (default "portico"). */
  nodeCluster?: string;
  /** The control plane's gRPC xDS server. */
  xds: { host: string; port: number };
  /** Envoy's admin API (port 0: any free port). */
  admin: { address: string; port: number };
  /** Heap and client-connection limits of Envoy's overload manager (overload.ts sizes them). */
  overload: OverloadLimits;
}

export { XDS_CLUSTER } from "../translate/common.js";

const HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

/** The bootstrap as proto3 JSON (the shape of Envoy's YAML bootstrap). */
export function renderBootstrap(o: BootstrapOptions): object {
  return {
    node: { id: o.nodeId, cluster: o.nodeCluster ?? "portico" },
    static_resources: {
      clusters: [
        {
          ...xdsCluster(o.xds),
          // The ADS stream is long-lived and mostly idle: keepalive notices a control plane that
          // went away without closing the connection (host down, NAT entry expired) in about a minute.
          upstream_connection_options: {
            tcp_keepalive: { keepalive_time: 30, keepalive_interval: 10, keepalive_probes: 3 },
          },
        },
      ],
    },
    dynamic_resources: {
      ads_config: {
        api_type: "GRPC",
        transport_api_version: "V3",
        // The node is only needed once per stream; later requests stay small.
        set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: XDS_CLUSTER } }],
      },
      cds_config: ADS_SOURCE,
      lds_config: ADS_SOURCE,
    },
    // The admin API stays reachable when clients hold every connection the overload manager
    // allows: that is when an operator needs its stats.
    admin: { address: socketAddress(o.admin.address, o.admin.port), ignore_global_conn_limit: true },
    overload_manager: overloadManager(o.overload),
    layered_runtime: { layers: [{ name: "portico", static_layer: RE2_RUNTIME }] },
  };
}

/**
 * Envoy refuses a safe_regex whose compiled RE2 program has more than
 * re2.max_program_size.error_level instructions (default 100), and warns above warn_level: a
 * 100-character literal path regex, or a long path suffix or glob (translated to a safe_regex),
 * would be NACKed. An RE2 program is about one instruction per literal character or class plus a
 * few per operator (a 1024-character literal is 1028; `\d{1,1000}` 2003), so 2048 takes any
 * pattern up to the 1024 characters a regex may have (the filters' limit too) short of large
 * repetition counts, and is still tiny for RE2 (whose own memory budget is 8 MiB per regex).
 */
export const RE2_MAX_PROGRAM_SIZE = 2048;
const RE2_RUNTIME = {
  "re2.max_program_size.error_level": RE2_MAX_PROGRAM_SIZE,
  "re2.max_program_size.warn_level": RE2_MAX_PROGRAM_SIZE,
};

/** renderBootstrap as YAML text, ready for `envoy -c`. */
export function bootstrapYaml(o: BootstrapOptions): string {
  return stringify(renderBootstrap(o), { aliasDuplicateObjects: false });
}

function xdsCluster(at: BootstrapOptions["xds"]): object {
  return {
    name: XDS_CLUSTER,
    // A name is resolved (and re-resolved) by Envoy; an IP literal needs no DNS at all.
    type: isIP(at.host) ? "STATIC" : "STRICT_DNS",
    connect_timeout: "1s",
    load_assignment: {
      cluster_name: XDS_CLUSTER,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(at.host, at.port) } }] }],
    },
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS]: {
        "@type": `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
}
