// rate-limit: local rules are token buckets (GCRA) per rule and key, shared by all Envoy worker
// threads through proxy-wasm shared data; global rules ask a rate limit service
// (envoy.service.ratelimit.v3) over gRPC, so one limit holds across Envoys. See
// filters/rate-limit/README.md.
// Entry points: request and response headers, the tick that sweeps idle buckets, and the gRPC
// answers; Envoy skips the callbacks a module does not export (assembly/runtime/entry/core.ts).
export * from "../../assembly/runtime/entry/core";
export * from "../../assembly/runtime/entry/request-headers";
export * from "../../assembly/runtime/entry/response-headers";
export * from "../../assembly/runtime/entry/tick";
export * from "../../assembly/runtime/entry/grpc";
import {
  ClusterRef, FilterRoot, FilterStream, GrpcTarget, HeaderEntry, HeaderMap, HeadersStatus, HostSource, MemoryGauge, Metric,
  addHeader, counter, declareClusters, gauge, getHeaderBytes, getPropertyString, grpcCall, grpcCancel, logError, logInfo,
  logWarn, nowMillis, propertyPath, readGrpcResponse, registerFilter, resumeRequest, sendLocalResponse, setEffectiveContext,
  setTickPeriod, sourceIp,
} from "../../assembly/runtime";
import { hostResultPtr, hostResultSize, releaseHostResult } from "../../assembly/runtime/host";
import { ConfigErrors } from "../../assembly/config/reader";
import { GLOBAL_CLUSTER_PATH, KeyPart, RateLimitConfig, Rule, parseRateLimitConfig } from "./config";
import { SyncStore, SyncVerdict, windowStart } from "./sync-store";
import { SyncEntry, SyncTracker } from "./sync";
import { Verdict } from "./bucket";
import { KeyKind, clientIpOf, consumerKey, joinKey } from "./keys";
import { RuleStore } from "./store";
import { CODE_OVER_LIMIT, CODE_UNKNOWN, Descriptor, RLS_METHOD, RLS_SERVICE, RateLimitAnswer, decodeRateLimitResponse, encodeRateLimitRequest } from "./rls";
import { FailureLog } from "./failure-log";

const FILTER = "rate-limit";
/** How often idle buckets are swept; synced rules tick faster (their sync), the sweep keeps this pace. */
const TICK_MS: u32 = 5000;
/** A synced rule with on_failure: deny refuses once its reports have failed for this many syncs. */
const SYNC_FAILURES_BEFORE_DENY: i64 = 3;
const SCAN_BUDGET: u32 = 20000;
const PLUGIN_NAME = propertyPath("plugin_name");
const ROUTE_NAME = propertyPath("xds.route_name");
const XFF = String.UTF8.encode("x-forwarded-for");
/**
 * The largest answer read from the rate limit service. An answer to at most 32 descriptors is a
 * few hundred bytes (more with response headers the service adds, which are not used); anything
 * beyond this is a failure, not copied into the VM.
 */
const MAX_ANSWER_BYTES: u32 = 64 * 1024;

class RuleStats {
  allowed: Metric;
  limited: Metric;
  // Local rules: bucket upkeep. Global rules: what the service's failures did.
  casRetries: Metric | null = null;
  keys: Metric | null = null;
  failureAllowed: Metric | null = null;
  failureDenied: Metric | null = null;
  // Global rules with sync: their reports.
  syncReports: Metric | null = null;
  syncFailures: Metric | null = null;

  constructor(base: string, global: bool, sync: bool) {
    this.allowed = counter(base + "allowed_total");
    this.limited = counter(base + "limited_total");
    if (global) {
      this.failureAllowed = counter(base + "failure_allowed_total");
      this.failureDenied = counter(base + "failure_denied_total");
      if (sync) {
        this.syncReports = counter(base + "sync_reports_total");
        this.syncFailures = counter(base + "sync_failures_total");
      }
    } else {
      this.casRetries = counter(base + "cas_retries_total");
      this.keys = gauge(base + "keys_tracked");
    }
  }
}

