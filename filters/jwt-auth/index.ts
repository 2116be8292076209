// jwt-auth: verifies JSON Web Tokens (JWS, RFC 7515/7519) against configured providers, with
// inline or remote JWKS, per-request rules, and claims forwarded as headers.
// See filters/jwt-auth/README.md.
// Entry points: request headers, the tick (JWKS refresh, wait deadlines) and JWKS fetch answers; Envoy skips the callbacks a module does not export (assembly/runtime/entry/core.ts).
export * from "../../assembly/runtime/entry/core";
export * from "../../assembly/runtime/entry/request-headers";
export * from "../../assembly/runtime/entry/tick";
export * from "../../assembly/runtime/entry/http-call";
import {
  ClusterRef, FilterRoot, FilterStream, HeaderEntry, HeaderMap, HeaderName, HeaderSnapshot, HeadersStatus, HostSource, MemoryGauge, Metric, counter,
  declareClusters, getHeaderBytes, IdentityHeaders, logInfo, nowMillis, nowNanos, registerFilter, removeHeaderBytes, resumeRequest, sendLocalResponse,
  setEffectiveContext, setHeaderBytes, setPropertyString, setTickPeriod,
} from "../../assembly/runtime";
import { ConfigErrors, ConfigSource } from "../../assembly/config/reader";
import { quoteJson } from "../../assembly/json";
import { JwtConfig, Provider, SourceKind, parseJwtConfig } from "./config";
import { Decision, RequestView, decide } from "./policy";
import { Failure, describe, isForbidden, metricName } from "./failure";
import { TokenCache } from "./cache";
import { ANOTHER_WORKER, NOT_STARTED, RemoteKeys } from "./remote";
import { tokenFromHeaderBytes, withoutCookie, withoutQueryParam } from "./extract";
import { claimStateValue } from "./identity";
import { ANONYMOUS_CREDENTIAL, ANONYMOUS_CREDENTIAL_BYTES, CONSUMER_HEADERS, ConsumerIdentity, admitCaller } from "../../assembly/runtime/consumer";

const FILTER = "jwt-auth";
const TICK_MS: u32 = 200;
const CACHE_ENTRIES: i32 = 1024;
// Per-provider refusal reasons (metricName()). A missing token belongs to no provider: it is
// counted once, in denied_missing_total.
const REASONS = ["expired", "not_yet_valid", "issuer", "audience", "claims", "signature", "unknown_key", "algorithm", "too_large", "malformed"];
const AUTHORITY = new HeaderName(":authority");
const PATH = new HeaderName(":path");
const COOKIE = new HeaderName("cookie");

class ProviderStats {
  allowed: Metric;
  denied: Metric;
  reasons: Map<string, Metric> = new Map();

  constructor(base: string) {
    this.allowed = counter(base + "allowed_total");
    this.denied = counter(base + "denied_total");
    for (let i = 0; i < REASONS.length; i++) this.reasons.set(REASONS[i], counter(base + "denied." + REASONS[i] + "_total"));
  }
}

/**
 * Request access for the policy: headers by pre-encoded name, the path, template variables. All
 * of them come from the callback's one listing of the request map (HeaderSnapshot), the one
 * identity-header stripping read (and edited, when it removed a header).
 */
class RequestHeadersView extends HostSource implements RequestView {
  constructor() {
    super();
    this.requestHeaders = new HeaderSnapshot(HeaderMap.RequestHeaders);
  }

  header(name: HeaderName): string | null { return this.requestHeader(name.bytes); }

  /** The token is decoded from the listing's bytes, not cut from the whole decoded value (extract.ts). */
  headerToken(name: HeaderName, prefix: string): string | null {
    const snap = this.requestHeaders!;
    return snap.find(name.bytes) ? tokenFromHeaderBytes(snap.foundPtr, snap.foundLen, prefix) : null;
  }
  pathWithQuery(): string | null { return this.fullPath(); }
}

class Waiter {
  constructor(public readonly stream: JwtStream, public readonly provider: Provider, public readonly deadlineMs: u64) {}
}

