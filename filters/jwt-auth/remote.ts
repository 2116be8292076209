// Remote JWKS: fetched through an Envoy cluster by one worker at a time, shared with every
// worker VM through proxy-wasm shared data, refreshed on a schedule and on demand (unknown kid,
// rate-limited), with backoff after failures. A failed fetch never replaces the last good set.
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
   * Starts a fetch unless another worker holds the fetch lock. Returns true if a fetch is (now)
   * running somewhere, i.e. waiting for new keys makes sense. `token` receives the call's token.
   */
  start(nowMs: u64): u32 {
    const r = this.provider.remote!;
    const lock = get_shared_data(this.lockKey);
    if (lock.result == WasmResultValues.Ok) {
      const until = U64.parseInt(String.UTF8.decode(lock.value!));
      if (until > nowMs) return ANOTHER_WORKER; // its result arrives through sync()
    }
    const cas = lock.result == WasmResultValues.Ok ? lock.cas : 0;
    const until = nowMs + <u64>r.timeoutMs + 1000;
    if (set_shared_data(this.lockKey, String.UTF8.encode(until.toString()), cas) != WasmResultValues.Ok) return ANOTHER_WORKER;
    this.lastAttemptMs = nowMs;
    const token = httpCall(r.cluster, [
      new HeaderEntry(":method", "GET"),
      new HeaderEntry(":path", r.path),
      new HeaderEntry(":authority", r.authority),
      new HeaderEntry("accept", "application/json"),
    ], new ArrayBuffer(0), r.timeoutMs);
    this.fetches.increment();
    if (token == 0) {
      set_shared_data(this.lockKey, String.UTF8.encode("0"));
      this.failed(nowMs, "Envoy refused the call to cluster " + r.cluster);
      return NOT_STARTED;
    }
    this.inFlight = true;
    return token;
  }

  /** Handles the fetch response; returns true when a new key set was installed. */
  finish(nowMs: u64, bodySize: usize): bool {
    this.inFlight = false;
    set_shared_data(this.lockKey, String.UTF8.encode("0"));
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
    logWarn("jwt-auth: provider " + this.provider.name + ": JWKS fetch failed (" + why + "); " +
      (this.provider.keys.keys.length ? "keeping the last good keys" : "no keys yet") + "; next try in " + (backoff / 1000).toString() + "s");
  }

  /** When the next scheduled refresh is due (for the tick). */
  get nextDueMs(): u64 { return this.nextAttemptMs; }
}
