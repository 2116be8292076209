// What jwt-auth uses from the runtime layer and the SDK, in one place.
export {
  FilterRoot, FilterStream, HeaderEntry, HeaderMap, HeaderName, HeadersStatus, HostSource, MemoryGauge, Metric, counter,
  getHeaderBytes, logError, logInfo, nowNanos, registerFilter, removeHeaderBytes, resumeRequest, sendLocalResponse,
  setEffectiveContext, setHeaderBytes,
} from "../../assembly/runtime";
import { set_tick_period_milliseconds } from "@gcoredev/proxy-wasm-sdk-as/assembly";

/** Sets the root's timer period (the SDK's helper aborts on a non-OK result; this cannot fail in Envoy). */
export function set_tick_period_milliseconds_safe(ms: u32): void {
  set_tick_period_milliseconds(ms);
}
