// basic-auth: HTTP Basic authentication (RFC 7617) against htpasswd-style password hashes (bcrypt,
// {SHA}); the caller becomes a consumer for every later filter (assembly/runtime/consumer.ts).
// Verified credentials are cached per VM, and uncached bcrypt checks are rationed per second.
// See filters/basic-auth/README.md.
// Entry points: request headers only; Envoy skips the callbacks a module does not export (assembly/runtime/entry/core.ts).
export * from "../../assembly/runtime/entry/core";
export * from "../../assembly/runtime/entry/request-headers";
import {
  FilterRoot, FilterStream, HeaderEntry, HeaderMap, HeaderSnapshot, HeadersStatus, IdentityHeaders, MemoryGauge, Metric, counter, logInfo, nowMillis, registerFilter, removeHeaderBytes, sendLocalResponse,
} from "../../assembly/runtime";
import { ConfigErrors, ConfigSource } from "../../assembly/config/reader";
import { ANONYMOUS_CREDENTIAL, ANONYMOUS_CREDENTIAL_BYTES, CONSUMER_HEADERS, ConsumerIdentity, admitCaller, earlierCaller } from "../../assembly/runtime/consumer";
import { Sha256 } from "../../assembly/crypto/sha256";
import { BasicAuthConfig, BasicUser, MAX_USERNAME, parseBasicAuthConfig } from "./config";
import { AuthorizationKind, BasicCredentials, parseAuthorization } from "./authorization";
import { KEY_BYTES, VerifiedCache } from "./cache";
import { VerifyBudget } from "./budget";

const FILTER = "basic-auth";
const AUTHORIZATION = String.UTF8.encode("authorization");
const MISSING_BODY = "{\"error\":\"missing_credentials\"}";
const INVALID_BODY = "{\"error\":\"invalid_credentials\"}";
const THROTTLED_BODY = "{\"error\":\"too_many_password_checks\"}";
/** The separator between username and password in the cache key (a username has no NUL). */
const NUL: usize = memory.data<u8>([0]);

class Stats {
  allowed: Metric;
  missing: Metric;
  invalid: Metric;
  anonymous: Metric;
  cacheHits: Metric;
  /** bcrypt checks actually run (not answered by the cache): what the budget rations. */
  verifications: Metric;
  throttled: Metric;

  constructor(base: string) {
    this.allowed = counter(base + "allowed_total");
    this.missing = counter(base + "missing_total");
    this.invalid = counter(base + "invalid_total");
    this.anonymous = counter(base + "anonymous_total");
    this.cacheHits = counter(base + "cache_hits_total");
    this.verifications = counter(base + "verifications_total");
    this.throttled = counter(base + "verify_throttled_total");
  }
}

