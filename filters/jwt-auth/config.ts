// Parses and validates the jwt-auth configuration into providers and rules. Every mistake is
// reported with the path of the field, all at once.
import { ConfigErrors, ConfigSource, ObjectReader, indexPath, readStringArray } from "../../assembly/config/reader";
import { headerName, readRequestMatch } from "../../assembly/config/match";
import { JsonValue, kindName } from "../../assembly/json";
import { RequestMatch } from "../../assembly/match";
import { HeaderName } from "../../assembly/runtime/headers";
import { Alg, algByName, algorithmNames } from "./algorithms";
import { KeySet, readJwks } from "./jwks";
import { ClaimRules } from "./verify";
import { JwtConsumers, StateClaim, readJwtConsumers, readStateClaims } from "./identity";

export const MAX_CONFIG_BYTES: i32 = 512 * 1024;
const MAX_PROVIDERS: i32 = 16;
const MAX_RULES: i32 = 64;

export enum SourceKind {
  Header = 0,
  Query = 1,
  Cookie = 2,
}

/** Where a token may be found. */
export class TokenSource {
  constructor(public readonly kind: SourceKind, public readonly name: string, public readonly prefix: string) {
    this.header = kind == SourceKind.Header ? new HeaderName(name) : null;
  }
  readonly header: HeaderName | null;
}

export class ClaimHeader {
  constructor(public readonly claim: string[], public readonly header: HeaderName) {}
}

export class RemoteJwks {
  cluster: string = "";
  /** Where the config names the cluster, for declareClusters. */
  clusterPath: string = "";
  path: string = "";
  authority: string = "";
  timeoutMs: u32 = 2000;
  refreshMs: u64 = 300_000;
  minRefreshMs: u64 = 5_000;
}

export class Provider {
  index: i32 = 0;
  name: string = "";
  rules: ClaimRules = new ClaimRules();
  /** Allowed algorithms; null means "whatever the keys support". */
  algorithms: Alg[] | null = null;
  /** Inline keys; for a remote JWKS, the last good fetched set (swapped on refresh). */
  keys: KeySet = new KeySet();
  remote: RemoteJwks | null = null;
  sources: TokenSource[] = [];
  claimHeaders: ClaimHeader[] = [];
  payloadHeader: HeaderName | null = null;
  forwardToken: bool = false;
  maxTokenBytes: i32 = 8192;
}

export class Rule {
  match: RequestMatch = new RequestMatch();
  /** Any one of these providers must accept the token; empty means "no JWT needed". */
  requires: Provider[] = [];
  allowMissing: bool = false;
}

export class JwtConfig {
  statPrefix: string = "";
  providers: Provider[] = [];
  rules: Rule[] = [];
  /** The consumers verified tokens map to (docs/consumers.md); none by default. */
  consumers: JwtConsumers = new JwtConsumers();
  /** Claims of a verified token written to filter state for ACLs. */
  stateClaims: StateClaim[] = [];
}

function readSources(p: ObjectReader): TokenSource[] {
  const out = new Array<TokenSource>();
  const list = p.array("from", false, 8);
  if (list === null) {
    out.push(new TokenSource(SourceKind.Header, "authorization", "Bearer "));
    return out;
  }
  for (let i = 0; i < list.length; i++) {
    const s = ObjectReader.of(list.at(i), indexPath(p.at("from"), i), p.errors);
    if (s === null) continue;
    const header = s.optionalString("header", 256);
    const query = s.optionalString("query", 256);
    const cookie = s.optionalString("cookie", 256);
    const prefix = s.string("prefix", "", false, 64);
    s.finish();
    const count = (header !== null ? 1 : 0) + (query !== null ? 1 : 0) + (cookie !== null ? 1 : 0);
    if (count != 1) {
      s.errors.add(s.path, "needs exactly one of header, query, cookie");
      continue;
    }
    if (header !== null) {
      const name = headerName(header, s.at("header"), s.errors);
      if (name !== null) out.push(new TokenSource(SourceKind.Header, name, prefix));
    } else if (query !== null) {
      if (query.length == 0) s.errors.add(s.at("query"), "must not be empty");
      else out.push(new TokenSource(SourceKind.Query, query, prefix));
    } else {
      if (cookie!.length == 0) s.errors.add(s.at("cookie"), "must not be empty");
      else out.push(new TokenSource(SourceKind.Cookie, cookie!, prefix));
    }
  }
  if (out.length == 0 && p.errors.empty) p.errors.add(p.at("from"), "must name at least one place");
  return out;
}

function splitClaim(claim: string): string[] {
  return claim.split(".");
}

