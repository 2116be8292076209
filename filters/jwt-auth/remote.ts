// Remote JWKS: fetched through an Envoy cluster by one worker at a time, shared with every
// worker VM through proxy-wasm shared data, refreshed on a schedule and on demand (unknown kid,
// rate-limited), with backoff after failures. A failed fetch never replaces the last good set.
// The backoff lives in shared data next to the fetch lock, so while the IdP is down all workers
// together retry on one schedule instead of each on its own.
import {
  get_buffer_bytes, get_shared_data, set_shared_data, BufferTypeValues, WasmResultValues,
} from "@gcoredev/proxy-wasm-sdk-as/assembly";
import { HeaderEntry, HeaderMap, getHeader, httpCall, logInfo, logWarn, Metric, counter } from "../../assembly/runtime";
import { parseJsonBuffer } from "../../assembly/json";
import { Provider } from "./config";
import { readJwks } from "./jwks";

const MAX_JWKS_BYTES: u32 = 256 * 1024;
/** start(): no fetch is running. */
export const NOT_STARTED: u32 = 0;
/** start(): another worker is fetching. */
export const ANOTHER_WORKER: u32 = 0xffffffff;

function field(parts: string[], i: i32): u64 {
  return i < parts.length ? U64.parseInt(parts[i]) : 0;
}

/**
 * The shared fetch lock and backoff, one shared-data value "<fetching until> <no fetch before>
 * <consecutive failures>" (ms, ms, count). A value of an older version ("<until>") reads as
 * "no backoff".
 */
class LockState {
  constructor(public fetchingUntil: u64, public notBefore: u64, public failures: i32) {}

  static parse(buf: ArrayBuffer): LockState {
    const parts = String.UTF8.decode(buf).split(" ");
    return new LockState(field(parts, 0), field(parts, 1), <i32>field(parts, 2));
  }

  encode(): ArrayBuffer {
    return String.UTF8.encode(this.fetchingUntil.toString() + " " + this.notBefore.toString() + " " + this.failures.toString());
  }
}

export class RemoteKeys {
  private sharedKey: string;
  private lockKey: string;
  private seenCas: u32 = 0;
  inFlight: bool = false;
  private lastAttemptMs: u64 = 0;
  private nextAttemptMs: u64 = 0;
  private failures: i32 = 0;
  fetches: Metric;
  fetchFailures: Metric;

  constructor(public readonly provider: Provider, statBase: string) {
    const r = provider.remote!;
    // Plugins with the same provider name but another source must not share keys.
    const key = "portico.jwt_auth.jwks|" + provider.name + "|" + r.cluster + "|" + r.authority + r.path;
    const fetches = counter(statBase + "jwks_fetch_total");
    const failures = counter(statBase + "jwks_fetch_failure_total");
    this.sharedKey = key;
    this.lockKey = key + "|fetching";
    this.fetches = fetches;
    this.fetchFailures = failures;
  }

  /** Installs a key set another worker (or an earlier VM) stored; true when the keys changed. */
  sync(nowMs: u64): bool {
    const got = get_shared_data(this.sharedKey);
    if (got.result != WasmResultValues.Ok || got.cas == this.seenCas) return false;
    this.seenCas = got.cas;
    if (!this.install(got.value!, false)) return false;
    // Another worker fetched: this one's schedule starts from that fetch.
    this.failures = 0;
    this.lastAttemptMs = nowMs;
    this.nextAttemptMs = nowMs + this.provider.remote!.refreshMs;
    return true;
  }

  private install(body: ArrayBuffer, fromFetch: bool): bool {
    const doc = parseJsonBuffer(body);
    if (!doc.ok) return false;
    const set = readJwks(doc.value!);
    if (set.keys.length == 0) return false;
    this.provider.keys = set;
    if (fromFetch && set.skipped.length) logWarn("jwt-auth: provider " + this.provider.name + ": JWKS keys skipped: " + set.skipped.join("; "));
    return true;
  }

  /**
   * Whether a fetch should start now. Scheduled: when the refresh is due. Forced (no keys, or a
   * token with an unknown kid): at most once per min_refresh_s, and not during a failure backoff.
   */
  due(nowMs: u64, force: bool): bool {
    if (this.inFlight) return false;
    if (force) {
      if (this.failures > 0 && nowMs < this.nextAttemptMs) return false;
      return nowMs - this.lastAttemptMs >= this.provider.remote!.minRefreshMs || this.lastAttemptMs == 0;
    }
    return nowMs >= this.nextAttemptMs;
  }

