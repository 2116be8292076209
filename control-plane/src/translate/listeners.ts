// Listeners -> Envoy Listeners: one HTTP connection manager per filter chain, routes over RDS,
// certificates over SDS and plugin configs over ECDS. Nothing that changes often lives here:
// a listener only changes when its address, protocols, TLS layout or plugin list changes, and
// only such a change makes Envoy drain its connections.
import type { GatewayModel, ListenerModel } from "../model/types.js";
import { ADS_SOURCE, ANY, pluginFilterName, routeConfigName, socketAddress } from "./common.js";

const WASM_FILTER_TYPE = ANY.wasm;
const TLS_INSPECTOR_TYPE = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";

export function listener(model: GatewayModel, l: ListenerModel): object {
  return {
    name: l.name,
    address: socketAddress(l.address, l.port),
    // Envoy chooses a filter chain before the TLS handshake: without the inspector reading the
    // ClientHello it never sees the SNI, and every client would get the default certificate.
    ...(l.tls ? { listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": TLS_INSPECTOR_TYPE } }] } : {}),
    filter_chains: filterChains(model, l),
  };
}

function filterChains(model: GatewayModel, l: ListenerModel): object[] {
  const filters = [httpConnectionManager(model, l)];
  if (!l.tls) return [{ filters }];
  // One chain per certificate chosen by SNI; the certificate without server names (if any) is
  // the default chain, which also serves clients that send no SNI.
  return l.tls.certificates.map((c) => ({
    ...(c.sni.length > 0 ? { filter_chain_match: { server_names: c.sni } } : {}),
    filters,
    transport_socket: downstreamTls(l, c.secretName),
  }));
}

function downstreamTls(l: ListenerModel, secretName: string): object {
  const alpn = l.protocols.map((p) => (p === "http2" ? "h2" : "http/1.1"));
  alpn.sort((a, b) => (a === "h2" ? -1 : b === "h2" ? 1 : 0)); // prefer h2 when both are offered
  return {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": ANY.downstreamTls,
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: l.tls!.minVersion === "1.3" ? "TLSv1_3" : "TLSv1_2" },
        tls_certificate_sds_secret_configs: [{ name: secretName, sds_config: ADS_SOURCE }],
        alpn_protocols: alpn,
      },
    },
  };
}

function codec(l: ListenerModel): string {
  if (l.protocols.length === 1) return l.protocols[0] === "http2" ? "HTTP2" : "HTTP1";
  return "AUTO";
}

function httpConnectionManager(model: GatewayModel, l: ListenerModel): object {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: {
      "@type": ANY.hcm,
      stat_prefix: l.name,
      codec_type: codec(l),
      // An edge proxy: the client is the peer, not whatever X-Forwarded-For claims.
      use_remote_address: true,
      normalize_path: true,
      merge_slashes: true,
      stream_idle_timeout: "300s",
      common_http_protocol_options: { idle_timeout: "3600s" },
      http2_protocol_options: { max_concurrent_streams: 100, initial_stream_window_size: 65536, initial_connection_window_size: 1048576 },
      rds: { route_config_name: routeConfigName(l.name), config_source: ADS_SOURCE },
      http_filters: [...model.plugins.map((p) => pluginSlot(p.name)), router()],
    },
  };
}

/**
 * Each plugin holds a fixed slot in the chain: its config (module, JSON) arrives over ECDS and
 * it is switched on per route, so neither a config change nor attaching it to a route touches
 * the listener. Without a config yet, Envoy waits (listener warming) rather than serving
 * requests past a missing plugin.
 */
function pluginSlot(plugin: string): object {
  return {
    name: pluginFilterName(plugin),
    config_discovery: { config_source: ADS_SOURCE, type_urls: [WASM_FILTER_TYPE] },
    disabled: true,
  };
}

function router(): object {
  return { name: "envoy.filters.http.router", typed_config: { "@type": ANY.router } };
}
