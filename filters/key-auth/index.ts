// key-auth: API keys from a header, a query parameter or a cookie, looked up by SHA-256 digest
// and compared in constant time; the caller becomes a consumer for every later filter
// (assembly/runtime/consumer.ts). See filters/key-auth/README.md.
// Entry points: request headers only; Envoy skips the callbacks a module does not export (assembly/runtime/entry/core.ts).
export * from "../../assembly/runtime/entry/core";
export * from "../../assembly/runtime/entry/request-headers";
import {
  FilterRoot, FilterStream, HeaderEntry, HeaderMap, HeaderSnapshot, HeadersStatus, IdentityHeaders, MemoryGauge, Metric, addHeaderRaw, counter, logInfo, registerFilter,
  removeHeaderBytes, sendLocalResponse, setHeaderRaw,
} from "../../assembly/runtime";
import { ConfigErrors, ConfigSource } from "../../assembly/config/reader";
import { ANONYMOUS_CREDENTIAL, ANONYMOUS_CREDENTIAL_BYTES, CONSUMER_HEADERS, ConsumerIdentity, admitCaller, earlierCaller } from "../../assembly/runtime/consumer";
import { Sha256 } from "../../assembly/crypto/sha256";
import { KeyAuthConfig, SourceKind, parseKeyAuthConfig } from "./config";
import { DIGEST_BYTES } from "./keys";
import { ByteBuffer, KeyFinder } from "./extract";

const FILTER = "key-auth";
const PATH = String.UTF8.encode(":path");
const COOKIE = String.UTF8.encode("cookie");
const MISSING_BODY = "{\"error\":\"missing_key\"}";
const INVALID_BODY = "{\"error\":\"invalid_key\"}";

/** Sets a request header to raw bytes (a `:path` or Cookie value need not be UTF-8: it is passed on as the client sent it). */
function setRequestHeaderRaw(name: ArrayBuffer, value: ByteBuffer, add: bool): void {
  if (add) addHeaderRaw(HeaderMap.RequestHeaders, name, value.ptr, <usize>value.length);
  else setHeaderRaw(HeaderMap.RequestHeaders, name, value.ptr, <usize>value.length);
}

class KeyAuthRoot extends FilterRoot {
  config: KeyAuthConfig | null = null;
  /** Client-sent x-consumer-* and x-credential-identifier, in every spelling, never reach the upstream. */
  identity: IdentityHeaders = new IdentityHeaders(CONSUMER_HEADERS);
  /** The request listing, read once per request (identity stripping makes it). */
  snapshot: HeaderSnapshot = new HeaderSnapshot(HeaderMap.RequestHeaders);
  finder: KeyFinder = new KeyFinder();
  hasher: Sha256 = new Sha256();
  digest: ArrayBuffer = new ArrayBuffer(DIGEST_BYTES);
  wwwAuthenticate: string = "";
  allowed: Metric | null = null;
  missing: Metric | null = null;
  invalid: Metric | null = null;
  anonymous: Metric | null = null;
  /** Per consumer (index in the consumers block), when per_consumer_metrics. */
  perConsumer: Metric[] = [];
  memory: MemoryGauge | null = null;

  configureFrom(source: ConfigSource): bool {
    const errors = new ConfigErrors();
    const cfg = parseKeyAuthConfig(source, errors);
    if (cfg === null) return this.refuseConfig(FILTER, errors);
    this.config = cfg;
    const base = "portico.key_auth." + (cfg.statPrefix.length ? cfg.statPrefix + "." : "");
    this.allowed = counter(base + "allowed_total");
    this.missing = counter(base + "missing_total");
    this.invalid = counter(base + "invalid_total");
    this.anonymous = counter(base + "anonymous_total");
    this.perConsumer = [];
    if (cfg.perConsumerMetrics) {
      for (let i = 0; i < cfg.block.consumers.length; i++) {
        this.perConsumer.push(counter(base + "consumer." + cfg.block.consumers[i].name + ".allowed_total"));
      }
    }
    this.memory = new MemoryGauge(base + "vm_memory_bytes");
    this.wwwAuthenticate = "Key realm=\"" + cfg.realm + "\"";
    logInfo(
      FILTER + ": configured " + cfg.block.consumers.length.toString() + " consumer(s), " + cfg.keys.size.toString() + " key(s), " +
        cfg.sources.length.toString() + " key source(s)",
    );
    return true;
  }

