// Parses and validates the key-auth configuration: where keys come from, the consumers and their
// keys (as SHA-256 digests), and what to do with the key and the identity. Every mistake is
// reported with the path of the field, all at once.
import { ConfigErrors, ConfigSource, ObjectReader, indexPath } from "../../assembly/config/reader";
import { headerName } from "../../assembly/config/match";
import { CONSUMER_HEADERS, ConsumersBlock, readConsumersBlock } from "../../assembly/config/consumers";
import { ConsumerIdentity } from "../../assembly/runtime/consumer";
import { HeaderName } from "../../assembly/runtime/headers";
import { foldHeaderName } from "../../assembly/runtime/identity-headers";
import { hexDecode } from "../../assembly/encoding/hex";
import { KeyEntry, KeyTable } from "./keys";

/** 10,000 consumers with a key or two each, as the control plane writes them, fit with room to spare. */
export const MAX_CONFIG_BYTES: i32 = 4 * 1024 * 1024;
const MAX_SOURCES: i32 = 8;
const MAX_KEYS_PER_CONSUMER: i32 = 64;
const MAX_KEY_ID: i32 = 128;
const MAX_REALM: i32 = 128;
/** per_consumer_metrics defines a counter per consumer: Envoy's stats are not free, so their number is bounded. */
export const MAX_CONSUMERS_WITH_METRICS: i32 = 1000;

export enum SourceKind {
  Header = 0,
  Query = 1,
  Cookie = 2,
}

/** One place a key may be: a request header, a query parameter of `:path`, or a cookie. */
export class KeySource {
  /** The header name, lower case, encoded once (header sources only). */
  readonly header: HeaderName | null;
  /** The query parameter or cookie name as UTF-8 bytes, compared with the request's bytes. */
  readonly nameBytes: ArrayBuffer;

  constructor(public readonly kind: SourceKind, public readonly name: string) {
    this.header = kind == SourceKind.Header ? new HeaderName(name) : null;
    this.nameBytes = String.UTF8.encode(name);
  }
}

export class KeyAuthConfig {
  statPrefix: string = "";
  sources: KeySource[] = [];
  block: ConsumersBlock = new ConsumersBlock();
  keys: KeyTable = new KeyTable();
  hideCredentials: bool = true;
  realm: string = "portico";
  perConsumerMetrics: bool = false;
}

function readSources(top: ObjectReader): KeySource[] {
  const out = new Array<KeySource>();
  const list = top.array("key_sources", false, MAX_SOURCES);
  if (list === null) {
    if (!top.has("key_sources")) out.push(new KeySource(SourceKind.Header, "x-api-key"));
    return out;
  }
  if (list.length == 0) top.errors.add(top.at("key_sources"), "must name at least one place");
  for (let i = 0; i < list.length; i++) {
    const s = ObjectReader.of(list.at(i), indexPath(top.at("key_sources"), i), top.errors);
    if (s === null) continue;
    const header = s.optionalString("header", 256);
    const query = s.optionalString("query", 256);
    const cookie = s.optionalString("cookie", 256);
    s.finish();
    const count = (header !== null ? 1 : 0) + (query !== null ? 1 : 0) + (cookie !== null ? 1 : 0);
    if (count != 1) {
      s.errors.add(s.path, "needs exactly one of header, query, cookie");
      continue;
    }
    if (header !== null) {
      const name = headerName(header, s.at("header"), s.errors);
      if (name === null) continue;
      if (name.charCodeAt(0) == 0x3a || name == "cookie") {
        s.errors.add(s.at("header"), "\"" + header + "\" cannot carry a key: use a regular header (or a cookie or query source)");
      } else if (isIdentityHeader(name)) {
        s.errors.add(s.at("header"), "\"" + header + "\" is an identity header the filter removes from every request");
      } else out.push(new KeySource(SourceKind.Header, name));
    } else if (query !== null) {
      if (query.length == 0) s.errors.add(s.at("query"), "must not be empty");
      else out.push(new KeySource(SourceKind.Query, query));
    } else {
      if (cookie!.length == 0 || !isCookieName(cookie!)) s.errors.add(s.at("cookie"), "must be a cookie name (1 to 256 visible ASCII characters, none of ()<>@,;:\\\"/[]?={} )");
      else out.push(new KeySource(SourceKind.Cookie, cookie!));
    }
  }
  return out;
}

function isIdentityHeader(name: string): bool {
  const folded = foldHeaderName(name);
  for (let i = 0; i < CONSUMER_HEADERS.length; i++) if (foldHeaderName(CONSUMER_HEADERS[i]) == folded) return true;
  return false;
}

