// Logging through `proxy_log`, so messages land in Envoy's log at the right level.
// (The SDK's log() writes to WASI stdout, which loses the level and bypasses Envoy's
// component log filtering.)
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { LogLevelValues } from "@gcoredev/proxy-wasm-sdk-as/assembly";
import { OUT_U32 } from "./host";

export { LogLevelValues as LogLevel };

/** Asks the host which level is enabled; callers cache it (it changes only via Envoy's admin). */
export function hostLogLevel(): LogLevelValues {
  if (abi.proxy_get_log_level(OUT_U32) != 0) return LogLevelValues.info;
  return <LogLevelValues>load<u32>(OUT_U32);
}

export function log(level: LogLevelValues, message: string): void {
  const buf = String.UTF8.encode(message);
  abi.proxy_log(level, changetype<usize>(buf), buf.byteLength);
}

export function logTrace(message: string): void { log(LogLevelValues.trace, message); }
export function logDebug(message: string): void { log(LogLevelValues.debug, message); }
export function logInfo(message: string): void { log(LogLevelValues.info, message); }
export function logWarn(message: string): void { log(LogLevelValues.warn, message); }
export function logError(message: string): void { log(LogLevelValues.error, message); }
export function logCritical(message: string): void { log(LogLevelValues.critical, message); }