/** The filter's own numbers about the rate limit service. */
class GlobalStats {
  /** Requests that needed the service's decision (one call each, or a failure when max_pending was reached). */
  calls: Metric;
  /** Those that got no usable answer, whatever the cause. */
  errors: Metric;
  /** Calls in flight in this VM. */
  pending: Metric;

  constructor(base: string) {
    this.calls = counter(base + "global.calls_total");
    this.errors = counter(base + "global.errors_total");
    this.pending = gauge(base + "global.pending");
  }
}

class RateLimitRoot extends FilterRoot {
  config: RateLimitConfig | null = null;
  /** Per rule; null for a global rule (the service keeps its counters). */
  stores: (RuleStore | null)[] = [];
  stats: RuleStats[] = [];
  memory: MemoryGauge | null = null;
  source: HostSource = new HostSource();
  verdict: Verdict = new Verdict();
  target: GrpcTarget | null = null;
  globalStats: GlobalStats | null = null;
  /** Calls in flight: token -> the stream waiting for it. Bounded by global.max_pending. */
  pending: Map<u32, RateLimitStream> = new Map<u32, RateLimitStream>();
  failureLog: FailureLog = new FailureLog();
  /** Set iff some global rule has sync. */
  sync: SyncTracker | null = null;
  syncVerdict: SyncVerdict = new SyncVerdict();
  /**
   * The synced rules (bit per rule index; at most 32 rules) the request being decided could not be
   * decided for here, to be asked like rules without sync. Per VM, not per stream: it lives only
   * within one onRequestHeaders (a stream field would cost every request's stream its bytes).
   */
  askSynced: u32 = 0;
  private lastScanMs: i64 = 0;

  configure(buf: ArrayBuffer): bool {
    const errors = new ConfigErrors();
    const cfg = parseRateLimitConfig(buf, errors);
    if (cfg === null) {
      logError(errors.format(FILTER));
      return false;
    }
    this.config = cfg;
    const base = "portico.rate_limit." + (cfg.statPrefix.length ? cfg.statPrefix + "." : "");
    const plugin = getPropertyString(PLUGIN_NAME);
    // Buckets are per plugin and rule: two filters in one Envoy never share a bucket by accident.
    const keyBase = "portico.rl|" + (plugin === null ? "" : plugin) + "|" + cfg.statPrefix + "|";
    const syncStores: (SyncStore | null)[] = [];
    let tickMs = TICK_MS;
    for (let i = 0; i < cfg.rules.length; i++) {
      const rule = cfg.rules[i];
      const synced = rule.global && rule.syncMs > 0;
      const stats = new RuleStats(base + rule.name + ".", rule.global, synced);
      this.stats.push(stats);
      this.stores.push(rule.global ? null : new RuleStore(keyBase + rule.name + "|", cfg.maxKeys, stats.casRetries!));
      // Records of synced rules under their own names: a rule that changes scope never reads a bucket as a record.
      syncStores.push(synced ? new SyncStore(keyBase + rule.name + "|sync|", cfg.maxKeys, rule.limit.periodMs) : null);
      if (synced && <u32>rule.syncMs < tickMs) tickMs = <u32>rule.syncMs;
    }
    let anySync = false;
    for (let i = 0; i < syncStores.length; i++) if (syncStores[i] !== null) anySync = true;
    if (anySync) this.sync = new SyncTracker(cfg.rules, syncStores);
    const g = cfg.global;
    if (g !== null) {
      this.target = new GrpcTarget(g.cluster, RLS_SERVICE, RLS_METHOD);
      const gs = new GlobalStats(base);
      gs.pending.record(0);
      this.globalStats = gs;
      declareClusters([new ClusterRef(g.cluster, GLOBAL_CLUSTER_PATH)]); // for the control plane's check; Envoy ignores it
    }
    this.memory = new MemoryGauge(base + "vm_memory_bytes");
    setTickPeriod(tickMs);
    logInfo(FILTER + ": configured " + cfg.rules.length.toString() + " rule(s)" + (cfg.dryRun ? " (dry run)" : ""));
    return true;
  }