/** RFC 6265 cookie-name: an RFC 7230 token. */
function isCookieName(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || "()<>@,;:\\\"/[]?={}".includes(String.fromCharCode(c))) return false;
  }
  return true;
}

/** A key id: it travels in x-credential-identifier and filter state, so visible ASCII only. */
function isKeyId(s: string): bool {
  if (s.length == 0 || s.length > MAX_KEY_ID) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** A realm goes in a quoted-string of WWW-Authenticate: visible ASCII and spaces, no quote or backslash. */
function isRealm(s: string): bool {
  if (s.length == 0 || s.length > MAX_REALM) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c == 0x22 || c == 0x5c) return false;
  }
  return true;
}

// readConsumersBlock calls the credential reader for each consumer; AssemblyScript closures cannot
// capture, so the reader adds to the table being built here (one configuration at a time).
let building: KeyTable = new KeyTable();
/** Where each key id was first given, for the "used twice" message. */
let idPaths: Map<string, string> = new Map();

function readKeys(c: ObjectReader, identity: ConsumerIdentity, index: i32): void {
  const list = c.array("keys", false, MAX_KEYS_PER_CONSUMER);
  if (list === null) return;
  for (let i = 0; i < list.length; i++) {
    const path = indexPath(c.at("keys"), i);
    const k = ObjectReader.of(list.at(i), path, c.errors);
    if (k === null) continue;
    const id = k.string("id", "", true, MAX_KEY_ID);
    const hex = k.string("sha256", "", true, 256);
    k.finish();
    let ok = true;
    if (id.length && !isKeyId(id)) {
      c.errors.add(k.at("id"), "invalid key id \"" + id + "\": use 1 to 128 visible ASCII characters (no spaces)");
      ok = false;
    } else if (id.length && idPaths.has(id)) {
      c.errors.add(k.at("id"), "key id \"" + id + "\" is already used by " + idPaths.get(id) + "; key ids are unique per filter");
      ok = false;
    } else if (id.length) idPaths.set(id, path);
    if (!k.has("sha256")) continue;
    const digest = hex.length == 64 ? hexDecode(hex) : null;
    if (digest === null) {
      c.errors.add(k.at("sha256"), "must be 64 hex digits (the SHA-256 of the key: printf %s \"$KEY\" | sha256sum), never the key itself");
      continue;
    }
    const same = building.find(changetype<usize>(digest.buffer));
    if (same !== null) {
      const other = same.consumer == index ? "twice for consumer \"" + identity.name + "\"" : "to consumers \"" + same.owner.name + "\" and \"" + identity.name + "\"";
      c.errors.add(k.at("sha256"), "the same key (digest) is given " + other + " (" + same.path + "); a key identifies one consumer");
      continue;
    }
    if (ok && id.length) building.add(new KeyEntry(id, digest.buffer, index, identity, path));
  }
}

export function parseKeyAuthConfig(source: ConfigSource, errors: ConfigErrors): KeyAuthConfig | null {
  const doc = source.document(MAX_CONFIG_BYTES, errors);
  if (doc === null) return null;
  const top = ObjectReader.of(doc, "", errors);
  if (top === null) return null;
  const cfg = new KeyAuthConfig();
  cfg.statPrefix = top.metricName("stat_prefix", "");
  cfg.sources = readSources(top);
  building = new KeyTable();
  idPaths = new Map();
  cfg.block = readConsumersBlock(top, readKeys, "keys", ["basic", "jwt"]);
  cfg.keys = building;
  building = new KeyTable();
  idPaths = new Map();
  cfg.hideCredentials = top.bool("hide_credentials", true);
  const realm = top.string("realm", "portico", false, MAX_REALM);
  if (!isRealm(realm)) errors.add(top.at("realm"), "must be 1 to 128 printable ASCII characters without \" or \\");
  cfg.realm = realm;
  cfg.perConsumerMetrics = top.bool("per_consumer_metrics", false);
  const n = cfg.block.consumers.length;
  if (cfg.perConsumerMetrics && n > MAX_CONSUMERS_WITH_METRICS) {
    errors.add(
      top.at("per_consumer_metrics"),
      "at most " + MAX_CONSUMERS_WITH_METRICS.toString() + " consumers with per-consumer metrics, this configuration has " + n.toString() +
        " (a counter per consumer: bounded cardinality)",
    );
  }
  top.finish();
  return errors.empty ? cfg : null;
}