function readProvider(v: JsonValue, path: string, index: i32, errors: ConfigErrors): Provider | null {
  const p = ObjectReader.of(v, path, errors);
  if (p === null) return null;
  const provider = new Provider();
  provider.index = index;
  provider.name = p.metricName("name", "", true);
  provider.rules.issuer = p.string("issuer", "", true, 1024);
  const aud = p.array("audiences", false, 64);
  if (aud !== null) provider.rules.audiences = readStringArray(aud, p.at("audiences"), errors, 1024);
  const algs = p.array("algorithms", false, 16);
  if (algs !== null) {
    const names = readStringArray(algs, p.at("algorithms"), errors, 16);
    const list = new Array<Alg>();
    for (let i = 0; i < names.length; i++) {
      const a = algByName(names[i]);
      if (a === null) errors.add(indexPath(p.at("algorithms"), i), "unsupported algorithm \"" + names[i] + "\"; supported: " + algorithmNames());
      else list.push(a);
    }
    if (names.length == 0) errors.add(p.at("algorithms"), "must not be empty (omit it to allow what the keys support)");
    provider.algorithms = list;
  }
  const jwks = p.raw("jwks");
  const remote = p.object("remote_jwks");
  if ((jwks === null) == (remote === null)) {
    errors.add(path, "needs exactly one of jwks (inline) or remote_jwks");
  } else if (jwks !== null) {
    if (!jwks.isObject) errors.add(p.at("jwks"), "must be a JWKS object, got " + kindName(jwks.kind));
    else {
      provider.keys = readJwks(jwks);
      for (let i = 0; i < provider.keys.skipped.length; i++) errors.add(p.at("jwks"), provider.keys.skipped[i]);
      if (provider.keys.keys.length == 0 && provider.keys.skipped.length == 0) errors.add(p.at("jwks"), "has no keys");
    }
  } else {
    const r = remote!;
    const cfg = new RemoteJwks();
    cfg.cluster = r.string("cluster", "", true, 256);
    cfg.clusterPath = r.at("cluster");
    cfg.path = r.string("path", "", true, 2048);
    if (cfg.path.length && !cfg.path.startsWith("/")) errors.add(r.at("path"), "must start with '/'");
    cfg.authority = r.string("authority", cfg.cluster, false, 256);
    cfg.timeoutMs = <u32>r.duration("timeout", "timeout_ms", 1, 2000, 100, 60_000);
    cfg.refreshMs = <u64>r.duration("refresh", "refresh_s", 1000, 300_000, 1000, 86_400_000);
    cfg.minRefreshMs = <u64>r.duration("min_refresh", "min_refresh_s", 1000, 5000, 1000, 3_600_000);
    r.finish();
    provider.remote = cfg;
  }
  provider.sources = readSources(p);
  provider.rules.clockSkewS = <f64>p.duration("clock_skew", "clock_skew_s", 1000, 60_000, 0, 3_600_000) / 1000;
  provider.rules.requireExp = p.bool("require_exp", true);
  const req = p.array("required_claims", false, 32);
  if (req !== null) {
    const names = readStringArray(req, p.at("required_claims"), errors, 256);
    for (let i = 0; i < names.length; i++) provider.rules.requiredClaims.push(splitClaim(names[i]));
  }
  const ch = p.array("claims_to_headers", false, 32);
  if (ch !== null) {
    for (let i = 0; i < ch.length; i++) {
      const c = ObjectReader.of(ch.at(i), indexPath(p.at("claims_to_headers"), i), errors);
      if (c === null) continue;
      const claim = c.string("claim", "", true, 256);
      const header = c.string("header", "", true, 256);
      c.finish();
      const name = header.length ? headerName(header, c.at("header"), errors) : null;
      if (name !== null && name.startsWith(":")) errors.add(c.at("header"), "must not be a pseudo-header");
      else if (name !== null && claim.length) provider.claimHeaders.push(new ClaimHeader(splitClaim(claim), new HeaderName(name)));
    }
  }
  const ph = p.optionalString("payload_header", 256);
  if (ph !== null) {
    const name = headerName(ph, p.at("payload_header"), errors);
    if (name !== null) provider.payloadHeader = new HeaderName(name);
  }
  provider.forwardToken = p.bool("forward_token", false);
  provider.maxTokenBytes = <i32>p.int("max_token_bytes", 8192, 256, 65536);
  p.finish();
  return provider;
}

function readRule(v: JsonValue, path: string, cfg: JwtConfig, errors: ConfigErrors): Rule | null {
  const r = ObjectReader.of(v, path, errors);
  if (r === null) return null;
  const rule = new Rule();
  rule.match = readRequestMatch(r);
  const req = r.array("requires", true, MAX_PROVIDERS);
  if (req !== null) {
    const names = readStringArray(req, r.at("requires"), errors, 64);
    for (let i = 0; i < names.length; i++) {
      let found: Provider | null = null;
      for (let k = 0; k < cfg.providers.length; k++) if (cfg.providers[k].name == names[i]) found = cfg.providers[k];
      if (found === null) errors.add(indexPath(r.at("requires"), i), "no provider named \"" + names[i] + "\"");
      else rule.requires.push(found);
    }
  }
  rule.allowMissing = r.bool("allow_missing", false);
  r.finish();
  return rule;
}

export function parseJwtConfig(source: ConfigSource, errors: ConfigErrors): JwtConfig | null {
  const doc = source.document(MAX_CONFIG_BYTES, errors);
  if (doc === null) return null;
  const top = ObjectReader.of(doc, "", errors);
  if (top === null) return null;
  const cfg = new JwtConfig();
  cfg.statPrefix = top.metricName("stat_prefix", "");
  const providers = top.array("providers", true, MAX_PROVIDERS);
  if (providers !== null) {
    if (providers.length == 0) errors.add("providers", "must contain at least one provider");
    for (let i = 0; i < providers.length; i++) {
      const p = readProvider(providers.at(i), indexPath("providers", i), i, errors);
      if (p === null) continue;
      for (let k = 0; k < cfg.providers.length; k++) {
        if (cfg.providers[k].name == p.name) errors.add(indexPath("providers", i) + ".name", "duplicate provider name \"" + p.name + "\"");
      }
      cfg.providers.push(p);
    }
  }
  const rules = top.array("rules", true, MAX_RULES);
  if (rules !== null) {
    if (rules.length == 0) errors.add("rules", "must contain at least one rule");
    for (let i = 0; i < rules.length; i++) {
      const r = readRule(rules.at(i), indexPath("rules", i), cfg, errors);
      if (r !== null) cfg.rules.push(r);
    }
  }
  const issuers = new Array<string>();
  for (let i = 0; i < cfg.providers.length; i++) issuers.push(cfg.providers[i].rules.issuer);
  cfg.consumers = readJwtConsumers(top, issuers);
  cfg.stateClaims = readStateClaims(top);
  top.finish();
  return errors.empty ? cfg : null;
}