  onTick(): void {
    const cfg = this.config;
    if (cfg === null) return;
    const now = <i64>nowMillis();
    if (this.sync !== null) this.reportSyncedHits(now);
    if (now - this.lastScanMs < <i64>TICK_MS) return;
    this.lastScanMs = now;
    for (let i = 0; i < cfg.rules.length; i++) {
      const store = this.stores[i];
      if (store === null) continue;
      store.scan(cfg.rules[i].limit, now, SCAN_BUDGET);
      this.stats[i].keys!.record(<u64>store.tracked);
    }
  }

  /** One report of the synced rules' hits (sync.ts), unless the last one is still in flight. */
  private reportSyncedHits(now: i64): void {
    const sync = this.sync!;
    if (sync.token != 0) return;
    const descriptors = sync.collect(now);
    if (descriptors === null) return;
    const g = this.config!.global!;
    this.globalStats!.calls.increment();
    this.countReports(sync, true);
    const token = grpcCall(this.target!, encodeRateLimitRequest(g.domain, descriptors), g.timeoutMs);
    if (token == 0) {
      this.settleReport(null, "call refused by Envoy", now);
      return;
    }
    sync.token = token;
    this.recordPending();
  }

  /** Counts one report (or one failed report) on each rule it carried hits of. */
  private countReports(sync: SyncTracker, sent: bool): void {
    let seen: u64 = 0; // rule indexes (at most 32 rules)
    for (let i = 0; i < sync.items.length; i++) {
      const index = sync.items[i].entry.rule.index;
      if ((seen & (<u64>1 << index)) != 0) continue;
      seen |= <u64>1 << index;
      const stats = this.stats[index];
      if (sent) stats.syncReports!.increment();
      else stats.syncFailures!.increment();
    }
  }