/** Whether the `len` bytes at p can be a configured username (visible ASCII, at most 256): else no lookup. */
function plausibleUsername(p: usize, len: i32): bool {
  if (len <= 0 || len > MAX_USERNAME) return false;
  for (let i = 0; i < len; i++) {
    const c = load<u8>(p + <usize>i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

class BasicAuthRoot extends FilterRoot {
  config: BasicAuthConfig | null = null;
  /** Client-sent x-consumer-* and x-credential-identifier, in every spelling, never reach the upstream. */
  identity: IdentityHeaders = new IdentityHeaders(CONSUMER_HEADERS);
  /** The request listing, read once per request (identity stripping makes it). */
  snapshot: HeaderSnapshot = new HeaderSnapshot(HeaderMap.RequestHeaders);
  credentials: BasicCredentials = new BasicCredentials();
  hasher: Sha256 = new Sha256();
  key: ArrayBuffer = new ArrayBuffer(KEY_BYTES);
  /** Replaced at every configure: a new configuration never answers from the old one's cache. */
  cache: VerifiedCache = new VerifiedCache(1, 0);
  budget: VerifyBudget = new VerifyBudget(1);
  wwwAuthenticate: string = "";
  stats: Stats | null = null;
  memory: MemoryGauge | null = null;

  configureFrom(source: ConfigSource): bool {
    const errors = new ConfigErrors();
    const cfg = parseBasicAuthConfig(source, errors);
    if (cfg === null) return this.refuseConfig(FILTER, errors);
    this.config = cfg;
    const base = "portico.basic_auth." + (cfg.statPrefix.length ? cfg.statPrefix + "." : "");
    this.stats = new Stats(base);
    this.memory = new MemoryGauge(base + "vm_memory_bytes");
    this.cache = new VerifiedCache(cfg.cacheSize, cfg.cacheTtlMs);
    this.budget = new VerifyBudget(cfg.maxVerificationsPerSecond);
    this.wwwAuthenticate = "Basic realm=\"" + cfg.realm + "\", charset=\"UTF-8\"";
    logInfo(FILTER + ": configured " + cfg.consumers.consumers.length.toString() + " consumer(s), " + cfg.users.length.toString() + " user(s)");
    return true;
  }

  newStream(contextId: u32): FilterStream {
    return new BasicAuthStream(contextId, this);
  }

  /** SHA-256(username ‖ 0x00 ‖ password) of the parsed credentials, into `key`. */
  cacheKey(c: BasicCredentials): usize {
    const h = this.hasher;
    h.updatePtr(c.userPtr, c.userLen);
    h.updatePtr(NUL, 1);
    h.updatePtr(c.passwordPtr, c.passwordLen);
    const key = changetype<usize>(this.key);
    h.finalInto(key);
    return key;
  }
}

enum Check {
  Passed,
  Failed,
  Throttled,
}

class BasicAuthStream extends FilterStream {
  /** An earlier auth filter identified the caller: admitting replaces its identity and headers. */
  private replacing: bool = false;

  constructor(contextId: u32, private root: BasicAuthRoot) {
    super(contextId, root);
  }

  onRequestHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    const root = this.root;
    const cfg = root.config;
    if (cfg === null) return HeadersStatus.Continue;
    root.memory!.tick();
    const snap = root.snapshot;
    const earlier = earlierCaller(cfg.consumers.anonymous >= 0);
    this.replacing = earlier;
    // Whatever the verdict, a client must not pass identity headers of its own (those present
    // after an earlier auth filter identified the caller are that filter's).
    if (!earlier) root.identity.strip();
    const count = snap.count(AUTHORIZATION);
    if (count == 0) return this.noCredential(cfg);
    // Two Authorization headers are ambiguous (which one would a later filter or the upstream read?).
    // Envoy joins them into one value with "," (Authorization is one of its inline headers), which
    // the base64 check refuses; a host that keeps them apart is refused here.
    if (count > 1 || !snap.find(AUTHORIZATION)) return this.refuse(true);
    const c = root.credentials;
    parseAuthorization(snap.foundPtr, <i32>snap.foundLen, c);
    if (c.kind == AuthorizationKind.OtherScheme) return this.noCredential(cfg);
    // A malformed or wrong credential is refused even when anonymous callers are admitted: it is a failed login, not no login.
    if (c.kind == AuthorizationKind.Malformed || !plausibleUsername(c.userPtr, c.userLen)) return this.refuse(true);
    const user = cfg.byName.find(c.userPtr, c.userLen);
    if (user === null) return this.refuse(true);
    const check = this.check(user, c);
    if (check == Check.Throttled) return this.throttle();
    if (check == Check.Failed) return this.refuse(true);
    root.stats!.allowed.increment();
    this.admit(cfg, cfg.consumers.consumers[user.consumer], user.credential, user.credentialText);
    if (cfg.hideCredentials) removeHeaderBytes(HeaderMap.RequestHeaders, AUTHORIZATION);
    return HeadersStatus.Continue;
  }

  /** Checks the password: from the cache, or (budget permitting) by hashing it. */
  private check(user: BasicUser, c: BasicCredentials): Check {
    const root = this.root;
    if (!user.hash.expensive) return user.hash.verify(c.passwordPtr, c.passwordLen) ? Check.Passed : Check.Failed;
    const now = <i64>nowMillis();
    const key = root.cacheKey(c);
    if (root.cache.has(key, user.index, now)) {
      root.stats!.cacheHits.increment();
      return Check.Passed;
    }
    if (!root.budget.take(now)) return Check.Throttled;
    root.stats!.verifications.increment();
    if (!user.hash.verify(c.passwordPtr, c.passwordLen)) return Check.Failed;
    // Only now, after a full successful check: a guess is never remembered.
    root.cache.remember(key, user.index, now);
    return Check.Passed;
  }

  private noCredential(cfg: BasicAuthConfig): HeadersStatus {
    // A caller an earlier auth filter identified keeps that identity.
    if (this.replacing) return HeadersStatus.Continue;
    const anon = cfg.consumers.anonymous;
    if (anon < 0) return this.refuse(false);
    this.root.stats!.anonymous.increment();
    this.admit(cfg, cfg.consumers.consumers[anon], ANONYMOUS_CREDENTIAL_BYTES, ANONYMOUS_CREDENTIAL);
    return HeadersStatus.Continue;
  }

  private admit(cfg: BasicAuthConfig, who: ConsumerIdentity, credential: ArrayBuffer, credentialText: string): void {
    admitCaller(who, credential, credentialText, cfg.consumers.upstreamHeaders, this.replacing);
  }

  private refuse(invalid: bool): HeadersStatus {
    const stats = this.root.stats!;
    if (invalid) stats.invalid.increment();
    else stats.missing.increment();
    sendLocalResponse(401, invalid ? "basic_auth_invalid" : "basic_auth_missing", invalid ? INVALID_BODY : MISSING_BODY, [
      new HeaderEntry("www-authenticate", this.root.wwwAuthenticate),
      new HeaderEntry("content-type", "application/json"),
    ]);
    return HeadersStatus.StopIteration;
  }

  private throttle(): HeadersStatus {
    this.root.stats!.throttled.increment();
    sendLocalResponse(429, "basic_auth_verify_throttled", THROTTLED_BODY, [
      new HeaderEntry("retry-after", "1"),
      new HeaderEntry("content-type", "application/json"),
    ]);
    return HeadersStatus.StopIteration;
  }
}

registerFilter(FILTER, (id: u32) => new BasicAuthRoot(id));
