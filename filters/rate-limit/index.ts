// rate-limit: local rules are token buckets (GCRA) per rule and key, shared by all Envoy worker
// threads through proxy-wasm shared data; global rules ask a rate limit service
// (envoy.service.ratelimit.v3) over gRPC, so one limit holds across Envoys. See
// filters/rate-limit/README.md.
// This module is the entry: the root (config, stores, the tick, the service's answers routed to
// their stream or report) and the stream (each rule's decision). The rest has a module each:
// stats.ts (metrics), request-keys.ts (a request's keys and descriptors), service-calls.ts (the
// calls in flight, their bound and failures), sync-reports.ts (the synced rules' reports),
// replies.ts (the 429s and RateLimit-* headers).
// Entry points: request and response headers, the tick that sweeps idle buckets, and the gRPC
// answers; Envoy skips the callbacks a module does not export (assembly/runtime/entry/core.ts).
export * from "../../assembly/runtime/entry/core";
export * from "../../assembly/runtime/entry/request-headers";
export * from "../../assembly/runtime/entry/response-headers";
export * from "../../assembly/runtime/entry/tick";
export * from "../../assembly/runtime/entry/grpc";
import {
  ClusterRef, FilterRoot, FilterStream, HeadersStatus, HostSource, MemoryGauge, declareClusters, getPropertyString, logInfo, nowMillis, propertyPath, registerFilter, resumeRequest, setEffectiveContext, setTickPeriod,
} from "../../assembly/runtime";
import { ConfigErrors, ConfigSource } from "../../assembly/config/reader";
import { GLOBAL_CLUSTER_PATH, RateLimitConfig, Rule, parseRateLimitConfig } from "./config";
import { SyncStore, SyncVerdict, windowStart } from "./sync-store";
import { SyncEntry, SyncTracker } from "./sync";
import { Verdict } from "./bucket";
import { RuleStore } from "./store";
import { CODE_OVER_LIMIT, CODE_UNKNOWN, Descriptor, RateLimitAnswer, encodeRateLimitRequest } from "./rls";
import { GlobalStats, RuleStats } from "./stats";
import { descriptorOf, ruleKey } from "./request-keys";
import { MAX_ANSWER_BYTES, ServiceCalls, grpcStatusCause, readAnswer } from "./service-calls";
import { SyncReports } from "./sync-reports";
import { addRateLimitHeaders, seconds, sendRateLimited, sendUnavailable } from "./replies";

const FILTER = "rate-limit";
/** How often idle buckets are swept; synced rules tick faster (their sync), the sweep keeps this pace. */
const TICK_MS: u32 = 5000;
/** A synced rule with on_failure: deny refuses once its reports have failed for this many syncs. */
const SYNC_FAILURES_BEFORE_DENY: i64 = 3;
const SCAN_BUDGET: u32 = 20000;
const PLUGIN_NAME = propertyPath("plugin_name");

class RateLimitRoot extends FilterRoot {
  config: RateLimitConfig | null = null;
  /** Per rule; null for a global rule (the service keeps its counters). */
  stores: (RuleStore | null)[] = [];
  stats: RuleStats[] = [];
  memory: MemoryGauge | null = null;
  source: HostSource = new HostSource();
  verdict: Verdict = new Verdict();
  /** Set iff the config has a global block. */
  calls: ServiceCalls<RateLimitStream> | null = null;
  /** Set iff some global rule has sync (reports: the same tracker's reports). */
  sync: SyncTracker | null = null;
  reports: SyncReports | null = null;
  syncVerdict: SyncVerdict = new SyncVerdict();
  /**
   * The synced rules (bit per rule index; at most 32 rules) the request being decided could not be
   * decided for here, to be asked like rules without sync. Per VM, not per stream: it lives only
   * within one onRequestHeaders (a stream field would cost every request's stream its bytes).
   */
  askSynced: u32 = 0;
  private lastScanMs: i64 = 0;

