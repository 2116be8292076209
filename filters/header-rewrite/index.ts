// header-rewrite: set / add / remove / rename request and response headers and rewrite the
// path, by rules matched on path, method, headers and route. See filters/header-rewrite/README.md.
// Entry points: request and response headers only; Envoy skips the callbacks a module does not export (assembly/runtime/entry/core.ts).
export * from "../../assembly/runtime/entry/core";
export * from "../../assembly/runtime/entry/request-headers";
export * from "../../assembly/runtime/entry/response-headers";
import {
  FilterRoot, FilterStream, HeaderMap, HeadersStatus, MemoryGauge, Metric, clearRouteCache, counter, logInfo, registerFilter,
} from "../../assembly/runtime";
import { ConfigErrors, ConfigSource } from "../../assembly/config/reader";
import { HeaderRewriteConfig, parseHeaderRewriteConfig } from "./config";
import { Plan, RequestSnapshot, applyPlan, matchRules, planPhase, snapshotForResponse } from "./policy";
import { HostHeaders, PhaseSource } from "./host";

const FILTER = "header-rewrite";
const REQUEST_HEADERS = new HostHeaders(HeaderMap.RequestHeaders);
const RESPONSE_HEADERS = new HostHeaders(HeaderMap.ResponseHeaders);

class Stats {
  requests: Metric;
  rulesApplied: Metric;
  errors: Metric;
  memory: MemoryGauge;

  constructor(prefix: string) {
    const base = "portico.header_rewrite." + (prefix.length ? prefix + "." : "");
    this.requests = counter(base + "requests_total");
    this.rulesApplied = counter(base + "rules_applied_total");
    this.errors = counter(base + "errors_total");
    this.memory = new MemoryGauge(base + "vm_memory_bytes");
  }
}

class HeaderRewriteRoot extends FilterRoot {
  config: HeaderRewriteConfig | null = null;
  stats: Stats | null = null;
  // Reused by every request of this plugin (see Plan and HostSource).
  plan: Plan = new Plan();
  source: PhaseSource = new PhaseSource();

  configureFrom(source: ConfigSource): bool {
    const errors = new ConfigErrors();
    const cfg = parseHeaderRewriteConfig(source, errors);
    if (cfg === null) return this.refuseConfig(FILTER, errors);
    this.config = cfg;
    this.stats = new Stats(cfg.statPrefix);
    logInfo(FILTER + ": configured " + cfg.rules.length.toString() + " rule(s)");
    return true;
  }

  newStream(contextId: u32): FilterStream {
    return new HeaderRewriteStream(contextId, this);
  }
}

class HeaderRewriteStream extends FilterStream {
  /** Rules that matched the request, carried to the response phase. */
  private matched: u64 = 0;
  private snapshot: RequestSnapshot | null = null;

  constructor(contextId: u32, private root: HeaderRewriteRoot) {
    super(contextId, root);
  }

  onRequestHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    const cfg = this.root.config;
    if (cfg === null) return HeadersStatus.Continue;
    const stats = this.root.stats!;
    stats.requests.increment();
    stats.memory.tick();
    const src = this.root.source.forRequest();
    this.matched = matchRules(cfg.rules, src);
    if (this.matched == 0) return HeadersStatus.Continue;
    if (cfg.hasResponseActions) this.snapshot = snapshotForResponse(cfg.rules, this.matched, src);
    const plan = planPhase(cfg.rules, this.matched, true, src, this.root.plan);
    const failures = applyPlan(plan, REQUEST_HEADERS.begin(src.requestMap));
    if (plan.reroute) clearRouteCache();
    this.account(stats, plan.rulesApplied, plan.invalidValues + failures);
    return HeadersStatus.Continue;
  }

  onResponseHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    const cfg = this.root.config;
    if (cfg === null || this.matched == 0 || !cfg.hasResponseActions) return HeadersStatus.Continue;
    const plan = planPhase(cfg.rules, this.matched, false, this.root.source.forResponse(this.snapshot), this.root.plan);
    const failures = applyPlan(plan, RESPONSE_HEADERS.begin(null));
    this.account(this.root.stats!, plan.rulesApplied, plan.invalidValues + failures);
    return HeadersStatus.Continue;
  }

  private account(stats: Stats, applied: i32, errors: i32): void {
    if (applied > 0) stats.rulesApplied.increment(applied);
    if (errors > 0) stats.errors.increment(errors);
  }
}

registerFilter(FILTER, (id: u32) => new HeaderRewriteRoot(id));
