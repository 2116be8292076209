// Parses and validates the rate-limit configuration. Every mistake is reported with the path of
// the field, all at once.
import { ConfigErrors, ConfigSource, ObjectReader, indexPath } from "../../assembly/config/reader";
import { headerName, readRequestMatch } from "../../assembly/config/match";
import { JsonValue } from "../../assembly/json";
import { RequestMatch } from "../../assembly/match";
import { HeaderName } from "../../assembly/runtime/headers";
import { Limit } from "./bucket";
import { KeyKind } from "./keys";

export const MAX_CONFIG_BYTES: i32 = 128 * 1024;
const MAX_RULES: i32 = 32;

export class KeyPart {
  constructor(public readonly kind: KeyKind, public readonly value: string) {
    this.header = kind == KeyKind.Header ? new HeaderName(value) : null;
  }
  readonly header: HeaderName | null;
}

export class Rule {
  index: i32 = 0;
  name: string = "";
  match: RequestMatch = new RequestMatch();
  limit: Limit = new Limit(1, 1000, 1);
  key: KeyPart[] = [];
  /** scope: global: the rate limit service decides (a fixed window of `period`); else this Envoy's buckets. */
  global: bool = false;
  /** on_failure: deny (global rules only): refuse when the service cannot answer. */
  failureDeny: bool = false;
  /**
   * sync (global rules only): decide locally and report the hits to the service every syncMs
   * (sync.ts); 0: ask the service on every request.
   */
  syncMs: i64 = 0;
}

/** The bounds of a global rule's `sync` interval. */
export const MIN_SYNC_MS: i64 = 20;
export const MAX_SYNC_MS: i64 = 10_000;

/** The rate limit service a filter with global rules asks (the `global` block). */
export class GlobalConfig {
  /** Envoy cluster (HTTP/2) of an envoy.service.ratelimit.v3.RateLimitService. */
  cluster: string = "";
  domain: string = "portico";
  timeoutMs: u32 = 100;
  /** Calls in flight per VM; beyond it the rule's failure policy applies without a call. */
  maxPending: i32 = 1000;
}

/**
 * The periods a global rule can have: the service's units (second, minute, hour, day), which
 * count fixed windows of exactly that length.
 */
export const GLOBAL_PERIODS_MS: i64[] = [1000, 60_000, 3_600_000, 86_400_000];
export const GLOBAL_UNITS: string[] = ["second", "minute", "hour", "day"];

export class RateLimitConfig {
  statPrefix: string = "";
  trustedHops: i32 = 0;
  dryRun: bool = false;
  rateLimitHeaders: bool = false;
  maxKeys: u32 = 10000;
  rules: Rule[] = [];
  /** Set iff some rule has scope global. */
  global: GlobalConfig | null = null;
}

/** Where the config names the service's cluster, for declareClusters. */
export const GLOBAL_CLUSTER_PATH = "global.cluster";

function readKey(r: ObjectReader, rule: Rule): void {
  const list = r.array("key", false, 8);
  if (list === null) {
    rule.key.push(new KeyPart(KeyKind.Fixed, "global"));
    return;
  }
  if (list.length == 0) r.errors.add(r.at("key"), "must have at least one part (omit it for one bucket for everyone)");
  for (let i = 0; i < list.length; i++) {
    const p = ObjectReader.of(list.at(i), indexPath(r.at("key"), i), r.errors);
    if (p === null) continue;
    let kinds = 0;
    if (p.has("client_ip")) {
      kinds++;
      if (!p.bool("client_ip", true)) p.errors.add(p.at("client_ip"), "must be true");
      else rule.key.push(new KeyPart(KeyKind.ClientIp, ""));
    }
    if (p.has("route")) {
      kinds++;
      if (!p.bool("route", true)) p.errors.add(p.at("route"), "must be true");
      else rule.key.push(new KeyPart(KeyKind.Route, ""));
    }
    if (p.has("consumer")) {
      kinds++;
      if (!p.bool("consumer", true)) p.errors.add(p.at("consumer"), "must be true");
      else rule.key.push(new KeyPart(KeyKind.Consumer, ""));
    }
    const header = p.optionalString("header", 256);
    if (header !== null) {
      kinds++;
      const name = headerName(header, p.at("header"), p.errors);
      if (name !== null) rule.key.push(new KeyPart(KeyKind.Header, name));
    }
    const fixed = p.optionalString("fixed", 256);
    if (fixed !== null) {
      kinds++;
      rule.key.push(new KeyPart(KeyKind.Fixed, fixed));
    }
    p.finish();
    if (kinds != 1) p.errors.add(p.path, "needs exactly one of client_ip, consumer, header, route, fixed");
  }
}

