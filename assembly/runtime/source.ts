// Template variables resolved from Envoy during a request phase: headers (by pre-encoded
// name), the path (read at most once per phase), and attributes such as source.address and
// xds.route_name. Filters reuse one instance per root context and call `reset()` per phase (a
// VM runs one callback at a time; the cache must not outlive the phase).
import { HeaderMap, getHeaderBytes } from "./headers";
import { HeaderSnapshot } from "./header-snapshot";
import { getPropertyString, propertyPath, readProperty } from "./properties";
import { hostResultPtr, hostResultSize, releaseHostResult } from "./host";
import { addressIpAt } from "./address";
import { decodeUtf8Lossy } from "../encoding/utf8";
import { callbackEpoch, currentContext } from "./callback";
import { stripQuery } from "../match/path";
import { callerCredential, callerGroupsState, callerName, groupsStateHeader } from "./consumer";
import { TemplateSource, TemplateVar, VarKind } from "../template";

const SOURCE_ADDRESS = propertyPath("source.address");
const ROUTE_NAME = propertyPath("xds.route_name");
const PATH = String.UTF8.encode(":path");
const METHOD = String.UTF8.encode(":method");
const AUTHORITY = String.UTF8.encode(":authority");
const SCHEME = String.UTF8.encode(":scheme");
const REQUEST_ID = String.UTF8.encode("x-request-id");

export { addressIp } from "./address";

/**
 * `source.address`, read once per stream: the peer of a stream cannot change while it lasts, and
 * several filters of one VM (the members of a suite: rate-limit's client key, header-rewrite's
 * `${source.ip}`) or one filter in several callbacks may ask. Kept for the context host calls act
 * on (callback.ts); for an unknown context (0) only within the callback. Context ids are not
 * reused within a VM, so a new stream never sees another's address. One buffer, reused: an
 * address is at most a few dozen bytes, and a longer one (a pipe path) is read from Envoy each
 * time instead of kept.
 */
class PeerAddress {
  private bytes: ArrayBuffer = new ArrayBuffer(PEER_ADDRESS_MAX);
  private size: usize = 0;
  private known: bool = false;
  private present: bool = false;
  private context: u32 = 0;
  private epoch: u64 = 0;

  /** Reads the address unless it is known for the current context; false when Envoy has none. */
  load(): bool {
    const context = currentContext();
    const epoch = callbackEpoch();
    if (this.known && this.context == context && (context != 0 || (epoch != 0 && this.epoch == epoch))) return this.present;
    this.known = false;
    if (!readProperty(SOURCE_ADDRESS)) {
      this.remember(context, epoch, false);
      return false;
    }
    const size = hostResultSize();
    if (size > <usize>PEER_ADDRESS_MAX) return true; // left in the host result for this one reader
    if (size > 0) memory.copy(changetype<usize>(this.bytes), hostResultPtr(), size);
    releaseHostResult();
    this.size = size;
    this.remember(context, epoch, true);
    return true;
  }

  /** After load() answered true: the address is the `size` bytes at `ptr` (the host's result when it was too long to keep). */
  get ptr(): usize {
    return this.known ? changetype<usize>(this.bytes) : hostResultPtr();
  }

  get length(): usize {
    return this.known ? this.size : hostResultSize();
  }

  /** Done reading after load(): releases the host's result when the address was not kept. */
  done(): void {
    if (!this.known) releaseHostResult();
  }

  private remember(context: u32, epoch: u64, present: bool): void {
    this.known = true;
    this.present = present;
    this.context = context;
    this.epoch = epoch;
  }
}

/** The longest `source.address` kept (an IPv6 address with zone and port fits). */
const PEER_ADDRESS_MAX: i32 = 128;
const PEER = new PeerAddress();

/** The client's `source.address` (with its port), or null when Envoy has none: one host call per stream. */
export function sourceAddress(): string | null {
  if (!PEER.load()) return null;
  const s = decodeUtf8Lossy(PEER.ptr, PEER.length);
  PEER.done();
  return s;
}

/** The client's IP: `source.address` without its port, or null when Envoy has none: one host call per stream. */
export function sourceIp(): string | null {
  if (!PEER.load()) return null;
  const ptr = PEER.ptr;
  const ip = ptr == 0 ? "" : addressIpAt(ptr, PEER.length);
  PEER.done();
  return ip;
}

/**
 * Methods a request usually carries: `method()` answers these constant strings when the bytes are
 * one of them, instead of decoding a new string per request (the same text either way).
 */
const COMMON_METHODS: string[] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

