// The narrow interfaces between the emulator's parts (types only, so no module here imports
// another for a value): the host calls get a HostEnv from the VM and, per context, a PluginHost
// and a StreamHost; plugins and streams get a VmCore. Each class keeps its own state private and
// builds the interface object it lends out.
import type { BufferType, HeaderCodec, HeaderList, HeaderMapType, LogLevel, StreamType, WasmResult } from "./abi.js";
import type { HeaderMap } from "./headers.js";
import type { GuestMemory } from "./memory.js";
import type { VmMetrics } from "./metrics.js";
import type { ClusterDeclaration, Plugin } from "./plugin.js";
import type { AttributeSource } from "./properties.js";
import type { SharedData } from "./shared-data.js";

/** A buffer the guest can read and, for bodies, rewrite (Envoy's Buffer::copyFrom rules). */
export interface HostBuffer {
  bytes(): Uint8Array;
  write?(start: number, length: number, data: Uint8Array): WasmResult;
}

/** An HTTP callout's response, readable while proxy_on_http_call_response runs. */
export interface HttpCallResponse {
  headers: HeaderMap;
  body: Uint8Array;
  trailers: HeaderMap;
}

/** What the host calls (and property lookups) need from a plugin's root context. */
export interface PluginHost {
  /** The root context id: callouts and shared-queue notifications go to it. */
  readonly rootContextId: number;
  /** The "plugin_name" property. */
  readonly name: string;
  /** The "plugin_root_id" property. */
  readonly rootId: string;
  /** The PluginConfiguration buffer; null outside context creation and on_configure (Envoy serves it only then). */
  pluginConfig(): Uint8Array | null;
  /** The callout response while proxy_on_http_call_response runs for this root, else undefined. */
  httpCallResponse(): HttpCallResponse | undefined;
  /** The gRPC response message while proxy_on_grpc_receive runs for this root, else undefined. */
  grpcResponse(): Uint8Array | undefined;
  /** proxy_set_tick_period_milliseconds: the first tick comes one period from now (0 stops the timer). */
  setTickPeriod(ms: number): void;
  /** proxy_done: NotFound unless proxy_on_done deferred the deletion; else deletes after the VM call. */
  done(): WasmResult;
  /** portico_declare_clusters: the clusters this configuration calls. */
  declareClusters(refs: readonly ClusterDeclaration[]): void;
}

/** What the host calls (and property lookups) need from a stream context. */
export interface StreamHost extends AttributeSource {
  /** Per-stream properties: proxy_set_property writes them, proxy_get_property reads them first. */
  readonly properties: Map<string, Uint8Array>;
  /** Inside proxy_on_log: unavailable maps read as NotFound, the final maps are readable again. */
  readonly inLogPhase: boolean;
  /** The map a host call may use, or null when Envoy would not hand it out. */
  headerMap(type: HeaderMapType, write: boolean): HeaderMap | null;
  /** Body buffer with Envoy's Buffer::copyFrom rules: replace a prefix, or append. */
  bodyBuffer(type: BufferType.HttpRequestBody | BufferType.HttpResponseBody): HostBuffer;
  /** A request-header edit (Envoy clears the route cache); `explicit`: the clear_route_cache foreign function. */
  clearRouteCache(explicit?: boolean): void;
  /** proxy_continue_stream: resumes the stopped direction after the VM call. */
  continueStream(type: StreamType.Request | StreamType.Response): void;
  /** proxy_close_stream: Envoy resets the stream after the VM call. */
  closeStream(type: StreamType): void;
  /** proxy_send_local_response; a second reply on an answered stream is ignored. */
  sendLocalResponse(status: number, details: string, body: Uint8Array, headers: HeaderList, grpc: number): void;
}

/** A context as host calls see it: the VM context (id 0), a plugin's root context or a stream. */
export interface ContextRef {
  readonly id: number;
  /** The root context, or a stream's plugin; null for the VM context. */
  readonly plugin: PluginHost | null;
  readonly stream: StreamHost | null;
  /** What proxy_get_status reports (set when an HTTP callout fails). */
  status: { code: number; message: string };
}

