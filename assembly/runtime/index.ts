// Portico's layer over @gcoredev/proxy-wasm-sdk-as: what every filter imports.
export { FilterRoot, FilterStream } from "./contexts";
export { registerFilter } from "./registry";
export {
  HeaderMap, HeaderEntry, HeaderName, getHeader, getHeaderBytes, setHeader, setHeaderBytes, setHeaderRaw, addHeader, addHeaderBytes, addHeaderRaw,
  removeHeader, removeHeaderBytes, getHeaders, getHeaderValues, getHeaderPairsBytes, pairValues, decodeHeaderPairs, encodeHeaderPairs,
} from "./headers";
export { HeaderSnapshot } from "./header-snapshot";
export { PropertyPath, propertyPath, getPropertyBytes, getPropertyString, readProperty, setPropertyString } from "./properties";
export { Metric, MetricKind, MemoryGauge, counter, gauge, histogram } from "./metrics";
export { log, logTrace, logDebug, logInfo, logWarn, logError, logCritical, hostLogLevel, LogLevel } from "./log";
export { clearRouteCache, continueRequest, resumeRequest, sendLocalResponse, nowNanos, nowMillis, httpCall, setEffectiveContext, setTickPeriod } from "./stream";
export { FilterHeadersStatusValues as HeadersStatus, FilterDataStatusValues as DataStatus } from "@gcoredev/proxy-wasm-sdk-as/assembly";
export { HostSource, addressIp, sourceIp } from "./source";
export { ClusterRef, declareClusters } from "./clusters";
export { IdentityHeaders, foldHeaderName } from "./identity-headers";
export { SHARED_OK, SharedKey, SharedValue, getSharedData, setSharedData } from "./shared-data";
export { GRPC_DEADLINE_EXCEEDED, GRPC_OK, GRPC_UNAVAILABLE, GrpcTarget, grpcCall, grpcCancel, grpcServiceProto, readGrpcResponse } from "./grpc";
