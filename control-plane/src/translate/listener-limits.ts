// A listener's edge-safety settings (ListenerLimitsModel) as Envoy fields: most live in the HTTP
// connection manager, the buffer limit on the listener itself. Any change to them changes the
// listener, so Envoy drains its connections (docs/gateway-config.md says so). A 0s timeout is
// Envoy's "no limit".
import type { ListenerLimitsModel } from "../model/types.js";
import { duration } from "./common.js";

/** Fields of the HttpConnectionManager. */
export function hcmLimits(l: ListenerLimitsModel): object {
  return {
    normalize_path: l.normalizePath,
    merge_slashes: l.mergeSlashes,
    path_with_escaped_slashes_action: l.pathWithEscapedSlashesAction.toUpperCase(),
    max_request_headers_kb: l.maxRequestHeadersKb,
    request_headers_timeout: duration(l.requestHeadersTimeoutMs),
    stream_idle_timeout: duration(l.streamIdleTimeoutMs),
    common_http_protocol_options: {
      idle_timeout: duration(l.idleTimeoutMs),
      headers_with_underscores_action: l.headersWithUnderscoresAction.toUpperCase(),
    },
    http2_protocol_options: {
      max_concurrent_streams: l.http2.maxConcurrentStreams,
      initial_stream_window_size: l.http2.initialStreamWindowSize,
      initial_connection_window_size: l.http2.initialConnectionWindowSize,
    },
  };
}

/** Fields of the Listener. */
export function listenerBufferLimit(l: ListenerLimitsModel): object {
  return { per_connection_buffer_limit_bytes: l.perConnectionBufferLimitBytes };
}