  /**
   * A report's outcome: each key's count from the answer becomes its learned count; a missing or
   * unusable answer (or status) makes its hits unreported again, to go in the next report.
   */
  private settleReport(answer: RateLimitAnswer | null, cause: string, now: i64): void {
    const sync = this.sync!;
    const items = sync.items;
    sync.token = 0;
    this.recordPending();
    if (answer !== null && answer.overall == CODE_UNKNOWN) {
      answer = null;
      cause = "answer with overall_code UNKNOWN";
    }
    let failed = answer === null;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      const rule = item.entry.rule;
      let learned: i64 = -1;
      if (answer !== null && i < answer.statuses.length) {
        const s = answer.statuses[i];
        const limit = s.requestsPerUnit > 0 ? <i64>s.requestsPerUnit : rule.limit.requests;
        if (s.code == CODE_OVER_LIMIT) learned = limit;
        else if (s.code != CODE_UNKNOWN) learned = s.requestsPerUnit > 0 ? limit - min<i64>(<i64>s.limitRemaining, limit) : 0;
      }
      if (learned < 0) failed = true;
      sync.stores[rule.index]!.settle(item.entry.slot, item.entry.owner, item.window, item.taken, learned);
    }
    if (failed) {
      if (answer !== null) cause = "answer with " + answer.statuses.length.toString() + " statuses for " + items.length.toString() + " descriptors";
      this.noteFailure(cause);
      this.countReports(sync, false);
      if (sync.failingSinceMs == 0) sync.failingSinceMs = now;
    } else sync.failingSinceMs = 0;
    sync.items = [];
  }

  /** The gauge of calls in flight: per-request calls and the synced rules' report. */
  private recordPending(): void {
    const report = this.sync !== null && this.sync!.token != 0 ? 1 : 0;
    this.globalStats!.pending.record(<u64>(this.pending.size + report));
  }

  /** Starts the call for `stream`; its token, or 0 when none was made (max_pending reached, or Envoy refused). */
  startCall(stream: RateLimitStream, message: ArrayBuffer): u32 {
    const g = this.config!.global!;
    if (this.pending.size >= g.maxPending) return 0;
    const token = grpcCall(this.target!, message, g.timeoutMs);
    if (token == 0) return 0;
    this.pending.set(token, stream);
    this.recordPending();
    return token;
  }

  /** The stream waiting for `token`, now no longer pending; null for a token this root does not know. */
  private take(token: u32): RateLimitStream | null {
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

  /** Counts (and, throttled, logs) one failure to get the service's decision. */
  noteFailure(cause: string): void {
    this.globalStats!.errors.increment();
    const line = this.failureLog.note(cause, <i64>nowMillis());
    if (line !== null) logWarn(line);
  }

  on_grpc_receive(token: u32, response_size: u32): void {
    const sync = this.sync;
    if (sync !== null && token == sync.token) {
      let answer: RateLimitAnswer | null = null;
      if (response_size <= MAX_ANSWER_BYTES && readGrpcResponse(response_size)) {
        answer = decodeRateLimitResponse(hostResultPtr(), hostResultSize(), sync.items.length);
        releaseHostResult();
      }
      this.settleReport(answer, response_size > MAX_ANSWER_BYTES ? "answer over " + MAX_ANSWER_BYTES.toString() + " bytes" : "undecodable answer", <i64>nowMillis());
      return;
    }
    const stream = this.take(token);
    if (stream === null) return;
    let answer: RateLimitAnswer | null = null;
    let cause = "undecodable answer";
    if (response_size > MAX_ANSWER_BYTES) cause = "answer of " + response_size.toString() + " bytes, over " + MAX_ANSWER_BYTES.toString();
    else if (readGrpcResponse(response_size)) {
      answer = decodeRateLimitResponse(hostResultPtr(), hostResultSize(), stream.globalRules!.length);
      releaseHostResult();
    }
    setEffectiveContext(stream.context_id);
    stream.answered(answer, answer === null ? cause : "");
    setEffectiveContext(this.context_id);
  }

  on_grpc_close(token: u32, status_code: u32): void {
    const sync = this.sync;
    if (sync !== null && token == sync.token) {
      this.settleReport(null, "gRPC status " + status_code.toString() + grpcStatusName(status_code), <i64>nowMillis());
      return;
    }
    const stream = this.take(token);
    if (stream === null) return;
    setEffectiveContext(stream.context_id);
    stream.answered(null, "gRPC status " + status_code.toString() + grpcStatusName(status_code));
    setEffectiveContext(this.context_id);
  }

  newStream(contextId: u32): FilterStream {
    return new RateLimitStream(contextId, this);
  }
}

function clientAddress(cfg: RateLimitConfig): string {
  return clientIpOf(sourceIp(), cfg.trustedHops > 0 ? getHeaderBytes(HeaderMap.RequestHeaders, XFF) : null, cfg.trustedHops);
}

function keyValue(part: KeyPart, cfg: RateLimitConfig, src: HostSource): string {
  switch (part.kind) {
    case KeyKind.ClientIp:
      return clientAddress(cfg);
    case KeyKind.Consumer: {
      // The name is read once per request however many rules key on it or match on it (src caches it).
      const name = src.consumerName();
      return consumerKey(name, name === null ? clientAddress(cfg) : "");
    }
    case KeyKind.Header: {
      const v = getHeaderBytes(HeaderMap.RequestHeaders, part.header!.bytes);
      return v === null ? "" : v;
    }
    case KeyKind.Route: {
      const r = getPropertyString(ROUTE_NAME);
      return r === null ? "" : r;
    }
    default:
      return part.value;
  }
}

