// Constants of the proxy-wasm ABI 0.2.1, the host calls Envoy links, and the header-pair wire
// format. Values follow proxy-wasm/spec and proxy-wasm-cpp-host, which Envoy 1.40 embeds.

export enum WasmResult {
  Ok,
  NotFound,
  BadArgument,
  SerializationFailure,
  ParseFailure,
  BadExpression,
  InvalidMemoryAccess,
  Empty,
  CasMismatch,
  ResultMismatch,
  InternalFailure,
  BrokenConnection,
  Unimplemented,
}
export enum HeaderMapType {
  RequestHeaders,
  RequestTrailers,
  ResponseHeaders,
  ResponseTrailers,
  GrpcReceiveInitialMetadata,
  GrpcReceiveTrailingMetadata,
  HttpCallResponseHeaders,
  HttpCallResponseTrailers,
}
export enum BufferType {
  HttpRequestBody,
  HttpResponseBody,
  NetworkDownstreamData,
  NetworkUpstreamData,
  HttpCallResponseBody,
  GrpcReceiveBuffer,
  VmConfiguration,
  PluginConfiguration,
  CallData,
}
export enum MetricType {
  Counter,
  Gauge,
  Histogram,
}
export enum LogLevel {
  Trace,
  Debug,
  Info,
  Warn,
  Error,
  Critical,
}
export enum StreamType {
  Request,
  Response,
  Downstream,
  Upstream,
}
export enum FilterHeadersStatus {
  Continue,
  StopIteration,
  ContinueAndEndStream,
  StopAllIterationAndBuffer,
  StopAllIterationAndWatermark,
}
export enum FilterDataStatus {
  Continue,
  StopIterationAndBuffer,
  StopIterationAndWatermark,
  StopIterationNoBuffer,
}
export enum FilterTrailersStatus {
  Continue,
  StopIteration,
}

/** Ordered [name, value] pairs as on the wire; the emulator lowercases names like Envoy. */
export type HeaderList = [string, string][];

// cpp-host registers FOR_ALL_HOST_FUNCTIONS for every ABI, plus continue_stream, close_stream and
// get_log_level for 0.2.1. proxy_clear_route_cache, proxy_continue_request and
// proxy_get_configuration are registered for ABI 0.1.0 only, so an 0.2.1 module importing them
// fails to link in Envoy exactly like one importing a FastEdge-only call.
export const PROXY_IMPORT_NAMES: readonly string[] = [
  "log",
  "get_log_level",
  "get_status",
  "set_property",
  "get_property",
  "send_local_response",
  "get_shared_data",
  "set_shared_data",
  "register_shared_queue",
  "resolve_shared_queue",
  "dequeue_shared_queue",
  "enqueue_shared_queue",
  "get_header_map_value",
  "add_header_map_value",
  "replace_header_map_value",
  "remove_header_map_value",
  "get_header_map_pairs",
  "set_header_map_pairs",
  "get_header_map_size",
  "get_buffer_status",
  "get_buffer_bytes",
  "set_buffer_bytes",
  "http_call",
  "grpc_call",
  "grpc_stream",
  "grpc_close",
  "grpc_cancel",
  "grpc_send",
  "set_tick_period_milliseconds",
  "get_current_time_nanoseconds",
  "define_metric",
  "increment_metric",
  "record_metric",
  "get_metric",
  "set_effective_context",
  "done",
  "call_foreign_function",
  "continue_stream",
  "close_stream",
].map((f) => `proxy_${f}`);
const WASI_FUNCTIONS = [
  "fd_write",
  "fd_read",
  "fd_seek",
  "fd_close",
  "fd_fdstat_get",
  "environ_get",
  "environ_sizes_get",
  "args_get",
  "args_sizes_get",
  "clock_time_get",
  "random_get",
  "proc_exit",
  "path_open",
  "fd_prestat_get",
  "fd_prestat_dir_name",
];

/** Every "module.name" Envoy 1.40 links for an ABI 0.2.1 module. */
export const HOST_IMPORTS: ReadonlySet<string> = new Set([
  ...[...PROXY_IMPORT_NAMES, "pthread_equal", "emscripten_notify_memory_growth"].map((f) => `env.${f}`),
  ...["wasi_snapshot_preview1", "wasi_unstable"].flatMap((m) => WASI_FUNCTIONS.map((f) => `${m}.${f}`)),
]);

// WasmBase::startVm lets _start/_initialize make only these calls; anything else traps
// ("restricted_callback"), so e.g. defining a metric in AssemblyScript top-level code kills the VM.
export const START_ALLOWED: ReadonlySet<string> = new Set([
  "proxy_log",
  "fd_write",
  "args_sizes_get",
  "args_get",
  "environ_sizes_get",
  "environ_get",
  "fd_prestat_get",
  "fd_prestat_dir_name",
  "clock_time_get",
  "random_get",
]);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How header names and values (JS strings) become the bytes the guest sees, and back. */
export interface HeaderCodec {
  encode(s: string): Uint8Array;
  decode(bytes: Uint8Array): string;
}
/** Header text as UTF-8 (the default). */
export const UTF8_HEADERS: HeaderCodec = { encode: (s) => encoder.encode(s), decode: (b) => decoder.decode(b) };
/**
 * Header text as byte strings, one char (0-255) per byte, as Node's http module hands raw
 * headers: lets a test give the filter values that are not UTF-8 (obs-text bytes, which Envoy
 * forwards to a Wasm filter as they came).
 */
export const LATIN1_HEADERS: HeaderCodec = {
  encode: (s) => new Uint8Array(Buffer.from(s, "latin1")),
  decode: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1"),
};

/** u32 count, then (u32 keyLen, u32 valueLen) per pair, then key\0value\0 per pair. */
export function serializePairs(pairs: readonly (readonly [string, string])[], codec: HeaderCodec = UTF8_HEADERS): Uint8Array {
  const encoded = pairs.map(([k, v]) => [codec.encode(k), codec.encode(v)] as const);
  const out = new Uint8Array(encoded.reduce((n, [k, v]) => n + 10 + k.length + v.length, 4));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, pairs.length, true);
  let pos = 4 + 8 * pairs.length;
  encoded.forEach(([k, v], i) => {
    dv.setUint32(4 + i * 8, k.length, true);
    dv.setUint32(8 + i * 8, v.length, true);
    out.set(k, pos);
    out.set(v, pos + k.length + 1);
    pos += k.length + v.length + 2;
  });
  return out;
}

/** Inverse of serializePairs. Like cpp-host's toPairs, a truncated size table yields no pairs. */
export function deserializePairs(bytes: Uint8Array, codec: HeaderCodec = UTF8_HEADERS): HeaderList {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = bytes.length < 4 ? 0 : dv.getUint32(0, true);
  if (4 + count * 8 > bytes.length) return [];
  let pos = 4 + count * 8;
  const text = (len: number) => {
    const s = codec.decode(bytes.subarray(pos, pos + len));
    pos += len + 1; // skip the NUL terminator
    return s;
  };
  return Array.from({ length: count }, (_, i) => {
    const [kLen, vLen] = [dv.getUint32(4 + i * 8, true), dv.getUint32(8 + i * 8, true)];
    return [text(kLen), text(vLen)];
  });
}

/** The imports a module declares, e.g. to check them against HOST_IMPORTS before deploying. */
export function listImports(wasm: Uint8Array | WebAssembly.Module): WebAssembly.ModuleImportDescriptor[] {
  return WebAssembly.Module.imports(wasm instanceof WebAssembly.Module ? wasm : new WebAssembly.Module(new Uint8Array(wasm)));
}
