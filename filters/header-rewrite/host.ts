// The header-rewrite filter's view of Envoy: template variables resolved through host calls
// (each looked up at most once per phase), and header writes into Envoy's maps.
import {
  HeaderMap, addHeader, getHeader, getHeaders, getPropertyString, propertyPath, removeHeader, setHeader,
} from "../../assembly/runtime";
import { stripQuery } from "../../assembly/match";
import { TemplateSource, TemplateVar, VarKind } from "../../assembly/template";
import { HeaderWriter, RequestSnapshot, isRequestScoped } from "./policy";

const SOURCE_ADDRESS = propertyPath("source.address");
const ROUTE_NAME = propertyPath("xds.route_name");

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

export class HostSource implements TemplateSource {
  private path: string | null = null;
  private pathLoaded: bool = false;

  resolve(v: TemplateVar): string | null {
    switch (v.kind) {
      case VarKind.RequestHeader: return getHeader(HeaderMap.RequestHeaders, v.arg);
      case VarKind.ResponseHeader: return getHeader(HeaderMap.ResponseHeaders, v.arg);
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
      case VarKind.RequestMethod: return getHeader(HeaderMap.RequestHeaders, ":method");
      case VarKind.RequestHost: return getHeader(HeaderMap.RequestHeaders, ":authority");
      case VarKind.RequestScheme: return getHeader(HeaderMap.RequestHeaders, ":scheme");
      case VarKind.RequestId: return getHeader(HeaderMap.RequestHeaders, "x-request-id");
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
      this.path = getHeader(HeaderMap.RequestHeaders, ":path");
      this.pathLoaded = true;
    }
    return this.path;
  }
}

export class HostHeaders implements HeaderWriter {
  constructor(private map: HeaderMap) {}

  first(name: string): string | null { return getHeader(this.map, name); }

  all(name: string): string[] {
    const entries = getHeaders(this.map);
    const out = new Array<string>();
    for (let i = 0; i < entries.length; i++) if (entries[i].name == name) out.push(entries[i].value);
    return out;
  }

  set(name: string, value: string): bool { return setHeader(this.map, name, value); }
  add(name: string, value: string): bool { return addHeader(this.map, name, value); }
  remove(name: string): bool { return removeHeader(this.map, name); }
}

/** Response-phase variables: request values from the snapshot, everything else from Envoy. */
export class ResponseSource implements TemplateSource {
  private host: HostSource = new HostSource();

  constructor(private snapshot: RequestSnapshot | null) {}

  resolve(v: TemplateVar): string | null {
    if (isRequestScoped(v.kind)) {
      const snap = this.snapshot;
      return snap === null ? null : snap.resolve(v);
    }
    return this.host.resolve(v);
  }
}
