// Listeners -> Envoy Listeners: one HTTP connection manager per filter chain, routes over RDS,
// certificates over SDS and plugin configs over ECDS. Nothing that changes often lives here:
// a listener only changes when its address, protocols, TLS layout, access log, edge limits or
// plugin list changes, and only such a change makes Envoy drain its connections.
import type { AccessLogModel, GatewayModel, ListenerModel, NativePluginModel, PluginModel } from "../model/types.js";
import { policySlot } from "../policies/index.js";
import { identityHeaderStrip, stripsIdentityHeaders } from "./consumers.js";
import { hcmLimits, listenerBufferLimit } from "./listener-limits.js";
import { ADS_SOURCE, ANY, pluginFilterName, routeConfigName, socketAddress, suiteFilterName } from "./common.js";
import { type SuitePlan, suitePlan } from "./suite.js";

const WASM_FILTER_TYPE = ANY.wasm;
const TLS_INSPECTOR_TYPE = "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector";
const FILE_ACCESS_LOG_TYPE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog";
const STREAM_LOGGERS: Record<string, { name: string; type: string } | undefined> = {
  "/dev/stdout": {
    name: "envoy.access_loggers.stdout",
    type: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
  },
  "/dev/stderr": {
    name: "envoy.access_loggers.stderr",
    type: "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog",
  },
};

/** `plan`: how routes run their plugins (translate makes it once for every listener). */
export function listener(model: GatewayModel, l: ListenerModel, plan: SuitePlan = suitePlan(model)): object {
  return {
    name: l.name,
    address: socketAddress(l.address, l.port),
    // Envoy chooses a filter chain before the TLS handshake: without the inspector reading the
    // ClientHello it never sees the SNI, and every client would get the default certificate.
    ...(l.tls
      ? { listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": TLS_INSPECTOR_TYPE } }] }
      : {}),
    filter_chains: filterChains(model, l, plan),
    ...listenerBufferLimit(l.limits),
  };
}

function filterChains(model: GatewayModel, l: ListenerModel, plan: SuitePlan): object[] {
  const filters = [httpConnectionManager(model, l, plan)];
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

function httpConnectionManager(model: GatewayModel, l: ListenerModel, plan: SuitePlan): object {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: {
      "@type": ANY.hcm,
      stat_prefix: l.name,
      codec_type: codec(l),
      // An edge proxy: the client is the peer, not whatever X-Forwarded-For claims, unless the
      // listener says how many proxies in front of it are trusted (their X-Forwarded-For entries,
      // from the right). This client address is what ip-restriction's RBAC remote_ip matches.
      use_remote_address: true,
      ...(l.trustedHops > 0 ? { xff_num_trusted_hops: l.trustedHops } : {}),
      ...hcmLimits(l.limits),
      rds: { route_config_name: routeConfigName(l.name), config_source: ADS_SOURCE },
      http_filters: [...(stripsIdentityHeaders(model) ? [identityHeaderStrip()] : []), ...pluginSlots(model, l, plan), router()],
      ...(l.accessLog ? { access_log: [accessLogger(l.accessLog)] } : {}),
    },
  };
}

/**
 * Envoy's access logger: one line per request (JSON: one object, typed where a field is a single
 * operator). /dev/stdout and /dev/stderr use Envoy's stream loggers, which write to the open file
 * descriptor: opening /dev/stdout fails (ENXIO) when stdout is a socket, as under systemd's
 * journal or a Node parent. Any other path is opened by Envoy's file logger on Envoy's host.
 * The log lives in the connection manager, so changing it changes the listener (it drains).
 */
function accessLogger(a: AccessLogModel): object {
  let logFormat: object | undefined;
  if (a.format === "json") logFormat = { json_format: a.fields };
  // A text format is written as is: without a final newline every line would run into the next.
  else if (a.template !== null)
    logFormat = { text_format_source: { inline_string: a.template.endsWith("\n") ? a.template : `${a.template}\n` } };
  const format = logFormat ? { log_format: logFormat } : {};
  const stream = STREAM_LOGGERS[a.path];
  if (stream) return { name: stream.name, typed_config: { "@type": stream.type, ...format } };
  return { name: "envoy.access_loggers.file", typed_config: { "@type": FILE_ACCESS_LOG_TYPE, path: a.path, ...format } };
}

/**
 * Every plugin's slot in chain order, and before a plugin's own slot the suite slots of the runs
 * it starts on this listener's routes (sorted by name, so reordering routes leaves the listener
 * as it is). A route enables either a run's suite slot or its members' own slots, never both, and
 * no plugin it enables lies between a run's members (translate/suite.ts): at the first member's
 * place, the suite slot keeps the route's filters in chain order.
 */
function pluginSlots(model: GatewayModel, l: ListenerModel, plan: SuitePlan): object[] {
  const startingAt = new Map<string, string[]>();
  for (const members of plan.runs(l.name)) {
    const first = members[0]!.name;
    startingAt.set(first, [...(startingAt.get(first) ?? []), suiteFilterName(members.map((m) => m.name))]);
  }
  return model.plugins.flatMap((p) => [...(startingAt.get(p.name) ?? []).sort().map(wasmSlot), pluginSlot(p)]);
}

/**
 * Each plugin holds a fixed slot in the chain: its config (module, JSON) arrives over ECDS and
 * it is switched on per route, so neither a config change nor attaching it to a route touches
 * the listener. Without a config yet, Envoy waits (listener warming) rather than serving
 * requests past a missing plugin.
 */
function pluginSlot(plugin: PluginModel): object {
  if (plugin.kind === "native") return nativePolicySlot(plugin);
  return wasmSlot(pluginFilterName(plugin.name));
}

/** A Wasm filter slot (a plugin's or a suite's): its config over ECDS, off until a route enables it. */
function wasmSlot(name: string): object {
  return { name, config_discovery: { config_source: ADS_SOURCE, type_urls: [WASM_FILTER_TYPE] }, disabled: true };
}

/**
 * A native policy's slot holds the Envoy filter itself with a fixed config that depends only on
 * the policy kind; a route switches it on with the policy's per-route config (translate/routes.ts).
 * So editing the policy changes routes only, never the listener.
 */
function nativePolicySlot(plugin: NativePluginModel): object {
  return { name: pluginFilterName(plugin.name), typed_config: policySlot(plugin.policy).typedConfig, disabled: true };
}

function router(): object {
  return { name: "envoy.filters.http.router", typed_config: { "@type": ANY.router } };
}
