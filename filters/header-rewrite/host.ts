// The header-rewrite filter's view of Envoy: template variables (assembly/runtime/source.ts, plus
// the response-phase snapshot) and header writes into Envoy's maps. Header names arrive
// pre-encoded (HeaderName, TemplateVar.header), so a lookup allocates only its result.
import {
  HeaderMap, HeaderName, HostSource, addHeaderBytes, getHeaderBytes, getHeaderValues, removeHeaderBytes, setHeaderBytes,
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

  forRequest(): PhaseSource {
    this.reset();
    this.responsePhase = false;
    this.snapshot = null;
    return this;
  }

  forResponse(snapshot: RequestSnapshot | null): PhaseSource {
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

export class HostHeaders implements HeaderWriter {
  constructor(private map: HeaderMap) {}

  first(name: HeaderName): string | null { return getHeaderBytes(this.map, name.bytes); }

  all(name: HeaderName): string[] { return getHeaderValues(this.map, name.bytes); }

  set(name: HeaderName, value: string): bool { return setHeaderBytes(this.map, name.bytes, value); }
  add(name: HeaderName, value: string): bool { return addHeaderBytes(this.map, name.bytes, value); }
  remove(name: HeaderName): bool { return removeHeaderBytes(this.map, name.bytes); }
}