  /**
   * Starts a fetch unless another worker holds the fetch lock or the shared backoff after failed
   * fetches forbids one yet. Returns the call's token, ANOTHER_WORKER when a fetch is running
   * elsewhere (waiting for new keys makes sense), or NOT_STARTED.
   */
  start(nowMs: u64): u32 {
    const r = this.provider.remote!;
    const lock = get_shared_data(this.lockKey);
    const held = lock.result == WasmResultValues.Ok;
    const state = held ? LockState.parse(lock.value!) : new LockState(0, 0, 0);
    if (state.fetchingUntil > nowMs) return ANOTHER_WORKER; // its result arrives through sync()
    if (state.notBefore > nowMs) {
      // Another worker's fetch failed: follow the shared schedule rather than this worker's own.
      this.failures = state.failures;
      this.nextAttemptMs = state.notBefore;
      return NOT_STARTED;
    }
    state.fetchingUntil = nowMs + <u64>r.timeoutMs + 1000;
    if (set_shared_data(this.lockKey, state.encode(), held ? lock.cas : 0) != WasmResultValues.Ok) return ANOTHER_WORKER;
    if (state.failures > this.failures) this.failures = state.failures; // the backoff keeps growing whoever fetches
    this.lastAttemptMs = nowMs;
    const token = httpCall(r.cluster, [
      new HeaderEntry(":method", "GET"),
      new HeaderEntry(":path", r.path),
      new HeaderEntry(":authority", r.authority),
      new HeaderEntry("accept", "application/json"),
    ], new ArrayBuffer(0), r.timeoutMs);
    this.fetches.increment();
    if (token == 0) {
      this.failed(nowMs, "Envoy refused the call to cluster " + r.cluster);
      return NOT_STARTED;
    }
    this.inFlight = true;
    return token;
  }

  /** Handles the fetch response; returns true when a new key set was installed. */
  finish(nowMs: u64, bodySize: usize): bool {
    this.inFlight = false;
    const status = getHeader(HeaderMap.HttpCallResponseHeaders, ":status");
    if (status != "200") {
      this.failed(nowMs, status === null ? "no response" : "HTTP " + status);
      return false;
    }
    if (bodySize == 0 || bodySize > MAX_JWKS_BYTES) {
      this.failed(nowMs, "body of " + bodySize.toString() + " bytes");
      return false;
    }
    const body = get_buffer_bytes(BufferTypeValues.HttpCallResponseBody, 0, <u32>bodySize);
    if (!this.install(body, true)) {
      this.failed(nowMs, "not a JWKS with a usable key");
      return false;
    }
    set_shared_data(this.sharedKey, body);
    set_shared_data(this.lockKey, new LockState(0, 0, 0).encode()); // unlocked, no backoff
    const stored = get_shared_data(this.sharedKey);
    if (stored.result == WasmResultValues.Ok) this.seenCas = stored.cas;
    this.failures = 0;
    this.nextAttemptMs = nowMs + this.provider.remote!.refreshMs;
    logInfo("jwt-auth: provider " + this.provider.name + ": JWKS fetched, " + this.provider.keys.keys.length.toString() + " key(s)");
    return true;
  }

  private failed(nowMs: u64, why: string): void {
    this.fetchFailures.increment();
    this.failures++;
    const r = this.provider.remote!;
    let backoff = r.minRefreshMs;
    for (let i = 1; i < this.failures && backoff < r.refreshMs; i++) backoff *= 2;
    if (backoff > r.refreshMs) backoff = r.refreshMs;
    this.nextAttemptMs = nowMs + backoff;
    // Unlocks, and tells every worker when the next attempt may start.
    set_shared_data(this.lockKey, new LockState(0, this.nextAttemptMs, this.failures).encode());
    logWarn("jwt-auth: provider " + this.provider.name + ": JWKS fetch failed (" + why + "); " +
      (this.provider.keys.keys.length ? "keeping the last good keys" : "no keys yet") + "; next try in " + (backoff / 1000).toString() + "s");
  }

  /** When the next scheduled refresh is due (for the tick). */
  get nextDueMs(): u64 { return this.nextAttemptMs; }
}