function ruleKey(rule: Rule, cfg: RateLimitConfig, src: HostSource): string {
  if (rule.key.length == 1) return keyValue(rule.key[0], cfg, src);
  const parts = new Array<string>(rule.key.length);
  for (let i = 0; i < rule.key.length; i++) parts[i] = keyValue(rule.key[i], cfg, src);
  return joinKey(parts);
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

/** The descriptor of a global rule for this request: ("rule", name), then one entry per key part. */
function descriptorOf(rule: Rule, cfg: RateLimitConfig, src: HostSource): Descriptor {
  const d = new Descriptor().add("rule", rule.name);
  for (let i = 0; i < rule.key.length; i++) {
    const part = rule.key[i];
    d.add(descriptorKey(part), keyValue(part, cfg, src));
  }
  return d;
}

function descriptorKey(part: KeyPart): string {
  switch (part.kind) {
    case KeyKind.ClientIp: return "client_ip";
    case KeyKind.Consumer: return "consumer";
    case KeyKind.Header: return part.value; // the name, lowercase (the config folds it)
    case KeyKind.Route: return "route";
    default: return "fixed";
  }
}

function seconds(ms: i64): string {
  const s = (ms + 999) / 1000;
  return (s < 1 ? 1 : s).toString();
}

function json429(error: string, rule: string): string {
  return "{\"error\":\"" + error + "\",\"rule\":\"" + rule + "\"}";
}

class RateLimitStream extends FilterStream {
  /** For RateLimit-* headers on the response: the most restrictive rule that allowed. */
  private limitHeader: i64 = -1;
  private remaining: i64 = 0;
  private resetMs: i64 = 0;
  private refused: bool = false;
  /**
   * The global rules this request matched, in config order (the call's descriptors, in the same
   * order); made only when one matches, so a request of local rules allocates nothing for them.
   */
  globalRules: Rule[] | null = null;
  /** The pending call's token (0: none). */
  private token: u32 = 0;

  constructor(contextId: u32, private root: RateLimitRoot) {
    super(contextId, root);
  }

  onRequestHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    const cfg = this.root.config;
    if (cfg === null) return HeadersStatus.Continue;
    this.root.memory!.tick();
    const src = this.root.source;
    src.reset();
    this.root.askSynced = 0;
    // Local rules first: a local refusal costs no round trip to the service.
    if (!this.passesLocalRules(cfg, src)) return this.refused ? HeadersStatus.StopIteration : HeadersStatus.Continue;
    return cfg.global === null ? HeadersStatus.Continue : this.askService(cfg, src);
  }

  /**
   * Charges every matching local rule, in order; false when one refused the request (a local
   * reply was sent) or, in a dry run, would have: later rules, global ones included, are then not
   * charged, so that in a dry run too the buckets and counters predict what enforcement would do.
   */
  private passesLocalRules(cfg: RateLimitConfig, src: HostSource): bool {
    const now = <i64>nowMillis();
    const v = this.root.verdict;
    for (let i = 0; i < cfg.rules.length; i++) {
      const rule = cfg.rules[i];
      if ((rule.global && rule.syncMs == 0) || !rule.match.matches(src)) continue;
      if (rule.global) {
        if (!this.passesSyncedRule(rule, cfg, src, now)) return false;
        continue;
      }
      this.root.stores[i]!.take(ruleKey(rule, cfg, src), rule.limit, now, v);
      const stats = this.root.stats[i];
      if (v.allowed) {
        stats.allowed.increment();
        this.report(rule.limit.burst, v.remaining, v.resetMs);
        continue;
      }
      stats.limited.increment();
      if (!cfg.dryRun) this.refuse("rate_limited", rule, seconds(v.retryAfterMs), rule.limit.burst, seconds(v.resetMs));
      return false;
    }
    return true;
  }

  /**
   * A global rule with sync, decided here from this Envoy's record of the key (sync-store.ts);
   * false when it refused (as passesLocalRules). A key this VM cannot track (too many keys, too
   * long, no free slot) is left to askService: exact, at the cost of a round trip.
   */
  private passesSyncedRule(rule: Rule, cfg: RateLimitConfig, src: HostSource, now: i64): bool {
    const sync = this.root.sync!;
    const stats = this.root.stats[rule.index];
    // on_failure: deny: reports failing for a while mean this Envoy no longer knows what the others admit.
    if (rule.failureDeny && sync.failingFor(SYNC_FAILURES_BEFORE_DENY * rule.syncMs, now)) {
      stats.failureDenied!.increment();
      if (!cfg.dryRun) {
        this.refused = true;
        sendLocalResponse(429, "rate_limit_unavailable", json429("rate_limit_unavailable", rule.name), [
          new HeaderEntry("content-type", "application/json"),
          new HeaderEntry("retry-after", "1"),
        ]);
      }
      return false;
    }
    const key = ruleKey(rule, cfg, src);
    const id = SyncTracker.id(rule, key);
    const known = sync.get(id);
    if (known === null && !sync.canAdd(key)) {
      this.root.askSynced |= <u32>1 << rule.index;
      return true;
    }
    const v = sync.stores[rule.index]!.admit(key, rule.limit.requests, now, this.root.syncVerdict);
    if (v.slot < 0) {
      this.root.askSynced |= <u32>1 << rule.index;
      return true;
    }
    const window = windowStart(now, rule.limit.periodMs);
    const resetMs = window + rule.limit.periodMs - now;
    if (v.allowed) {
      let e = known;
      if (e === null) {
        e = new SyncEntry(rule, descriptorOf(rule, cfg, src));
        sync.add(id, e);
      }
      e.slot = v.slot;
      e.window = window;
      memory.copy(changetype<usize>(e.owner), changetype<usize>(v.owner), e.owner.byteLength);
      stats.allowed.increment();
      this.report(rule.limit.requests, rule.limit.requests - v.used, resetMs);
      return true;
    }
    stats.limited.increment();
    if (!cfg.dryRun) this.refuse("rate_limited", rule, seconds(resetMs), rule.limit.requests, seconds(resetMs));
    return false;
  }

  /**
   * One ShouldRateLimit call for the matching global rules, if any: the request waits for the
   * answer (StopIteration). A call that cannot be made is a failure decided at once.
   */
  private askService(cfg: RateLimitConfig, src: HostSource): HeadersStatus {
    let matched: Rule[] | null = null;
    let descriptors: Descriptor[] | null = null;
    for (let i = 0; i < cfg.rules.length; i++) {
      const rule = cfg.rules[i];
      if (!rule.global || (rule.syncMs > 0 && (this.root.askSynced & (<u32>1 << rule.index)) == 0) || !rule.match.matches(src)) continue;
      if (matched === null) matched = [];
      if (descriptors === null) descriptors = [];
      matched.push(rule);
      descriptors.push(descriptorOf(rule, cfg, src));
    }
    if (matched === null || descriptors === null) return HeadersStatus.Continue;
    this.globalRules = matched;
    this.root.globalStats!.calls.increment();
    const g = cfg.global!;
    const token = this.root.startCall(this, encodeRateLimitRequest(g.domain, descriptors));
    if (token == 0) {
      const cause = this.root.pending.size >= g.maxPending ? "max_pending reached" : "call refused by Envoy";
      return this.decide(null, cause) ? HeadersStatus.StopIteration : HeadersStatus.Continue;
    }
    this.token = token;
    return HeadersStatus.StopIteration;
  }

  /** The service's answer (null: the call failed for `cause`), with this stream the effective context. */
  answered(answer: RateLimitAnswer | null, cause: string): void {
    this.token = 0;
    if (!this.decide(answer, cause)) resumeRequest();
  }

  /**
   * Applies the service's answer to the matched global rules; true when the request was refused
   * (a local reply was sent). A missing or unusable answer is a failure: each rule applies its
   * on_failure.
   */
  private decide(answer: RateLimitAnswer | null, cause: string): bool {
    const cfg = this.root.config!;
    const rules = this.globalRules!;
    let failed = answer === null;
    if (answer !== null && (answer.overall == CODE_UNKNOWN || answer.statuses.length < rules.length)) {
      failed = true;
      cause = answer.overall == CODE_UNKNOWN ? "answer with overall_code UNKNOWN" : "answer with " + answer.statuses.length.toString() + " statuses for " + rules.length.toString() + " descriptors";
    }
    if (failed) {
      this.root.noteFailure(cause);
      let deny: Rule | null = null;
      for (let i = 0; i < rules.length; i++) {
        const stats = this.root.stats[rules[i].index];
        if (rules[i].failureDeny) {
          stats.failureDenied!.increment();
          if (deny === null) deny = rules[i];
        } else stats.failureAllowed!.increment();
      }
      if (deny === null || cfg.dryRun) return false;
      this.refused = true;
      sendLocalResponse(429, "rate_limit_unavailable", json429("rate_limit_unavailable", deny.name), [
        new HeaderEntry("content-type", "application/json"),
        new HeaderEntry("retry-after", "1"),
      ]);
      return true;
    }
    let over: i32 = -1;
    for (let i = 0; i < rules.length; i++) {
      const s = answer!.statuses[i];
      const stats = this.root.stats[rules[i].index];
      if (s.code == CODE_OVER_LIMIT) {
        stats.limited.increment();
        if (over < 0) over = i;
        continue;
      }
      stats.allowed.increment();
      // A status without a limit: the service has no limit for this descriptor (its config does
      // not name it), so there is nothing to report.
      if (s.requestsPerUnit > 0) this.report(<i64>s.requestsPerUnit, <i64>s.limitRemaining, s.resetMs < 0 ? 0 : s.resetMs);
    }
    if (over < 0 || cfg.dryRun) return false;
    const rule = rules[over];
    const s = answer!.statuses[over];
    const reset = seconds(s.resetMs < 0 ? rule.limit.periodMs : s.resetMs);
    this.refuse("rate_limited", rule, reset, s.requestsPerUnit > 0 ? <i64>s.requestsPerUnit : rule.limit.requests, reset);
    return true;
  }

  /** Keeps the most restrictive allowing rule for the RateLimit-* response headers. */
  private report(limit: i64, remaining: i64, resetMs: i64): void {
    if (this.limitHeader < 0 || remaining < this.remaining) {
      this.limitHeader = limit;
      this.remaining = remaining;
      this.resetMs = resetMs;
    }
  }

  private refuse(error: string, rule: Rule, retryAfter: string, limit: i64, reset: string): void {
    this.refused = true;
    sendLocalResponse(429, error, json429(error, rule.name), [
      new HeaderEntry("content-type", "application/json"),
      new HeaderEntry("retry-after", retryAfter),
      new HeaderEntry("ratelimit-limit", limit.toString()),
      new HeaderEntry("ratelimit-remaining", "0"),
      new HeaderEntry("ratelimit-reset", reset),
    ]);
  }

  onResponseHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    const cfg = this.root.config;
    // A refusal carries its own RateLimit-* headers (Envoy runs this callback for local replies too).
    if (cfg === null || !cfg.rateLimitHeaders || this.limitHeader < 0 || this.refused) return HeadersStatus.Continue;
    addHeader(HeaderMap.ResponseHeaders, "ratelimit-limit", this.limitHeader.toString());
    addHeader(HeaderMap.ResponseHeaders, "ratelimit-remaining", this.remaining.toString());
    addHeader(HeaderMap.ResponseHeaders, "ratelimit-reset", seconds(this.resetMs));
    return HeadersStatus.Continue;
  }

  onDelete(): void {
    // The stream ended (client gone, reset) while its call was in flight: nobody waits for the answer.
    if (this.token != 0) this.root.cancel(this.token);
    this.token = 0;
  }
}

registerFilter(FILTER, (id: u32) => new RateLimitRoot(id));
