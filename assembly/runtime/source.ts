// Template variables resolved from Envoy during a request phase: headers (by pre-encoded
// name), the path (read at most once per phase), and attributes such as source.address and
// xds.route_name. Filters reuse one instance per root context and call `reset()` per phase (a
// VM runs one callback at a time; the cache must not outlive the phase).
import { HeaderMap, getHeaderBytes } from "./headers";
import { HeaderSnapshot } from "./header-snapshot";
import { getPropertyString, propertyPath, readProperty } from "./properties";
import { hostResultPtr, hostResultSize, releaseHostResult } from "./host";
import { addressIpAt } from "./address";
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

/** The client's IP: `source.address` without its port (one host call), or null when Envoy has none. */
export function sourceIp(): string | null {
  if (!readProperty(SOURCE_ADDRESS)) return null;
  const ptr = hostResultPtr();
  const ip = ptr == 0 ? "" : addressIpAt(ptr, hostResultSize());
  releaseHostResult();
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
    const snap = this.requestHeaders;
    if (snap !== null) snap.reset();
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
      case VarKind.SourceAddress: return getPropertyString(SOURCE_ADDRESS);
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