  newStream(contextId: u32): FilterStream {
    return new KeyAuthStream(contextId, this);
  }
}

class KeyAuthStream extends FilterStream {
  /** An earlier auth filter identified the caller: admitting replaces its identity and headers. */
  private replacing: bool = false;

  constructor(contextId: u32, private root: KeyAuthRoot) {
    super(contextId, root);
  }

  onRequestHeaders(headers: u32, endOfStream: bool): HeadersStatus {
    const root = this.root;
    const cfg = root.config;
    if (cfg === null) return HeadersStatus.Continue;
    root.memory!.tick();
    const snap = root.snapshot;
    const earlier = earlierCaller(cfg.block.anonymous >= 0);
    // Whatever the verdict, a client must not pass identity headers of its own (those present
    // after an earlier auth filter identified the caller are that filter's).
    if (!earlier) root.identity.strip();
    if (!snap.listing()) return this.refuse(false);
    const base = snap.listingPtr;
    const size = snap.listingSize;
    const finder = root.finder;
    this.replacing = earlier;
    if (finder.find(cfg.sources, base, size) < 0) {
      // No key: a caller an earlier auth filter identified keeps that identity.
      if (earlier) return HeadersStatus.Continue;
      const anon = cfg.block.anonymous;
      if (anon < 0) return this.refuse(false);
      root.anonymous!.increment();
      this.admit(cfg, anon, cfg.block.consumers[anon], ANONYMOUS_CREDENTIAL_BYTES, ANONYMOUS_CREDENTIAL);
      return HeadersStatus.Continue;
    }
    // A wrong key is refused even when anonymous callers are admitted: it is a failed login, not no login.
    if (finder.tooLong) return this.refuse(true);
    const digest = changetype<usize>(root.digest);
    root.hasher.updatePtr(finder.ptr, <i32>finder.len);
    root.hasher.finalInto(digest);
    const key = cfg.keys.find(digest);
    if (key === null) return this.refuse(true);
    root.allowed!.increment();
    this.admit(cfg, key.consumer, key.owner, key.credential, key.credentialText);
    return HeadersStatus.Continue;
  }

  private admit(cfg: KeyAuthConfig, index: i32, who: ConsumerIdentity, credential: ArrayBuffer, credentialText: string): void {
    admitCaller(who, credential, credentialText, cfg.block.upstreamHeaders, this.replacing);
    if (cfg.perConsumerMetrics) this.root.perConsumer[index].increment();
    if (cfg.hideCredentials) this.hide(cfg);
  }

  /** Takes every configured source's key out of the request (as native api_key_auth does), not only the one used. */
  private hide(cfg: KeyAuthConfig): void {
    const finder = this.root.finder;
    // The map as it is now (after admitCaller's headers): every change below edits the listing,
    // so each step reads it afresh instead of holding a pointer into it (header-listing.ts).
    const snap = this.root.snapshot;
    let query = false;
    let cookie = false;
    for (let i = 0; i < cfg.sources.length; i++) {
      const s = cfg.sources[i];
      if (s.kind == SourceKind.Header) {
        if (snap.has(s.header!.bytes)) removeHeaderBytes(HeaderMap.RequestHeaders, s.header!.bytes);
      } else if (s.kind == SourceKind.Query) query = true;
      else cookie = true;
    }
    if (query && snap.find(PATH) && finder.withoutQueryKeys(cfg.sources, snap.foundPtr, snap.foundLen)) {
      setRequestHeaderRaw(PATH, finder.out, false);
    }
    if (cookie && snap.listing() && finder.withoutCookieKeys(cfg.sources, snap.listingPtr, snap.listingSize)) {
      // Remove, then add: one Cookie header with the rest, however many the request had.
      removeHeaderBytes(HeaderMap.RequestHeaders, COOKIE);
      if (finder.out.length) setRequestHeaderRaw(COOKIE, finder.out, true);
    }
  }

  private refuse(invalid: bool): HeadersStatus {
    const root = this.root;
    (invalid ? root.invalid : root.missing)!.increment();
    sendLocalResponse(401, invalid ? "key_auth_invalid_key" : "key_auth_missing_key", invalid ? INVALID_BODY : MISSING_BODY, [
      new HeaderEntry("www-authenticate", root.wwwAuthenticate),
      new HeaderEntry("content-type", "application/json"),
    ]);
    return HeadersStatus.StopIteration;
  }
}

registerFilter(FILTER, (id: u32) => new KeyAuthRoot(id));