export interface HttpCall {
  token: number;
  upstream: string;
  headers: HeaderList;
  body: Uint8Array;
  trailers: HeaderList;
  timeoutMs: number;
  rootContextId: number;
  plugin: Plugin;
}

/** A unary gRPC call (proxy_grpc_call) waiting for vm.respondGrpc or vm.failGrpc. */
export interface GrpcCall {
  token: number;
  /** GrpcService.envoy_grpc.cluster_name from the call's service proto, or the raw bytes as a name. */
  cluster: string;
  /** The call's first argument as the guest passed it (an encoded GrpcService, or a bare cluster name). */
  serviceBytes: Uint8Array;
  /** The gRPC service ("envoy.service.ratelimit.v3.RateLimitService") and method ("ShouldRateLimit"). */
  service: string;
  method: string;
  /** The initial metadata (request headers of the gRPC call). */
  initialMetadata: HeaderList;
  /** The encoded request message. */
  message: Uint8Array;
  timeoutMs: number;
  rootContextId: number;
  plugin: Plugin;
}

/** Calls a guest export (a missing one yields 0); the first argument is the context it runs in. */
export type Invoke = (name: string, a?: number, b?: number, c?: number, d?: number, e?: number) => number;

/** What plugins and streams need from their VM. */
export interface VmCore {
  readonly vmConfig: Uint8Array;
  /** The emulated clock. */
  readonly clockNs: bigint;
  readonly allowOnHeadersStopIteration: boolean;
  /** Context ids are unique and increasing per VM, shared by root and stream contexts. */
  allocContextId(): number;
  /** `owner`: the Plugin of a root context (HttpCall.plugin of its callouts). */
  addContext(ref: ContextRef, owner?: Plugin): void;
  removeContext(id: number): void;
  /** Schedules proxy_on_tick for a root context every `ms` from now; 0 stops it. */
  setTickPeriod(rootContextId: number, ms: number): void;
  /** The callout response being delivered to a root context, if any. */
  httpCallResponse(rootContextId: number): HttpCallResponse | undefined;
  /** The gRPC response message being delivered to a root context, if any. */
  grpcResponse(rootContextId: number): Uint8Array | undefined;
  invoke: Invoke;
  /** Runs `fn` once the outermost guest call returned (Envoy's addAfterVmCallAction). */
  post(fn: () => void): void;
}

/** What the env.proxy_* (and WASI) host functions need: exactly the ABI's view of the VM. */
export interface HostEnv {
  readonly mem: GuestMemory;
  /** Inside _start/_initialize: only START_ALLOWED host calls may run. */
  readonly starting: boolean;
  readonly vmId: string;
  readonly vmConfig: Uint8Array;
  readonly logLevel: LogLevel;
  readonly clockNs: bigint;
  readonly sharedData: SharedData;
  readonly metrics: VmMetrics;
  /** Header names and values between JS strings and guest bytes (VmOptions.headerBytes). */
  readonly headerCodec: HeaderCodec;
  /** The context host calls act on: the effective one if the guest set it, else the called one. */
  ctx(): ContextRef;
  /** The context the host called into (cpp-host's current_context_), whatever the guest set. */
  called(): ContextRef;
  /** proxy_set_effective_context; false for an unknown id. */
  setEffective(id: number): boolean;
  log(level: LogLevel, message: string): void;
  /** Stream properties, then stream attributes, then plugin tokens, then VM properties. */
  property(ctx: ContextRef, path: string): Uint8Array | undefined;
  post(fn: () => void): void;
  invoke: Invoke;
  /** Context::httpCall: known cluster, :path, :method and :authority are required. */
  startHttpCall(call: Omit<HttpCall, "token" | "plugin">): { result: WasmResult; token: number };
  /** Context::grpcCall: a known cluster is required. */
  startGrpcCall(
    call: Omit<GrpcCall, "token" | "plugin" | "cluster" | "serviceBytes">,
    service: Uint8Array,
  ): { result: WasmResult; token: number };
  /** proxy_grpc_cancel: forgets a pending call (NotFound for an unknown token). */
  cancelGrpcCall(token: number): WasmResult;
}
