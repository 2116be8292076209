// A listener's edge-safety settings: how Envoy treats odd header names and escaped slashes, how
// big and how slow a client's request headers may be, how much it may buffer, and HTTP/2 limits.
// Each defaults to the value Envoy's "Configuring Envoy as an edge proxy" page and Envoy Gateway's
// ClientTrafficPolicy recommend (docs/gateway-config.md gives each one's reason). Field names and
// values are Envoy's own (lower-cased), so an Envoy user finds what they expect.
// Kept apart from schema-listeners.ts, which spreads `listenerLimitFields` into the listener.
import { z } from "zod";
import { duration } from "./durations.js";

/** The defaults, in gateway.yaml's units; the schema's prefaults and nothing else read them. */
export const LISTENER_LIMIT_DEFAULTS = {
  headers_with_underscores_action: "reject_request",
  path_with_escaped_slashes_action: "unescape_and_redirect",
  normalize_path: true,
  merge_slashes: true,
  max_request_headers_kb: 60,
  request_headers_timeout: "10s",
  stream_idle_timeout: "300s",
  idle_timeout: "3600s",
  per_connection_buffer_limit_bytes: 32768,
  http2: { max_concurrent_streams: 100, initial_stream_window_size: 65536, initial_connection_window_size: 1048576 },
} as const;

/** Envoy's bounds (HCM max_request_headers_kb; Http2ProtocolOptions windows and streams). */
const MAX_REQUEST_HEADERS_KB = 8192;
const H2_MIN_WINDOW = 65535;
const INT32_MAX = 2147483647;
/** Envoy takes any uint32 here; past 1 GiB a per-connection buffer is a memory hole, not a limit. */
const MAX_CONNECTION_BUFFER = 1024 * 1024 * 1024;

const d = LISTENER_LIMIT_DEFAULTS;

const http2Limits = z
  .strictObject({
    max_concurrent_streams: z
      .number()
      .int()
      .min(1)
      .max(INT32_MAX)
      .prefault(d.http2.max_concurrent_streams)
      .meta({ description: "Most concurrent streams on one HTTP/2 connection (1 to 2147483647)." }),
    initial_stream_window_size: z
      .number()
      .int()
      .min(H2_MIN_WINDOW)
      .max(INT32_MAX)
      .prefault(d.http2.initial_stream_window_size)
      .meta({ description: "HTTP/2 flow-control window of one stream, in bytes (65535 to 2147483647)." }),
    initial_connection_window_size: z
      .number()
      .int()
      .min(H2_MIN_WINDOW)
      .max(INT32_MAX)
      .prefault(d.http2.initial_connection_window_size)
      .meta({ description: "HTTP/2 flow-control window of one connection, in bytes (65535 to 2147483647)." }),
  })
  .meta({ description: "HTTP/2 limits per client connection." });

/** Spread into the listener schema. */
export const listenerLimitFields = {
  headers_with_underscores_action: z.enum(["reject_request", "drop_header", "allow"]).prefault(d.headers_with_underscores_action).meta({
    description:
      "A request header with '_' in its name: reject_request (400), drop_header, or allow. Upstreams that read '_' as '-' would take x_jwt_sub for x-jwt-sub.",
  }),
  path_with_escaped_slashes_action: z
    .enum(["unescape_and_redirect", "reject_request", "unescape_and_forward", "keep_unchanged"])
    .prefault(d.path_with_escaped_slashes_action)
    .meta({
      description:
        "A path with %2F or %5C: unescape_and_redirect (to the unescaped, normalised path), reject_request (400), unescape_and_forward, or keep_unchanged.",
    }),
  normalize_path: z
    .boolean()
    .prefault(d.normalize_path)
    .meta({ description: "Normalise the path (RFC 3986: resolve . and .. segments) before routing." }),
  merge_slashes: z.boolean().prefault(d.merge_slashes).meta({ description: "Merge repeated slashes in the path before routing." }),
  max_request_headers_kb: z
    .number()
    .int()
    .min(1)
    .max(MAX_REQUEST_HEADERS_KB)
    .prefault(d.max_request_headers_kb)
    .meta({ description: "Largest request headers accepted, in KiB (1 to 8192); bigger: 431." }),
  request_headers_timeout: duration("Time a client has to send its complete request headers; 0: no limit.").prefault(
    d.request_headers_timeout,
  ),
  stream_idle_timeout: duration("Time a request may go without any data in either direction; 0: no limit.").prefault(d.stream_idle_timeout),
  idle_timeout: duration("Time a client connection may stay open with no request in flight; 0: no limit.").prefault(d.idle_timeout),
  per_connection_buffer_limit_bytes: z
    .number()
    .int()
    .min(1)
    .max(MAX_CONNECTION_BUFFER)
    .prefault(d.per_connection_buffer_limit_bytes)
    .meta({ description: "Bytes Envoy buffers per client connection before it stops reading from it (1 to 1073741824)." }),
  http2: http2Limits.prefault({}),
};
