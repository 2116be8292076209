// Who a verified token's caller is: the consumers block's `jwt` mappings (docs/consumers.md), and
// the claims written to filter state for ACLs (`claims_to_filter_state`). Free of host calls: the
// filter's index.ts writes what these return.
import { ConsumersBlock, readConsumersBlock } from "../../assembly/config/consumers";
import { ObjectReader, indexPath } from "../../assembly/config/reader";
import { JsonValue, kindName } from "../../assembly/json";
import { PropertyPath, propertyPath } from "../../assembly/runtime/properties";
import { ConsumerIdentity } from "../../assembly/runtime/consumer";

/** Most `jwt` mappings per consumer (as the control plane's MAX_CREDENTIALS). */
const MAX_MAPPINGS: i32 = 100;
/** Most claims `claims_to_filter_state` may name. */
const MAX_STATE_CLAIMS: i32 = 16;
/** Most values one claim contributes to filter state, and their length: a token is bounded, this bounds the work. */
const MAX_CLAIM_VALUES: i32 = 64;
const MAX_CLAIM_VALUE: i32 = 256;
const MAX_MAPPING_VALUE: i32 = 1024;

/** A top-level claim name as this filter accepts it: 1 to 64 of a-z, A-Z, 0-9, `_`, `-`. */
export function isClaimName(s: string): bool {
  if (s.length == 0 || s.length > 64) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x5f || c == 0x2d;
    if (!ok) return false;
  }
  return true;
}

const CLAIM_RULE = "use 1 to 64 letters, digits, \"_\" and \"-\" (a top-level claim)";

/**
 * The lookup key of a mapping: issuer, claim and value, NUL-separated. Claim names hold no NUL,
 * so the split is unambiguous up to the value, which is last.
 */
function mappingKey(issuer: string, claim: string, value: string): string {
  return issuer + "\0" + claim + "\0" + value;
}

/**
 * The consumers of a jwt-auth configuration and their JWT mappings, indexed for lookup: one map
 * probe per claim some mapping of the token's issuer names, whatever the number of consumers.
 */
export class JwtConsumers {
  block: ConsumersBlock = new ConsumersBlock();
  /** mappingKey -> index of the first consumer with that mapping. */
  private byMapping: Map<string, i32> = new Map();
  /** Per issuer, the claims its mappings name ("sub" for `subject`), each once. */
  private claimsByIssuer: Map<string, string[]> = new Map();
  /** The consumers read so far, while the block is being read (to name an earlier owner). */
  readonly reading: ConsumerIdentity[] = [];

  get enabled(): bool {
    return this.block.consumers.length > 0;
  }

  /** The anonymous consumer, or null when a request without a token is refused. */
  get anonymous(): ConsumerIdentity | null {
    return this.block.anonymous < 0 ? null : this.block.consumers[this.block.anonymous];
  }

  add(issuer: string, claim: string, value: string, consumer: i32): void {
    this.byMapping.set(mappingKey(issuer, claim, value), consumer);
    if (!this.claimsByIssuer.has(issuer)) this.claimsByIssuer.set(issuer, []);
    const claims = this.claimsByIssuer.get(issuer);
    if (!claims.includes(claim)) claims.push(claim);
  }

  /** Whether some consumer already has this mapping (its index), else -1. */
  owner(issuer: string, claim: string, value: string): i32 {
    const k = mappingKey(issuer, claim, value);
    return this.byMapping.has(k) ? this.byMapping.get(k) : -1;
  }

  /**
   * The consumer a verified token from a provider with `issuer` maps to: the first consumer (in config order)
   * with a mapping the token matches; null when none does (the caller passes unidentified).
   * Only string claims match a mapping.
   */
  find(issuer: string, payload: JsonValue): ConsumerIdentity | null {
    if (!this.claimsByIssuer.has(issuer)) return null;
    const claims = this.claimsByIssuer.get(issuer);
    let best: i32 = -1;
    for (let i = 0; i < claims.length; i++) {
      const v = payload.get(claims[i]);
      if (v === null || !v.isString) continue;
      const k = mappingKey(issuer, claims[i], v.str);
      if (!this.byMapping.has(k)) continue;
      const idx = this.byMapping.get(k);
      if (best < 0 || idx < best) best = idx;
    }
    return best < 0 ? null : this.block.consumers[best];
  }
}

/**
 * Reads the optional `consumers`, `anonymous` and `upstream_headers` of a jwt-auth config. A
 * mapping's issuer must be one of `issuers` (the providers') (a mapping no token could ever match
 * is a mistake); one mapping given to two consumers is refused, naming both.
 */
export function readJwtConsumers(top: ObjectReader, issuers: string[]): JwtConsumers {
  const out = new JwtConsumers();
  current = out;
  currentIssuers = issuers;
  out.block = readConsumersBlock(top, readMappings, "jwt", ["keys", "basic"], false);
  current = null;
  currentIssuers = [];
  return out;
}

