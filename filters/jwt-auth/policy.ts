// The authentication decision for one request, free of host calls: which rule applies, where
// the token is, and whether one of the required providers accepts it.
import { TemplateSource } from "../../assembly/template";
import { JsonValue } from "../../assembly/json";
import { JwtConfig, Provider, Rule, SourceKind, TokenSource } from "./config";
import { fromCookie, fromQuery } from "./extract";
import { Failure } from "./failure";
import { parseJws } from "./token";
import { checkClaims, checkTimes, kidUnknown, verifySignature } from "./verify";
import { CachedToken, TokenCache } from "./cache";
import { HeaderName } from "../../assembly/runtime/headers";

/** What the policy reads from a request besides template variables. */
export interface RequestView extends TemplateSource {
  header(name: HeaderName): string | null;
  /** fromHeaderValue(header(name), prefix), or null when the header is absent. */
  headerToken(name: HeaderName, prefix: string): string | null;
  pathWithQuery(): string | null;
}

export class Found {
  constructor(public readonly provider: Provider, public readonly source: TokenSource, public readonly token: string) {}
}

export class Decision {
  /** No rule matched, or the rule needs no token, or a missing token is allowed (or admitted as `anonymous`). */
  pass: bool = false;
  /** Passed because the token is missing and the config names an anonymous consumer: the caller is that consumer. */
  anonymous: bool = false;
  allowed: bool = false;
  failure: Failure = Failure.None;
  /** The provider that accepted (or, on failure, the one whose verdict is reported). */
  provider: Provider | null = null;
  found: Found | null = null;
  payload: JsonValue | null = null;
  payloadText: string = "";
  /** Set when the verdict could change once this provider's remote JWKS is (re)fetched. */
  needsKeys: Provider | null = null;
  /** The tokens found, reused by decide() (see `reset`). */
  readonly tokens: Found[] = [];

  /** As new: one Decision per root context serves every request (decide() runs to the end in one callback). */
  reset(): Decision {
    this.pass = false;
    this.anonymous = false;
    this.allowed = false;
    this.failure = Failure.None;
    this.provider = null;
    this.found = null;
    this.payload = null;
    this.payloadText = "";
    this.needsKeys = null;
    this.tokens.length = 0;
    return this;
  }
}

const COOKIE = new HeaderName("cookie");

export function findRule(cfg: JwtConfig, src: TemplateSource): Rule | null {
  for (let i = 0; i < cfg.rules.length; i++) if (cfg.rules[i].match.matches(src)) return cfg.rules[i];
  return null;
}

function extract(source: TokenSource, view: RequestView): string | null {
  if (source.kind == SourceKind.Header) {
    return view.headerToken(source.header!, source.prefix);
  }
  if (source.kind == SourceKind.Query) {
    const p = view.pathWithQuery();
    return p === null ? null : fromQuery(p, source.name);
  }
  const c = view.header(COOKIE);
  return c === null ? null : fromCookie(c, source.name);
}

/** Every (provider, place, token) the rule's providers find in the request. */
export function findTokens(rule: Rule, view: RequestView, out: Found[] = new Array<Found>()): Found[] {
  for (let i = 0; i < rule.requires.length; i++) {
    const p = rule.requires[i];
    for (let k = 0; k < p.sources.length; k++) {
      const t = extract(p.sources[k], view);
      if (t !== null) {
        out.push(new Found(p, p.sources[k], t));
        break;
      }
    }
  }
  return out;
}

/** Verifies `token` for `provider` at time `nowS` (seconds), using and filling the cache. */
export function verifyToken(provider: Provider, token: string, nowS: f64, cache: TokenCache, d: Decision): Failure {
  const hit = cache.get(provider.index, token);
  if (hit !== null) {
    const f = checkTimes(hit.payload, provider.rules, nowS);
    if (f == Failure.None) {
      d.payload = hit.payload;
      d.payloadText = hit.payloadText;
    }
    return f;
  }
  const parsed = parseJws(token, provider.maxTokenBytes);
  if (parsed.jws === null) return parsed.failure;
  const jws = parsed.jws!;
  if (provider.remote !== null && provider.keys.keys.length == 0) {
    d.needsKeys = provider;
    return Failure.NoJwks;
  }
  const sig = verifySignature(jws, provider.keys, provider.algorithms);
  if (sig != Failure.None) {
    // A kid the set lacks may be a key the IdP rotated in, also when a kid-less key was tried.
    if (provider.remote !== null && (sig == Failure.UnknownKid || (sig == Failure.BadSignature && kidUnknown(jws, provider.keys)))) d.needsKeys = provider;
    return sig;
  }
  const times = checkTimes(jws.payload, provider.rules, nowS);
  if (times != Failure.None) return times;
  const claims = checkClaims(jws.payload, provider.rules);
  if (claims != Failure.None) return claims;
  cache.put(provider.index, new CachedToken(token, jws.payload, jws.payloadText));
  d.payload = jws.payload;
  d.payloadText = jws.payloadText;
  return Failure.None;
}

/** Decides the request: pass (no JWT needed), allowed (a provider accepted), or refused. */
export function decide(cfg: JwtConfig, view: RequestView, nowS: f64, cache: TokenCache, into: Decision = new Decision()): Decision {
  const d = into.reset();
  const rule = findRule(cfg, view);
  if (rule === null || rule.requires.length == 0) {
    d.pass = true;
    return d;
  }
  const found = findTokens(rule, view, d.tokens);
  if (found.length == 0) {
    // As Kong's `anonymous`: no token at all is the anonymous consumer (also where a missing
    // token is allowed, so it gets that consumer's limits); a bad token is never admitted so.
    if (cfg.consumers.anonymous !== null) {
      d.pass = true;
      d.anonymous = true;
    } else if (rule.allowMissing) d.pass = true;
    else d.failure = Failure.Missing;
    return d;
  }
  let firstFailure = Failure.None;
  let firstProvider: Provider | null = null;
  let needsKeys: Provider | null = null;
  for (let i = 0; i < found.length; i++) {
    const f = found[i];
    d.needsKeys = null;
    const result = verifyToken(f.provider, f.token, nowS, cache, d);
    if (result == Failure.None) {
      d.allowed = true;
      d.provider = f.provider;
      d.found = f;
      d.failure = Failure.None;
      d.needsKeys = null;
      return d;
    }
    if (needsKeys === null) needsKeys = d.needsKeys;
    // Report the verdict of the provider that issued the token when we can tell; otherwise the first.
    if (firstProvider === null || (firstFailure == Failure.WrongIssuer && result != Failure.WrongIssuer)) {
      firstFailure = result;
      firstProvider = f.provider;
    }
  }
  d.failure = firstFailure;
  d.provider = firstProvider;
  d.needsKeys = needsKeys;
  return d;
}