  configureFrom(source: ConfigSource): bool {
    const errors = new ConfigErrors();
    const cfg = parseRateLimitConfig(source, errors);
    if (cfg === null) return this.refuseConfig(FILTER, errors);
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
    const g = cfg.global;
    if (g !== null) {
      this.calls = new ServiceCalls<RateLimitStream>(g, new GlobalStats(base));
      declareClusters([new ClusterRef(g.cluster, GLOBAL_CLUSTER_PATH)]); // for the control plane's check; Envoy ignores it
    }
    let anySync = false;
    for (let i = 0; i < syncStores.length; i++) if (syncStores[i] !== null) anySync = true;
    if (anySync) {
      const sync = new SyncTracker(cfg.rules, syncStores);
      this.sync = sync;
      this.reports = new SyncReports(sync, this.stats, g!.domain);
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
    if (this.reports !== null) this.reportSyncedHits(now);
    if (now - this.lastScanMs < <i64>TICK_MS) return;
    this.lastScanMs = now;
    for (let i = 0; i < cfg.rules.length; i++) {
      const store = this.stores[i];
      if (store === null) continue;
      store.scan(cfg.rules[i].limit, now, SCAN_BUDGET);
      this.stats[i].keys!.record(<u64>store.tracked);
    }
  }

  /** One report of the synced rules' hits (sync-reports.ts), unless the last one is still in flight. */
  private reportSyncedHits(now: i64): void {
    const calls = this.calls!;
    if (calls.reportInFlight) return;
    const message = this.reports!.next(now);
    if (message === null) return;
    if (!calls.startReport(message)) this.settleReport(null, "call refused by Envoy", now);
  }

  private settleReport(answer: RateLimitAnswer | null, cause: string, now: i64): void {
    const calls = this.calls!;
    calls.endReport();
    const failure = this.reports!.settle(answer, cause, now);
    if (failure !== null) calls.noteFailure(failure);
  }

  on_grpc_receive(token: u32, response_size: u32): void {
    const calls = this.calls;
    if (calls === null) return;
    if (calls.isReport(token)) {
      const answer = readAnswer(response_size, this.reports!.descriptors);
      this.settleReport(answer, response_size > MAX_ANSWER_BYTES ? "answer over " + MAX_ANSWER_BYTES.toString() + " bytes" : "undecodable answer", <i64>nowMillis());
      return;
    }
    const stream = calls.take(token);
    if (stream === null) return;
    const answer = readAnswer(response_size, stream.globalRules!.length);
    let cause = "";
    if (answer === null) cause = response_size > MAX_ANSWER_BYTES ? "answer of " + response_size.toString() + " bytes, over " + MAX_ANSWER_BYTES.toString() : "undecodable answer";
    setEffectiveContext(stream.context_id);
    stream.answered(answer, cause);
    setEffectiveContext(this.context_id);
  }

  on_grpc_close(token: u32, status_code: u32): void {
    const calls = this.calls;
    if (calls === null) return;
    if (calls.isReport(token)) {
      this.settleReport(null, grpcStatusCause(status_code), <i64>nowMillis());
      return;
    }
    const stream = calls.take(token);
    if (stream === null) return;
    setEffectiveContext(stream.context_id);
    stream.answered(null, grpcStatusCause(status_code));
    setEffectiveContext(this.context_id);
  }

  newStream(contextId: u32): FilterStream {
    return new RateLimitStream(contextId, this);
  }
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
        sendUnavailable(rule.name);
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
    const calls = this.root.calls!;
    const token = calls.start(this, encodeRateLimitRequest(cfg.global!.domain, descriptors));
    if (token == 0) {
      const cause = calls.full ? "max_pending reached" : "call refused by Envoy";
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
      this.root.calls!.noteFailure(cause);
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
      sendUnavailable(deny.name);
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
    sendRateLimited(error, rule.name, retryAfter, limit, reset);
  }

  onResponseHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    const cfg = this.root.config;
    // A refusal carries its own RateLimit-* headers (Envoy runs this callback for local replies too).
    if (cfg === null || !cfg.rateLimitHeaders || this.limitHeader < 0 || this.refused) return HeadersStatus.Continue;
    addRateLimitHeaders(this.limitHeader, this.remaining, this.resetMs);
    return HeadersStatus.Continue;
  }

  onDelete(): void {
    // The stream ended (client gone, reset) while its call was in flight: nobody waits for the answer.
    if (this.token != 0) this.root.calls!.cancel(this.token);
    this.token = 0;
  }
}

registerFilter(FILTER, (id: u32) => new RateLimitRoot(id));