// What readMappings reads into: readConsumersBlock's callback cannot capture locals (AssemblyScript
// has no closures), and a configure call runs to its end before another starts.
let current: JwtConsumers | null = null;
let currentIssuers: string[] = [];

/** One consumer's `jwt` mappings (readConsumersBlock's CredentialReader). */
function readMappings(c: ObjectReader, identity: ConsumerIdentity, index: i32): void {
  const out = current!;
  out.reading.push(identity);
  const list = c.array("jwt", false, MAX_MAPPINGS);
  if (list === null) return;
  for (let i = 0; i < list.length; i++) {
    const m = ObjectReader.of(list.at(i), indexPath(c.at("jwt"), i), c.errors);
    if (m === null) continue;
    const issuer = m.string("issuer", "", true, 1024);
    const subject = m.optionalString("subject", MAX_MAPPING_VALUE);
    const claim = m.optionalString("claim", 64);
    const value = m.optionalString("value", MAX_MAPPING_VALUE);
    m.finish();
    let name = "sub";
    let v = "";
    if (subject !== null && claim === null && value === null) {
      v = subject;
    } else if (subject === null && claim !== null && value !== null) {
      if (!isClaimName(claim)) {
        m.errors.add(m.at("claim"), "invalid claim name \"" + claim + "\": " + CLAIM_RULE);
        continue;
      }
      name = claim;
      v = value;
    } else {
      m.errors.add(m.path, "needs either subject, or claim and value");
      continue;
    }
    if (v.length == 0) {
      m.errors.add(m.at(name == "sub" ? "subject" : "value"), "must not be empty");
      continue;
    }
    if (issuer.length == 0) continue; // reported by m.string (required)
    if (!currentIssuers.includes(issuer)) {
      m.errors.add(m.at("issuer"), "no provider has issuer \"" + issuer + "\"");
      continue;
    }
    const owner = out.owner(issuer, name, v);
    if (owner >= 0) {
      const who = owner == index ? "this consumer" : "consumer \"" + out.reading[owner].name + "\"";
      m.errors.add(m.path, "the same mapping is already given to " + who);
      continue;
    }
    out.add(issuer, name, v, index);
  }
}

/** A claim copied to filter state: `portico_claim_<name>`, the path encoded once. */
export class StateClaim {
  readonly path: PropertyPath;
  constructor(public readonly name: string) {
    this.path = propertyPath(CLAIM_PROPERTY_PREFIX + name);
  }
}

export const CLAIM_PROPERTY_PREFIX = "portico_claim_";

/** Reads `claims_to_filter_state`: top-level claim names, each once. */
export function readStateClaims(top: ObjectReader): StateClaim[] {
  const out = new Array<StateClaim>();
  const list = top.array("claims_to_filter_state", false, MAX_STATE_CLAIMS);
  if (list === null) return out;
  const base = top.at("claims_to_filter_state");
  const seen = new Array<string>();
  for (let i = 0; i < list.length; i++) {
    const item = list.at(i);
    if (!item.isString) top.errors.add(indexPath(base, i), "must be a string, got " + kindName(item.kind));
    else if (item.str.length > 64) top.errors.add(indexPath(base, i), "is longer than 64 characters");
    else if (!isClaimName(item.str)) top.errors.add(indexPath(base, i), "invalid claim name \"" + item.str + "\": " + CLAIM_RULE);
    else if (!seen.includes(item.str)) {
      seen.push(item.str);
      out.push(new StateClaim(item.str));
    }
  }
  return out;
}

function usable(s: string): bool {
  return s.length > 0 && s.length <= MAX_CLAIM_VALUE && !s.includes(",");
}

/**
 * A claim's value as filter state holds it, between commas like groups (",admin,", ",a,b,"), so
 * an ACL tests one value with a plain substring match; null when the token has no usable value
 * (the claim is absent, not a string or array of strings, or holds only unusable values).
 * A string is one value, except `scope`, whose string is space-separated words (RFC 8693); an
 * array contributes its string elements. Values holding a comma are left out (they would read as
 * two values), as are empty ones; at most 64 values, each at most 256 characters.
 */
export function claimStateValue(name: string, v: JsonValue | null): string | null {
  if (v === null) return null;
  let out = ",";
  let count = 0;
  if (v.isString) {
    if (name != "scope") return usable(v.str) ? "," + v.str + "," : null;
    const words = v.str.split(" ");
    for (let i = 0; i < words.length && count < MAX_CLAIM_VALUES; i++) {
      if (!usable(words[i])) continue;
      out += words[i] + ",";
      count++;
    }
  } else if (v.isArray) {
    for (let i = 0; i < v.length && count < MAX_CLAIM_VALUES; i++) {
      const e = v.at(i);
      if (!e.isString || !usable(e.str)) continue;
      out += e.str + ",";
      count++;
    }
  }
  return count == 0 ? null : out;
}