function readRule(v: JsonValue, path: string, index: i32, errors: ConfigErrors): Rule | null {
  const r = ObjectReader.of(v, path, errors);
  if (r === null) return null;
  const rule = new Rule();
  rule.index = index;
  rule.name = r.metricName("name", "", true);
  rule.match = readRequestMatch(r);
  const requests = r.int("requests", 1, 1, 1_000_000, true);
  const periodMs = r.duration("period", "period_s", 1000, 1000, 1000, 86_400_000, true);
  const burst = r.int("burst", requests, 1, 1_000_000);
  rule.limit = new Limit(requests, periodMs, burst);
  const scope = r.optionalString("scope", 16);
  if (scope !== null && scope != "local" && scope != "global") r.errors.add(r.at("scope"), "must be \"local\" or \"global\"");
  rule.global = scope !== null && scope == "global";
  const onFailure = r.optionalString("on_failure", 16);
  if (onFailure !== null && onFailure != "allow" && onFailure != "deny") r.errors.add(r.at("on_failure"), "must be \"allow\" or \"deny\"");
  rule.failureDeny = onFailure !== null && onFailure == "deny";
  const syncMs = r.duration("sync", "", 1, 0, MIN_SYNC_MS, MAX_SYNC_MS);
  if (rule.global) {
    rule.syncMs = syncMs;
    if (!GLOBAL_PERIODS_MS.includes(periodMs)) {
      r.errors.add(r.at(r.has("period_s") ? "period_s" : "period"), "a global rule's period must be 1s, 1m, 1h or 24h (the rate limit service counts per second, minute, hour or day)");
    }
    if (r.has("burst")) r.errors.add(r.at("burst"), "global limits count fixed windows; burst applies to local rules only");
  } else {
    if (onFailure !== null) r.errors.add(r.at("on_failure"), "applies to global rules only (scope: global); a local rule never waits on a service");
    if (r.has("sync")) r.errors.add(r.at("sync"), "applies to global rules only (scope: global); a local rule is always decided here");
  }
  readKey(r, rule);
  r.finish();
  return rule;
}

function readGlobal(top: ObjectReader): GlobalConfig | null {
  const g = top.object("global");
  if (g === null) return null;
  const cfg = new GlobalConfig();
  cfg.cluster = g.string("cluster", "", true, 256);
  if (g.has("cluster") && cfg.cluster.length == 0) g.errors.add(g.at("cluster"), "must not be empty");
  cfg.domain = g.string("domain", "portico", false, 256);
  if (cfg.domain.length == 0) g.errors.add(g.at("domain"), "must not be empty");
  cfg.timeoutMs = <u32>g.duration("timeout", "", 1, 100, 1, 10_000);
  cfg.maxPending = <i32>g.int("max_pending", 1000, 1, 100_000);
  g.finish();
  return cfg;
}

export function parseRateLimitConfig(source: ConfigSource, errors: ConfigErrors): RateLimitConfig | null {
  const doc = source.document(MAX_CONFIG_BYTES, errors);
  if (doc === null) return null;
  const top = ObjectReader.of(doc, "", errors);
  if (top === null) return null;
  const cfg = new RateLimitConfig();
  cfg.statPrefix = top.metricName("stat_prefix", "");
  cfg.trustedHops = <i32>top.int("trusted_hops", 0, 0, 16);
  cfg.dryRun = top.bool("dry_run", false);
  cfg.rateLimitHeaders = top.bool("rate_limit_headers", false);
  cfg.maxKeys = <u32>top.int("max_keys", 10000, 1, 1_000_000);
  const rules = top.array("rules", true, MAX_RULES);
  const global = readGlobal(top);
  top.finish();
  if (rules !== null) {
    if (rules.length == 0) errors.add("rules", "must contain at least one rule");
    for (let i = 0; i < rules.length; i++) {
      const rule = readRule(rules.at(i), indexPath("rules", i), i, errors);
      if (rule === null) continue;
      for (let k = 0; k < cfg.rules.length; k++) {
        if (cfg.rules[k].name == rule.name) errors.add(indexPath("rules", i) + ".name", "duplicate rule name \"" + rule.name + "\"");
      }
      cfg.rules.push(rule);
    }
  }
  // The global block and the global rules come together: a block no rule uses is a mistake
  // (a rule meant to be global whose scope was forgotten), not something to ignore.
  let firstGlobal = -1;
  for (let i = 0; i < cfg.rules.length && firstGlobal < 0; i++) if (cfg.rules[i].global) firstGlobal = cfg.rules[i].index;
  if (firstGlobal >= 0 && global === null) errors.add("global", "required by " + indexPath("rules", firstGlobal) + " (scope global)");
  if (firstGlobal < 0 && global !== null) errors.add("global", "no rule has scope global");
  cfg.global = firstGlobal >= 0 ? global : null;
  return errors.empty ? cfg : null;
}