class JwtRoot extends FilterRoot {
  config: JwtConfig | null = null;
  cache: TokenCache = new TokenCache(CACHE_ENTRIES);
  view: RequestHeadersView = new RequestHeadersView();
  /** Reused by every decision of this plugin: a decision is made and acted on within one callback. */
  decision: Decision = new Decision();
  remotes: Array<RemoteKeys | null> = [];
  stats: ProviderStats[] = [];
  missing: Metric | null = null;
  memory: MemoryGauge | null = null;
  waiting: Waiter[] = [];
  calls: Map<u32, RemoteKeys> = new Map();
  /**
   * Headers a client must not be able to send, in any spelling: every claim and payload header of
   * every provider, and the consumer headers (always, as every auth filter: docs/consumers.md).
   */
  identity: IdentityHeaders = new IdentityHeaders([]);
  /** The claim headers alone: what is stripped when an earlier auth filter identified the caller. */
  claimIdentity: IdentityHeaders = new IdentityHeaders([]);
  /** Per provider, the credential id of its callers ("jwt:<provider>"), encoded once. */
  credentials: ArrayBuffer[] = [];
  credentialTexts: string[] = [];

  configureFrom(source: ConfigSource): bool {
    const errors = new ConfigErrors();
    const cfg = parseJwtConfig(source, errors);
    if (cfg === null) return this.refuseConfig(FILTER, errors);
    const base = "portico.jwt_auth." + (cfg.statPrefix.length ? cfg.statPrefix + "." : "");
    this.config = cfg;
    this.cache.clear();
    this.missing = counter(base + "denied_missing_total");
    this.memory = new MemoryGauge(base + "vm_memory_bytes");
    const clusters: ClusterRef[] = [];
    const claimHeaders: string[] = [];
    this.credentials = [];
    this.credentialTexts = [];
    for (let i = 0; i < cfg.providers.length; i++) {
      const p = cfg.providers[i];
      const pbase = base + p.name + ".";
      this.stats.push(new ProviderStats(pbase));
      this.remotes.push(p.remote !== null ? new RemoteKeys(p, pbase) : null);
      if (p.remote !== null) clusters.push(new ClusterRef(p.remote!.cluster, p.remote!.clusterPath));
      for (let k = 0; k < p.claimHeaders.length; k++) claimHeaders.push(p.claimHeaders[k].header.text);
      if (p.payloadHeader !== null) claimHeaders.push(p.payloadHeader!.text);
      this.credentialTexts.push("jwt:" + p.name);
      this.credentials.push(String.UTF8.encode("jwt:" + p.name));
    }
    this.identity = new IdentityHeaders(CONSUMER_HEADERS.concat(claimHeaders));
    this.claimIdentity = new IdentityHeaders(claimHeaders);
    if (clusters.length > 0) setTickPeriod(TICK_MS);
    declareClusters(clusters); // for the control plane's check; Envoy ignores it
    logInfo(FILTER + ": configured " + cfg.providers.length.toString() + " provider(s), " + cfg.rules.length.toString() + " rule(s)");
    return true;
  }

  newStream(contextId: u32): FilterStream {
    return new JwtStream(contextId, this);
  }

  remoteFor(p: Provider): RemoteKeys | null { return this.remotes[p.index]; }

  /** Starts (or joins) a JWKS fetch for `p`; true when the caller should wait for new keys. */
  fetchKeys(p: Provider, now: u64, force: bool): bool {
    const remote = this.remoteFor(p);
    if (remote === null) return false;
    if (remote.inFlight) return true;
    if (!remote.due(now, force || p.keys.keys.length == 0)) return false;
    const token = remote.start(now);
    if (token == NOT_STARTED) return false;
    if (token != ANOTHER_WORKER) this.calls.set(token, remote);
    return true;
  }

  /** Installs a key set another worker stored since; true when the keys changed. */
  syncKeys(p: Provider): bool {
    const remote = this.remoteFor(p);
    if (remote === null || !remote.sync(nowMillis())) return false;
    this.cache.clear();
    return true;
  }

