// The header-rewrite filter's view of Envoy: template variables (assembly/runtime/source.ts, plus
// the response-phase snapshot) and header writes into Envoy's maps. Header names arrive
// pre-encoded (HeaderName, TemplateVar.header), so a lookup allocates only its result. In the
// request phase every request-header read (matching, templates, rename, set_if_absent) comes
// from the callback's one listing of the map (HeaderSnapshot), which follows this filter's own
// writes (assembly/runtime/header-listing.ts): one host call instead of one per header, and none
// when an earlier filter of the same suite already listed the map in this callback.
import {
  HeaderMap, HeaderName, HeaderSnapshot, HostSource, addHeaderBytes, getHeaderBytes, getHeaderValues, removeHeaderBytes, setHeaderBytes,
} from "../../assembly/runtime";
import { TemplateVar } from "../../assembly/template";
import { HeaderWriter, RequestSnapshot, isRequestScoped } from "./policy";

/**
 * The template source of header-rewrite: Envoy during the request phase; in the response phase,
 * request-scoped values come from the snapshot taken in the request phase (Envoy no longer
 * exposes the request headers then), everything else from Envoy.
 */
export class PhaseSource extends HostSource {
  private snapshot: RequestSnapshot | null = null;
  private responsePhase: bool = false;
  /** The request map, from the callback's listing of it. */
  readonly requestMap: HeaderSnapshot = new HeaderSnapshot(HeaderMap.RequestHeaders);

  forRequest(): PhaseSource {
    this.requestHeaders = this.requestMap;
    this.reset();
    this.responsePhase = false;
    this.snapshot = null;
    return this;
  }

  forResponse(snapshot: RequestSnapshot | null): PhaseSource {
    // Envoy no longer lends the request map; request values come from `snapshot`.
    this.requestHeaders = null;
    this.reset();
    this.responsePhase = true;
    this.snapshot = snapshot;
    return this;
  }

  resolve(v: TemplateVar): string | null {
    if (this.responsePhase && isRequestScoped(v.kind)) {
      const snap = this.snapshot;
      return snap === null ? null : snap.resolve(v);
    }
    return super.resolve(v);
  }
}

/**
 * Writes into one of Envoy's maps. Reads (rename, set_if_absent) see the live map: from the
 * phase's listing when there is one (it follows the writes), else from Envoy. The one behaviour
 * this changes is Envoy's: it clears the route cache after every request-header write, so a
 * phase whose only action removes an absent header no longer makes Envoy pick the same route
 * again.
 */
export class HostHeaders implements HeaderWriter {
  private listing: HeaderSnapshot | null = null;
  private values: string[] = [];

  constructor(private map: HeaderMap) {}

  /** Starts a phase; `listing` (or null) is the phase's read of this same map. */
  begin(listing: HeaderSnapshot | null): HostHeaders {
    this.listing = listing;
    return this;
  }

  first(name: HeaderName): string | null {
    const l = this.listing;
    return l === null ? getHeaderBytes(this.map, name.bytes) : l.first(name.bytes);
  }

  /** From the listing, the values come in one array reused by every call: applyPlan uses them before asking again. */
  all(name: HeaderName): string[] {
    const l = this.listing;
    return l === null ? getHeaderValues(this.map, name.bytes) : l.all(name.bytes, this.values);
  }

  set(name: HeaderName, value: string): bool { return setHeaderBytes(this.map, name.bytes, value); }
  add(name: HeaderName, value: string): bool { return addHeaderBytes(this.map, name.bytes, value); }
  remove(name: HeaderName): bool {
    // Removing a header the listing shows absent changes nothing: skip the host call (the usual
    // case for headers stripped as a precaution, x-internal-debug).
    const l = this.listing;
    if (l !== null && !l.has(name.bytes)) return true;
    return removeHeaderBytes(this.map, name.bytes);
  }
}
