// rate-limit: token buckets (GCRA) per rule and key, shared by all Envoy worker threads through
// proxy-wasm shared data. See filters/rate-limit/README.md.
// Entry points: request and response headers, and the tick that sweeps idle buckets; Envoy skips the callbacks a module does not export (assembly/runtime/entry/core.ts).
export * from "../../assembly/runtime/entry/core";
export * from "../../assembly/runtime/entry/request-headers";
export * from "../../assembly/runtime/entry/response-headers";
export * from "../../assembly/runtime/entry/tick";
import {
  FilterRoot, FilterStream, HeaderEntry, HeaderMap, HeadersStatus, HostSource, MemoryGauge, Metric, addHeader, counter,
  gauge, getHeaderBytes, getPropertyString, logError, logInfo, nowMillis, propertyPath, registerFilter, sendLocalResponse,
  setTickPeriod, sourceIp,
} from "../../assembly/runtime";
import { ConfigErrors } from "../../assembly/config/reader";
import { KeyPart, RateLimitConfig, Rule, parseRateLimitConfig } from "./config";
import { Verdict } from "./bucket";
import { KeyKind, clientIpOf, consumerKey, joinKey } from "./keys";
import { RuleStore } from "./store";

const FILTER = "rate-limit";
const TICK_MS: u32 = 5000;
const SCAN_BUDGET: u32 = 20000;
const PLUGIN_NAME = propertyPath("plugin_name");
const ROUTE_NAME = propertyPath("xds.route_name");
const XFF = String.UTF8.encode("x-forwarded-for");

class RuleStats {
  allowed: Metric;
  limited: Metric;
  casRetries: Metric;
  keys: Metric;

  constructor(base: string) {
    this.allowed = counter(base + "allowed_total");
    this.limited = counter(base + "limited_total");
    this.casRetries = counter(base + "cas_retries_total");
    this.keys = gauge(base + "keys_tracked");
  }
}

class RateLimitRoot extends FilterRoot {
  config: RateLimitConfig | null = null;
  stores: RuleStore[] = [];
  stats: RuleStats[] = [];
  memory: MemoryGauge | null = null;
  source: HostSource = new HostSource();
  verdict: Verdict = new Verdict();

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
    for (let i = 0; i < cfg.rules.length; i++) {
      const stats = new RuleStats(base + cfg.rules[i].name + ".");
      this.stats.push(stats);
      this.stores.push(new RuleStore(keyBase + cfg.rules[i].name + "|", cfg.maxKeys, stats.casRetries));
    }
    this.memory = new MemoryGauge(base + "vm_memory_bytes");
    setTickPeriod(TICK_MS);
    logInfo(FILTER + ": configured " + cfg.rules.length.toString() + " rule(s)" + (cfg.dryRun ? " (dry run)" : ""));
    return true;
  }

  onTick(): void {
    const cfg = this.config;
    if (cfg === null) return;
    const now = <i64>nowMillis();
    for (let i = 0; i < cfg.rules.length; i++) {
      const store = this.stores[i];
      store.scan(cfg.rules[i].limit, now, SCAN_BUDGET);
      this.stats[i].keys.record(<u64>store.tracked);
    }
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

function seconds(ms: i64): string {
  const s = (ms + 999) / 1000;
  return (s < 1 ? 1 : s).toString();
}

class RateLimitStream extends FilterStream {
  /** For RateLimit-* headers on the response: the most restrictive rule that allowed. */
  private limitHeader: i64 = -1;
  private remaining: i64 = 0;
  private resetMs: i64 = 0;
  private refused: bool = false;

  constructor(contextId: u32, private root: RateLimitRoot) {
    super(contextId, root);
  }

  onRequestHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    const cfg = this.root.config;
    if (cfg === null) return HeadersStatus.Continue;
    this.root.memory!.tick();
    const src = this.root.source;
    src.reset();
    const now = <i64>nowMillis();
    const v = this.root.verdict;
    for (let i = 0; i < cfg.rules.length; i++) {
      const rule = cfg.rules[i];
      if (!rule.match.matches(src)) continue;
      this.root.stores[i].take(ruleKey(rule, cfg, src), rule.limit, now, v);
      const stats = this.root.stats[i];
      if (v.allowed) {
        stats.allowed.increment();
        if (this.limitHeader < 0 || v.remaining < this.remaining) {
          this.limitHeader = rule.limit.burst;
          this.remaining = v.remaining;
          this.resetMs = v.resetMs;
        }
        continue;
      }
      stats.limited.increment();
      // Later rules are not charged for a request that is refused here; nor in a dry run, so
      // that their buckets and counters predict exactly what enforcement would do.
      if (cfg.dryRun) break;
      this.refused = true;
      sendLocalResponse(429, "rate_limited", "{\"error\":\"rate_limited\",\"rule\":\"" + rule.name + "\"}", [
        new HeaderEntry("content-type", "application/json"),
        new HeaderEntry("retry-after", seconds(v.retryAfterMs)),
        new HeaderEntry("ratelimit-limit", rule.limit.burst.toString()),
        new HeaderEntry("ratelimit-remaining", "0"),
        new HeaderEntry("ratelimit-reset", seconds(v.resetMs)),
      ]);
      return HeadersStatus.StopIteration;
    }
    return HeadersStatus.Continue;
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
}

registerFilter(FILTER, (id: u32) => new RateLimitRoot(id));
