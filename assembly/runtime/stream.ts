// Per-stream host calls that are not about headers.
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { encodeHeaderPairs, HeaderEntry } from "./headers";
import { OUT_PTR, OUT_SIZE, OUT_U64, resetOut, takeHostBuffer } from "./host";
import { callbackEpoch, effectiveContextChanged } from "./callback";
import { dropHeaderListings } from "./header-listing";

const CLEAR_ROUTE_CACHE = String.UTF8.encode("clear_route_cache");

/**
 * What a module running several filters in one Envoy filter (filters/suite) must see of their
 * host calls, to act as the chain of separate filters they replace: a reply ends the chain, a
 * resume continues with the next filter instead of Envoy's stream, a timer or a call's answer
 * goes back to the filter that asked for it. Null in a standalone filter, where each hooked call
 * costs one null check. The defaults change nothing (a hook that returns false lets the call
 * reach Envoy as usual).
 */
export class HostCallHooks {
  /** A filter sent a local reply (proxy_send_local_response was called). */
  localReplySent(): void {}
  /** A filter resumes the request of the effective context; true when the hook took it over (no proxy_continue_stream). */
  resumeRequested(): bool { return false; }
  /** A filter made `contextId` the effective context. */
  effectiveContextSet(contextId: u32): void {}
  /** A filter asks for a root timer of `ms` (0: none); true when the hook took it over (it answers for Envoy). */
  tickPeriodRequested(ms: u32): bool { return false; }
  /** A filter started an HTTP call (token 0: Envoy refused it). */
  httpCallStarted(token: u32): void {}
  /** A filter started a unary gRPC call (token 0: Envoy refused it); grpc.ts. */
  grpcCallStarted(token: u32): void {}
  /** A filter cancelled its gRPC call `token`; grpc.ts. */
  grpcCallCancelled(token: u32): void {}
}

let hooks: HostCallHooks | null = null;

/** Installs the hooks (filters/suite, once it runs filters); null removes them. */
export function installHostCallHooks(h: HostCallHooks | null): void {
  hooks = h;
}

/** The installed hooks, for the other hooked calls of the runtime (grpc.ts). */
export function hostCallHooks(): HostCallHooks | null {
  return hooks;
}

/**
 * Makes Envoy pick the route again after the path or authority changed.
 * Envoy 1.40 does not provide the `proxy_clear_route_cache` import the SDK declares (a module
 * importing it fails to load); it offers the same as the foreign function "clear_route_cache".
 * Envoy also clears the route cache itself when a Wasm filter edits request headers, so this is
 * belt and braces. Returns false when the host has no such function.
 */
export function clearRouteCache(): bool {
  resetOut();
  const r = abi.proxy_call_foreign_function(
    changetype<usize>(CLEAR_ROUTE_CACHE), CLEAR_ROUTE_CACHE.byteLength, 0, 0, OUT_PTR, OUT_SIZE,
  );
  if (r == 0) takeHostBuffer();
  return r == 0;
}

/** Resumes a request paused with StopIteration (a suite may take it over: HostCallHooks). */
export function resumeRequest(): bool {
  const h = hooks;
  if (h !== null && h.resumeRequested()) return true;
  return continueRequest();
}

/**
 * Lets Envoy's stream go on with the request (proxy_continue_stream), without the hooks: for the
 * suite once every member passed. Envoy may run the filters after ours before this returns, and
 * they may change the request map: the callback's header listings are dropped (header-listing.ts).
 */
export function continueRequest(): bool {
  const ok = abi.proxy_continue_stream(0) == 0;
  dropHeaderListings();
  return ok;
}

/** Answers the request from the filter. grpcStatus -1 means "not a gRPC reply". */
export function sendLocalResponse(status: u32, details: string, body: string, headers: HeaderEntry[], grpcStatus: i32 = -1): bool {
  const detailBuf = String.UTF8.encode(details);
  const bodyBuf = String.UTF8.encode(body);
  const pairs = encodeHeaderPairs(headers);
  const sent = abi.proxy_send_local_response(
    status,
    changetype<usize>(detailBuf), detailBuf.byteLength,
    changetype<usize>(bodyBuf), bodyBuf.byteLength,
    changetype<usize>(pairs), pairs.byteLength,
    grpcStatus,
  ) == 0;
  // Envoy answers for the stream now: what its maps look like afterwards is not ours to mirror.
  dropHeaderListings();
  const h = hooks;
  if (h !== null) h.localReplySent();
  return sent;
}

// The clock as read in the running callback (callback.ts): every filter of the callback (each
// member of a suite) gets the same time from one host call. A callback is microseconds long, and
// what a filter measures with the clock (expiry, token buckets, deadlines) is in milliseconds at
// the finest, so the time the callback began is the time of all of it.
let clockEpoch: u64 = 0;
let clockNanos: u64 = 0;

/** Host wall-clock time in nanoseconds since the Unix epoch: read once per callback. */
export function nowNanos(): u64 {
  const epoch = callbackEpoch();
  if (epoch != 0 && clockEpoch == epoch) return clockNanos;
  if (abi.proxy_get_current_time_nanoseconds(OUT_U64) != 0) return 0;
  const now = load<u64>(OUT_U64);
  clockEpoch = epoch;
  clockNanos = now;
  return now;
}

/**
 * Starts an HTTP call through an Envoy cluster and returns its token (0 when Envoy refused, e.g.
 * unknown cluster). The answer arrives as RootContext.onHttpCallResponse(token, ...) on the root
 * that is the effective context now. (The SDK's RootContext.httpCall keeps the token to itself,
 * so a root with several calls in flight cannot tell the answers apart.)
 */
export function httpCall(cluster: string, headers: HeaderEntry[], body: ArrayBuffer, timeoutMs: u32): u32 {
  const c = String.UTF8.encode(cluster);
  const h = encodeHeaderPairs(headers);
  const t = encodeHeaderPairs([]);
  store<u32>(OUT_U64, 0);
  const r = abi.proxy_http_call(
    changetype<usize>(c), c.byteLength, changetype<usize>(h), h.byteLength,
    changetype<usize>(body), body.byteLength, changetype<usize>(t), t.byteLength, timeoutMs, OUT_U64,
  );
  const token = r == 0 ? load<u32>(OUT_U64) : 0;
  const hk = hooks;
  if (hk !== null) hk.httpCallStarted(token);
  return token;
}

/** Host wall-clock time in milliseconds since the Unix epoch. */
export function nowMillis(): u64 {
  return nowNanos() / 1_000_000;
}

/** Makes later host calls act on another context (e.g. resume a waiting stream from the root). */
export function setEffectiveContext(contextId: u32): bool {
  const h = hooks;
  if (h !== null) h.effectiveContextSet(contextId);
  const ok = abi.proxy_set_effective_context(contextId) == 0;
  // Host calls act on `contextId` now (when Envoy refused, on none we know of).
  effectiveContextChanged(ok ? contextId : 0);
  return ok;
}

/** Sets the calling root context's timer period (0 stops it); false if the host refused. */
export function setTickPeriod(ms: u32): bool {
  const h = hooks;
  if (h !== null && h.tickPeriodRequested(ms)) return true;
  return abi.proxy_set_tick_period_milliseconds(ms) == 0;
}
