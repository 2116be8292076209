// What a request's key is for a rule (local buckets, synced records) and what its descriptor is
// for the rate limit service, read from the request through the host (keys.ts: how a key is built).
import { HeaderMap, HostSource, getHeaderBytes, getPropertyString, propertyPath, sourceIp } from "../../assembly/runtime";
import { KeyPart, RateLimitConfig, Rule } from "./config";
import { KeyKind, clientIpOf, consumerKey, joinKey } from "./keys";
import { Descriptor } from "./rls";

const ROUTE_NAME = propertyPath("xds.route_name");
const XFF = String.UTF8.encode("x-forwarded-for");

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

/** The request's key for `rule`: its one key part's value, or all of them joined. */
export function ruleKey(rule: Rule, cfg: RateLimitConfig, src: HostSource): string {
  if (rule.key.length == 1) return keyValue(rule.key[0], cfg, src);
  const parts = new Array<string>(rule.key.length);
  for (let i = 0; i < rule.key.length; i++) parts[i] = keyValue(rule.key[i], cfg, src);
  return joinKey(parts);
}

/** The descriptor of a global rule for this request: ("rule", name), then one entry per key part. */
export function descriptorOf(rule: Rule, cfg: RateLimitConfig, src: HostSource): Descriptor {
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
