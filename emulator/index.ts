// Public surface of the proxy-wasm host emulator (Envoy 1.40 semantics, ABI 0.2.1).
export {
  BufferType,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  HeaderMapType,
  HOST_IMPORTS,
  LATIN1_HEADERS,
  LogLevel,
  MetricType,
  StreamType,
  WasmResult,
  UTF8_HEADERS,
  deserializePairs,
  listImports,
  serializePairs,
  type HeaderCodec,
  type HeaderList,
} from "./abi.js";
export { MetricsStore, type MetricSnapshot } from "./metrics.js";
export { Plugin, type ClusterDeclaration, type PluginOptions } from "./plugin.js";
export type { Properties, PropertyValue } from "./properties.js";
export { runHttpRequest, type HttpExchange } from "./run.js";
export { SharedData, type SharedValue } from "./shared-data.js";
export { HttpStream, type LocalResponse, type SendOptions, type StreamOptions } from "./stream.js";
export {
  GuestCrashError,
  ProxyWasmVm,
  WasmLoadError,
  type ContextRef,
  type GrpcCall,
  type HttpCall,
  type HttpCallReply,
  type LogEntry,
  type VmOptions,
} from "./vm.js";
export { grpcServiceCluster } from "./grpc-service.js";
export { ProcExit } from "./wasi.js";
