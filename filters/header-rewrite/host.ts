// The header-rewrite filter's view of Envoy: template variables resolved through host calls
// (the path at most once per phase), and header writes into Envoy's maps. Header names arrive
// pre-encoded (HeaderName, TemplateVar.headerKey), so a lookup allocates only its result.
import {
  HeaderMap, HeaderName, addHeaderBytes, getHeaderBytes, getHeaders, getPropertyString, propertyPath, removeHeaderBytes,
  setHeaderBytes,
} from "../../assembly/runtime";
import { stripQuery } from "../../assembly/match";
import { TemplateSource, TemplateVar, VarKind } from "../../assembly/template";
import { HeaderWriter, RequestSnapshot, isRequestScoped } from "./policy";

const SOURCE_ADDRESS = propertyPath("source.address");
const ROUTE_NAME = propertyPath("xds.route_name");
const PATH = String.UTF8.encode(":path");
const METHOD = String.UTF8.encode(":method");
const AUTHORITY = String.UTF8.encode(":authority");
const SCHEME = String.UTF8.encode(":scheme");
const REQUEST_ID = String.UTF8.encode("x-request-id");

/** Strips the port from "ip:port" or "[v6]:port". */
export function addressIp(address: string): string {
  if (address.startsWith("[")) {
    const close = address.indexOf("]");
    return close > 0 ? address.substring(1, close) : address;
  }
  const colon = address.lastIndexOf(":");
  // A bare IPv6 address has several colons and no port.
  if (colon < 0 || address.indexOf(":") != colon) return address;
  return address.substring(0, colon);
}

/**
 * Template variables read from Envoy. One instance per root context, `reset()` at the start of
 * each phase: the VM runs one callback at a time, and the cache must not outlive the phase.
 */
export class HostSource implements TemplateSource {
  private path: string | null = null;
  private pathLoaded: bool = false;
  private snapshot: RequestSnapshot | null = null;
  private responsePhase: bool = false;

  /** Starts a request phase: everything comes from Envoy. */
  forRequest(): HostSource {
    this.pathLoaded = false;
    this.path = null;
    this.responsePhase = false;
    this.snapshot = null;
    return this;
  }

  /**
   * Starts a response phase: request-scoped values come from the snapshot taken in the request
   * phase (Envoy no longer exposes the request headers), everything else from Envoy.
   */
  forResponse(snapshot: RequestSnapshot | null): HostSource {
    this.forRequest();
    this.responsePhase = true;
    this.snapshot = snapshot;
    return this;
  }

  resolve(v: TemplateVar): string | null {
    if (this.responsePhase && isRequestScoped(v.kind)) {
      const snap = this.snapshot;
      return snap === null ? null : snap.resolve(v);
    }
    switch (v.kind) {
      case VarKind.RequestHeader: return getHeaderBytes(HeaderMap.RequestHeaders, v.headerKey!);
      case VarKind.ResponseHeader: return getHeaderBytes(HeaderMap.ResponseHeaders, v.headerKey!);
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
      case VarKind.RequestMethod: return getHeaderBytes(HeaderMap.RequestHeaders, METHOD);
      case VarKind.RequestHost: return getHeaderBytes(HeaderMap.RequestHeaders, AUTHORITY);
      case VarKind.RequestScheme: return getHeaderBytes(HeaderMap.RequestHeaders, SCHEME);
      case VarKind.RequestId: return getHeaderBytes(HeaderMap.RequestHeaders, REQUEST_ID);
      case VarKind.SourceAddress: return getPropertyString(SOURCE_ADDRESS);
      case VarKind.SourceIp: {
        const a = getPropertyString(SOURCE_ADDRESS);
        return a === null ? null : addressIp(a);
      }
      case VarKind.RouteName: return getPropertyString(ROUTE_NAME);
      default: return v.property === null ? null : getPropertyString(v.property!);
    }
  }

  private fullPath(): string | null {
    if (!this.pathLoaded) {
      this.path = getHeaderBytes(HeaderMap.RequestHeaders, PATH);
      this.pathLoaded = true;
    }
    return this.path;
  }
}

export class HostHeaders implements HeaderWriter {
  constructor(private map: HeaderMap) {}

  first(name: HeaderName): string | null { return getHeaderBytes(this.map, name.bytes); }

  all(name: HeaderName): string[] {
    const entries = getHeaders(this.map);
    const out = new Array<string>();
    for (let i = 0; i < entries.length; i++) if (entries[i].name == name.text) out.push(entries[i].value);
    return out;
  }

  set(name: HeaderName, value: string): bool { return setHeaderBytes(this.map, name.bytes, value); }
  add(name: HeaderName, value: string): bool { return addHeaderBytes(this.map, name.bytes, value); }
  remove(name: HeaderName): bool { return removeHeaderBytes(this.map, name.bytes); }
}
