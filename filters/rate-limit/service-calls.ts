// The calls to the rate limit service from one VM: the per-request calls in flight (token -> the
// stream waiting for it, bounded by global.max_pending), the synced rules' report (at most one in
// flight, sync.ts), the gauge of both, and the count and throttled log of failures.
import { GrpcTarget, grpcCall, grpcCancel, logWarn, nowMillis, readGrpcResponse } from "../../assembly/runtime";
import { hostResultPtr, hostResultSize, releaseHostResult } from "../../assembly/runtime/host";
import { GlobalConfig } from "./config";
import { FailureLog } from "./failure-log";
import { RLS_METHOD, RLS_SERVICE, RateLimitAnswer, decodeRateLimitResponse } from "./rls";
import { GlobalStats } from "./stats";

/**
 * The largest answer read from the rate limit service. An answer to at most 32 descriptors is a
 * few hundred bytes (more with response headers the service adds, which are not used); anything
 * beyond this is a failure, not copied into the VM.
 */
export const MAX_ANSWER_BYTES: u32 = 64 * 1024;

/** `S`: the stream type waiting for an answer (generic so this module needs no import of it). */
export class ServiceCalls<S> {
  private readonly target: GrpcTarget;
  /** Calls in flight: token -> the stream waiting for it. Bounded by global.max_pending. */
  private readonly pending: Map<u32, S> = new Map<u32, S>();
  /** The synced rules' report in flight (0: none). */
  private reportToken: u32 = 0;
  private readonly failureLog: FailureLog = new FailureLog();

  constructor(private readonly global: GlobalConfig, private readonly stats: GlobalStats) {
    this.target = new GrpcTarget(global.cluster, RLS_SERVICE, RLS_METHOD);
    stats.pending.record(0);
  }

  /** True when a new per-request call would exceed max_pending. */
  get full(): bool {
    return this.pending.size >= this.global.maxPending;
  }

  /**
   * Counts a request that needs the service's decision and starts its call for `stream`; its
   * token, or 0 when none was made (max_pending reached, or Envoy refused).
   */
  start(stream: S, message: ArrayBuffer): u32 {
    this.stats.calls.increment();
    if (this.full) return 0;
    const token = grpcCall(this.target, message, this.global.timeoutMs);
    if (token == 0) return 0;
    this.pending.set(token, stream);
    this.recordPending();
    return token;
  }

  /** The stream waiting for `token`, now no longer pending; null for a token this VM does not know. */
  take(token: u32): S | null {
    if (!this.pending.has(token)) return null;
    const stream = this.pending.get(token);
    this.pending.delete(token);
    this.recordPending();
    return stream;
  }

  /** A stream ended before its answer came: the call is cancelled and forgotten. */
  cancel(token: u32): void {
    if (this.take(token) !== null) grpcCancel(token);
  }

  get reportInFlight(): bool {
    return this.reportToken != 0;
  }

  /** Counts and starts the synced rules' report; false when Envoy refused the call. */
  startReport(message: ArrayBuffer): bool {
    this.stats.calls.increment();
    const token = grpcCall(this.target, message, this.global.timeoutMs);
    if (token == 0) return false;
    this.reportToken = token;
    this.recordPending();
    return true;
  }

  isReport(token: u32): bool {
    return this.reportToken != 0 && token == this.reportToken;
  }

  /** The report's answer came (or the call ended, or was never made). */
  endReport(): void {
    this.reportToken = 0;
    this.recordPending();
  }

  /** Counts (and, throttled, logs) one failure to get the service's decision. */
  noteFailure(cause: string): void {
    this.stats.errors.increment();
    const line = this.failureLog.note(cause, <i64>nowMillis());
    if (line !== null) logWarn(line);
  }

  /** The gauge of calls in flight: per-request calls and the synced rules' report. */
  private recordPending(): void {
    this.stats.pending.record(<u64>(this.pending.size + (this.reportToken != 0 ? 1 : 0)));
  }
}

/** The answer of `responseSize` bytes to `descriptors` descriptors; null when over MAX_ANSWER_BYTES or unreadable. */
export function readAnswer(responseSize: u32, descriptors: i32): RateLimitAnswer | null {
  if (responseSize > MAX_ANSWER_BYTES || !readGrpcResponse(responseSize)) return null;
  const answer = decodeRateLimitResponse(hostResultPtr(), hostResultSize(), descriptors);
  releaseHostResult();
  return answer;
}

/** The failure cause of a call that ended with gRPC status `code`. */
export function grpcStatusCause(code: u32): string {
  return "gRPC status " + code.toString() + grpcStatusName(code);
}

function grpcStatusName(code: u32): string {
  switch (code) {
    case 1: return " (CANCELLED)";
    case 2: return " (UNKNOWN)";
    case 4: return " (DEADLINE_EXCEEDED)";
    case 8: return " (RESOURCE_EXHAUSTED)";
    case 12: return " (UNIMPLEMENTED)";
    case 13: return " (INTERNAL)";
    case 14: return " (UNAVAILABLE)";
    default: return "";
  }
}