function asciiEquals(ptr: usize, len: usize, s: string): bool {
  if (len != <usize>s.length) return false;
  for (let i: usize = 0; i < len; i++) if (<i32>load<u8>(ptr + i) != s.charCodeAt(<i32>i)) return false;
  return true;
}

export class HostSource implements TemplateSource {
  private path: string | null = null;
  private pathLoaded: bool = false;
  // The caller's identity (filter state an auth filter wrote), each read at most once per phase
  // and only when a rule or template asks: one proxy_get_property each.
  private consumer: string | null = null;
  private consumerLoaded: bool = false;
  private groups: string | null = null;
  private groupsLoaded: bool = false;
  private credential: string | null = null;
  private credentialLoaded: bool = false;
  /**
   * When set, request headers come from one listing of the map per phase instead of one host
   * call each: for filters whose requests need several headers (see HeaderSnapshot).
   */
  requestHeaders: HeaderSnapshot | null = null;

  reset(): this {
    this.pathLoaded = false;
    this.path = null;
    this.consumerLoaded = false;
    this.consumer = null;
    this.groupsLoaded = false;
    this.groups = null;
    this.credentialLoaded = false;
    this.credential = null;
    return this;
  }

  /** The first value of a request header (lowercase UTF-8 name). */
  requestHeader(key: ArrayBuffer): string | null {
    const snap = this.requestHeaders;
    return snap === null ? getHeaderBytes(HeaderMap.RequestHeaders, key) : snap.first(key);
  }

  resolve(v: TemplateVar): string | null {
    switch (v.kind) {
      case VarKind.RequestHeader: return this.requestHeader(v.header!.bytes);
      case VarKind.ResponseHeader: return getHeaderBytes(HeaderMap.ResponseHeaders, v.header!.bytes);
      case VarKind.RequestPath: return this.fullPath();
      case VarKind.RequestUrlPath: {
        const p = this.fullPath();
        return p === null ? null : stripQuery(p);
      }
      case VarKind.RequestQuery: {
        const p = this.fullPath();
        if (p === null) return null;
        const q = p.indexOf("?");
        return q < 0 ? "" : p.substring(q + 1);
      }
      case VarKind.RequestMethod: return this.method();
      case VarKind.RequestHost: return this.requestHeader(AUTHORITY);
      case VarKind.RequestScheme: return this.requestHeader(SCHEME);
      case VarKind.RequestId: return this.requestHeader(REQUEST_ID);
      case VarKind.SourceAddress: return sourceAddress();
      case VarKind.SourceIp: return sourceIp();
      case VarKind.RouteName: return getPropertyString(ROUTE_NAME);
      case VarKind.ConsumerName: return this.consumerName();
      case VarKind.ConsumerGroups: {
        const g = this.consumerGroupsState();
        return g === null ? null : groupsStateHeader(g);
      }
      case VarKind.ConsumerGroupsState: return this.consumerGroupsState();
      case VarKind.ConsumerCredential: return this.consumerCredential();
      default: return v.property === null ? null : getPropertyString(v.property!);
    }
  }

  /** The request's `:method`; a common one as a constant string (COMMON_METHODS). */
  method(): string | null {
    const snap = this.requestHeaders;
    if (snap === null) return getHeaderBytes(HeaderMap.RequestHeaders, METHOD);
    if (!snap.find(METHOD)) return null;
    for (let i = 0; i < COMMON_METHODS.length; i++) {
      if (asciiEquals(snap.foundPtr, snap.foundLen, COMMON_METHODS[i])) return COMMON_METHODS[i];
    }
    return snap.first(METHOD);
  }

  /** The request's `:path` (with query), cached for the phase. */
  fullPath(): string | null {
    if (!this.pathLoaded) {
      this.path = this.requestHeader(PATH);
      this.pathLoaded = true;
    }
    return this.path;
  }

  /** The consumer an earlier auth filter identified (null: none did), read once per phase. */
  consumerName(): string | null {
    if (!this.consumerLoaded) {
      this.consumer = callerName();
      this.consumerLoaded = true;
    }
    return this.consumer;
  }

  /** The caller's groups as stored (",gold,beta,"), or null when unidentified; once per phase. */
  consumerGroupsState(): string | null {
    if (!this.groupsLoaded) {
      this.groups = callerGroupsState();
      this.groupsLoaded = true;
    }
    return this.groups;
  }

  /** The credential id that identified the caller, or null; once per phase. */
  consumerCredential(): string | null {
    if (!this.credentialLoaded) {
      this.credential = callerCredential();
      this.credentialLoaded = true;
    }
    return this.credential;
  }
}