  onTick(): void {
    const now = nowMillis();
    for (let i = 0; i < this.remotes.length; i++) {
      const remote = this.remotes[i];
      if (remote === null) continue;
      if (remote.sync(now)) this.keysChanged(remote.provider);
      if (!remote.inFlight && now >= remote.nextDueMs) this.fetchKeys(remote.provider, now, false);
    }
    // Requests that waited too long for keys get the verdict they would get without them.
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i];
      if (now >= w.deadlineMs) {
        this.waiting.splice(i, 1);
        setEffectiveContext(w.stream.context_id);
        w.stream.retry();
      }
    }
    setEffectiveContext(this.context_id);
  }

  onHttpCallResponse(token: u32, headers: u32, body_size: u32, trailers: u32): void {
    if (!this.calls.has(token)) return;
    const remote = this.calls.get(token);
    this.calls.delete(token);
    remote.finish(nowMillis(), body_size);
    this.keysChanged(remote.provider); // new keys, or a final failure: waiting requests get their verdict
  }

  /** New keys (or a final fetch failure): waiting requests are decided again. */
  private keysChanged(p: Provider): void {
    this.cache.clear();
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i];
      if (w.provider !== p) continue;
      this.waiting.splice(i, 1);
      setEffectiveContext(w.stream.context_id);
      w.stream.retry();
    }
    setEffectiveContext(this.context_id);
  }

  wait(stream: JwtStream, p: Provider): void {
    this.waiting.push(new Waiter(stream, p, nowMillis() + <u64>p.remote!.timeoutMs));
  }

  forget(stream: JwtStream): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) if (this.waiting[i].stream === stream) this.waiting.splice(i, 1);
  }
}

function wwwAuthenticate(realm: string, f: Failure): string {
  let v = "Bearer realm=" + quoteJson(realm);
  if (f == Failure.Missing) return v;
  v += ", error=\"" + (isForbidden(f) ? "insufficient_scope" : "invalid_token") + "\"";
  return v + ", error_description=" + quoteJson(describe(f));
}

class JwtStream extends FilterStream {
  private waited: bool = false;
  /** With `anonymous`: an earlier auth filter identified the caller; a valid token's consumer replaces it. */
  private replacing: bool = false;

  constructor(contextId: u32, private root: JwtRoot) {
    super(contextId, root);
  }

  onRequestHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    const cfg = this.root.config;
    if (cfg === null) return HeadersStatus.Continue;
    this.root.memory!.tick();
    const view = this.root.view;
    view.reset();
    this.replacing = cfg.consumers.block.anonymous >= 0 && view.consumerName() !== null;
    // Clients must not be able to pass claim or identity headers of their own, whatever the rule
    // decides (those present after an earlier auth filter identified the caller are that
    // filter's: earlierCaller() in assembly/runtime/consumer.ts).
    // Claim headers are this filter's alone: always stripped.
    (this.replacing ? this.root.claimIdentity : this.root.identity).strip();
    return this.run(true);
  }

  /** Decides and acts; `firstTime` false when resumed after waiting for keys. */
  run(firstTime: bool): HeadersStatus {
    const cfg = this.root.config!;
    const view = this.root.view;
    // A resumed request runs in another callback: what the view read before is stale.
    if (!firstTime) view.reset();
    let d = decide(cfg, view, <f64>nowNanos() / 1e9, this.root.cache, this.root.decision);
    if (d.needsKeys !== null && this.root.syncKeys(d.needsKeys!)) {
      view.reset();
      d = decide(cfg, view, <f64>nowNanos() / 1e9, this.root.cache, this.root.decision);
    }
    if (d.needsKeys !== null && !this.waited) {
      const p = d.needsKeys!;
      if (this.root.fetchKeys(p, nowMillis(), true)) {
        this.waited = true;
        this.root.wait(this, p);
        return HeadersStatus.StopIteration;
      }
    }
    if (d.pass) {
      // As Kong's auth plugins with `anonymous` (a logical OR between auth methods): a caller an
      // auth filter earlier in the chain already identified keeps that identity.
      if (d.anonymous && !this.replacing && view.consumerName() === null) this.identify(cfg.consumers.anonymous!, ANONYMOUS_CREDENTIAL_BYTES, ANONYMOUS_CREDENTIAL);
      return this.proceed(firstTime);
    }
    if (d.allowed) {
      this.forward(d);
      this.afterVerified(cfg, d);
      this.root.stats[d.provider!.index].allowed.increment();
      return this.proceed(firstTime);
    }
    this.refuse(d, view);
    return HeadersStatus.StopIteration;
  }

  /** Decides again after waiting for keys (the request is paused; run() resumes or refuses it). */
  retry(): void {
    this.run(false);
  }

  private proceed(firstTime: bool): HeadersStatus {
    if (!firstTime) resumeRequest();
    return HeadersStatus.Continue;
  }

  private forward(d: Decision): void {
    const p = d.provider!;
    const found = d.found!;
    if (!p.forwardToken) {
      const s = found.source;
      if (s.kind == SourceKind.Header) removeHeaderBytes(HeaderMap.RequestHeaders, s.header!.bytes);
      else if (s.kind == SourceKind.Query) {
        const path = this.root.view.fullPath();
        if (path !== null) setHeaderBytes(HeaderMap.RequestHeaders, PATH.bytes, withoutQueryParam(path, s.name));
      } else {
        const c = getHeaderBytes(HeaderMap.RequestHeaders, COOKIE.bytes);
        if (c !== null) {
          const rest = withoutCookie(c, s.name);
          if (rest.length) setHeaderBytes(HeaderMap.RequestHeaders, COOKIE.bytes, rest);
          else removeHeaderBytes(HeaderMap.RequestHeaders, COOKIE.bytes);
        }
      }
    }
    const payload = d.payload!;
    for (let i = 0; i < p.claimHeaders.length; i++) {
      const ch = p.claimHeaders[i];
      const v = payload.getPath(ch.claim);
      if (v !== null) setHeaderBytes(HeaderMap.RequestHeaders, ch.header.bytes, v.toText());
    }
    if (p.payloadHeader !== null) setHeaderBytes(HeaderMap.RequestHeaders, p.payloadHeader!.bytes, d.payloadText);
  }

  /** A token verified: its claims for ACLs, and the consumer it maps to, if any. */
  private afterVerified(cfg: JwtConfig, d: Decision): void {
    const payload = d.payload!;
    for (let i = 0; i < cfg.stateClaims.length; i++) {
      const c = cfg.stateClaims[i];
      const v = claimStateValue(c.name, payload.get(c.name));
      if (v !== null) setPropertyString(c.path, v);
    }
    if (!cfg.consumers.enabled) return;
    const p = d.provider!;
    // A valid token no mapping names passes unidentified, as before consumers existed.
    const consumer = cfg.consumers.find(p.rules.issuer, payload);
    if (consumer !== null) this.identify(consumer, this.root.credentials[p.index], this.root.credentialTexts[p.index]);
  }

  /** Records the caller for later filters (filter state) and, as configured, the upstream. */
  private identify(consumer: ConsumerIdentity, credential: ArrayBuffer, credentialText: string): void {
    admitCaller(consumer, credential, credentialText, this.root.config!.consumers.block.upstreamHeaders, this.replacing);
  }

  private refuse(d: Decision, view: RequestHeadersView): void {
    const f = d.failure;
    if (f == Failure.Missing) this.root.missing!.increment();
    if (d.provider !== null) {
      const stats = this.root.stats[d.provider!.index];
      stats.denied.increment();
      const reason = metricName(f);
      if (stats.reasons.has(reason)) stats.reasons.get(reason).increment();
    }
    const authority = view.header(AUTHORITY);
    const status: u32 = isForbidden(f) ? 403 : 401;
    const error = f == Failure.Missing ? "missing_token" : isForbidden(f) ? "insufficient_scope" : "invalid_token";
    const body = "{\"error\":\"" + error + "\",\"error_description\":" + quoteJson(describe(f)) + "}";
    sendLocalResponse(status, "jwt_authn_" + metricName(f), body, [
      new HeaderEntry("www-authenticate", wwwAuthenticate(authority === null ? "" : authority, f)),
      new HeaderEntry("content-type", "application/json"),
    ]);
  }

  onDelete(): void {
    this.root.forget(this);
  }
}

registerFilter(FILTER, (id: u32) => new JwtRoot(id));
