// One HTTP stream through the filter, driven the way Envoy's Context drives it
// (extensions/common/wasm/context.cc):
//  - a header map is only reachable while Envoy holds it: from the headers callback until the
//    filter continues (returns Continue or calls proxy_continue_stream). Outside that window
//    reads fail with BadArgument and writes are refused; proxy_on_log sees the final maps again;
//  - StopIteration from a headers callback becomes StopAllIterationAndWatermark unless
//    allowOnHeadersStopIteration is set, so later body/trailers wait for the resume;
//  - a local reply goes out after the VM call. Sent on the request path it runs through the
//    encoder chain, this filter's response callbacks included; sent while the response headers
//    are in this filter it goes straight to the client; later, Envoy resets the stream.
// Simplified: any Stop* body status keeps the data buffered for the next body callback (Envoy
// tells buffering, watermark and no-buffer apart); 1xx headers and metadata are not modelled.
import {
  BufferType,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  HeaderMapType,
  StreamType,
  WasmResult,
  type HeaderList,
} from "./abi.js";
import { HeaderMap } from "./headers.js";
import type { ContextRef, HostBuffer, PluginHost, StreamHost, VmCore } from "./host.js";
import { fromUtf8, toBytes } from "./memory.js";
import type { Plugin } from "./plugin.js";
import { propertyMap, type Properties } from "./properties.js";

export interface StreamOptions {
  /** Per-stream properties, e.g. { "source.address": "10.0.0.1:5000", "xds.route_name": "r1" }. */
  properties?: Properties;
  /** The request.protocol attribute. Default "HTTP/1.1". */
  protocol?: string;
}
/** end_of_stream of a headers or body event; default false. */
export interface SendOptions {
  endOfStream?: boolean;
}
export interface LocalResponse {
  status: number;
  /** As Envoy records response code details: whitespace replaced by "_". */
  details: string;
  body: string;
  /** The additional headers the filter passed, names lowercased. */
  headers: HeaderList;
  /** null for values outside 0..16, e.g. the SDKs' -1 for "not gRPC". */
  grpcStatus: number | null;
}

const EMPTY = new Uint8Array(0);

/** One direction of the stream and the filter's hold on it. */
class Side {
  headers = new HeaderMap();
  trailers: HeaderMap | null = null;
  headersOpen = false;
  bodyOpen = false;
  trailersOpen = false;
  /** Body the filter is holding; the next body callback sees all of it. */
  buffered: Uint8Array = EMPTY;
  /** Body that got past the filter. */
  forwarded: Uint8Array[] = [];
  started = false;
  ended = false;
  /** Waiting for proxy_continue_stream. */
  paused = false;
  /** StopAll*: this direction's later events wait for the resume. */
  hold = false;
  held: (() => void)[] = [];
  continues = 0;

  constructor(readonly on: { headers: string; body: string; trailers: string }) {}
  forward(): void {
    if (this.buffered.length > 0) this.forwarded.push(this.buffered);
    this.buffered = EMPTY;
  }
  close(): void {
    this.headersOpen = this.bodyOpen = this.trailersOpen = false;
  }
}

export class HttpStream {
  readonly contextId: number;
  readonly properties: Map<string, Uint8Array>;
  readonly protocol: string;
  localResponse: LocalResponse | undefined;
  /** Request-header mutations (Envoy clears the cache on each, ABI 0.2.1) and clear_route_cache calls. */
  routeCacheClears = 0;
  /**
   * Calls of the clear_route_cache foreign function alone. Envoy clears the route cache on any
   * request-header edit anyway, so only this tells whether the filter made the call itself.
   */
  clearRouteCacheCalls = 0;
  /** The filter called proxy_close_stream, or answered locally after the response headers left. */
  reset = false;
  completed = false;
  private inLogPhase = false;
  private code: number | undefined;

  private readonly req = new Side({
    headers: "proxy_on_request_headers",
    body: "proxy_on_request_body",
    trailers: "proxy_on_request_trailers",
  });
  private readonly resp = new Side({
    headers: "proxy_on_response_headers",
    body: "proxy_on_response_body",
    trailers: "proxy_on_response_trailers",
  });
  private readonly ref: ContextRef;
  private created = false;

  /** Created by Plugin.newHttpStream; `root` is the plugin's root context as host calls see it. */
  constructor(
    readonly plugin: Plugin,
    root: PluginHost,
    private readonly vm: VmCore,
    id: number,
    options: StreamOptions,
  ) {
    this.contextId = id;
    this.properties = propertyMap(options.properties);
    this.protocol = options.protocol ?? "HTTP/1.1";
    this.ref = { id, plugin: root, stream: this.hostView(), status: { code: 0, message: "" } };
  }

  /** The response status (:status sent, or the local reply's); the response.code attribute. */
  get responseCode(): number | undefined {
    return this.code;
  }

  get requestHeaders(): HeaderList {
    return this.req.headers.toList();
  }
  get responseHeaders(): HeaderList {
    return this.resp.headers.toList();
  }
  get requestTrailers(): HeaderList | undefined {
    return this.req.trailers?.toList();
  }
  get responseTrailers(): HeaderList | undefined {
    return this.resp.trailers?.toList();
  }
  requestHeader(name: string): string | undefined {
    return this.req.headers.get(name);
  }
  responseHeader(name: string): string | undefined {
    return this.resp.headers.get(name);
  }
  /** Request body that went upstream past the filter. */
  get requestBody(): string {
    return fromUtf8(Buffer.concat(this.req.forwarded));
  }
  /** Response body that went to the client past the filter. */
  get responseBody(): string {
    return fromUtf8(Buffer.concat(this.resp.forwarded));
  }
  get routeCacheCleared(): boolean {
    return this.routeCacheClears > 0;
  }
  /** The filter stopped a direction and has not continued it. */
  get paused(): boolean {
    return !this.finished() && (this.req.paused || this.resp.paused);
  }
  get continueCalls(): { request: number; response: number } {
    return { request: this.req.continues, response: this.resp.continues };
  }
  get readableRequestHeaders(): HeaderMap | null {
    return this.req.headersOpen || this.inLogPhase ? this.req.headers : null;
  }
  get readableResponseHeaders(): HeaderMap | null {
    return this.resp.headersOpen || this.inLogPhase ? this.resp.headers : null;
  }

  // Events return undefined when the filter is not called: the stream is already answered or
  // reset, or the event waits behind a StopAll* and is delivered once the filter continues.
  sendRequestHeaders(headers: HeaderList, o: SendOptions = {}): FilterHeadersStatus | undefined {
    return this.sendHeaders(this.req, headers, o.endOfStream ?? false);
  }
  sendRequestBody(body: string | Uint8Array, o: SendOptions = {}): FilterDataStatus | undefined {
    return this.sendBody(this.req, toBytes(body), o.endOfStream ?? false);
  }
  sendRequestTrailers(trailers: HeaderList): FilterTrailersStatus | undefined {
    return this.sendTrailers(this.req, trailers);
  }
  sendResponseHeaders(headers: HeaderList, o: SendOptions = {}): FilterHeadersStatus | undefined {
    const status = Number(headers.find(([k]) => k === ":status")?.[1]);
    if (Number.isFinite(status)) this.code = status;
    return this.sendHeaders(this.resp, headers, o.endOfStream ?? false);
  }
  sendResponseBody(body: string | Uint8Array, o: SendOptions = {}): FilterDataStatus | undefined {
    return this.sendBody(this.resp, toBytes(body), o.endOfStream ?? false);
  }
  sendResponseTrailers(trailers: HeaderList): FilterTrailersStatus | undefined {
    return this.sendTrailers(this.resp, trailers);
  }

  /** End of stream: proxy_on_log, then proxy_on_done and proxy_on_delete (Envoy logs before it destroys filters). */
  complete(): void {
    if (this.completed) return;
    this.ensureCreated();
    this.inLogPhase = true;
    try {
      this.vm.invoke("proxy_on_log", this.contextId);
    } finally {
      this.inLogPhase = false;
    }
    this.vm.invoke("proxy_on_done", this.contextId);
    this.vm.invoke("proxy_on_delete", this.contextId);
    this.vm.removeContext(this.contextId);
    this.completed = true;
  }

  private sendHeaders(side: Side, list: HeaderList, eos: boolean): FilterHeadersStatus | undefined {
    if (side.started) throw new Error(`${side.on.headers}: headers were already sent on this stream`);
    if (this.finished()) return undefined;
    this.ensureCreated();
    side.headers.replaceAll(list);
    [side.started, side.ended, side.headersOpen] = [true, eos, true];
    const continues = side.continues;
    const raw = this.vm.invoke(side.on.headers, this.contextId, side.headers.size, eos ? 1 : 0);
    if (this.localResponse) return FilterHeadersStatus.StopIteration;
    const status =
      raw > 4 || (raw === 1 && !this.vm.allowOnHeadersStopIteration)
        ? FilterHeadersStatus.StopAllIterationAndWatermark
        : (raw as FilterHeadersStatus);
    if (status === FilterHeadersStatus.Continue || status === FilterHeadersStatus.ContinueAndEndStream) side.headersOpen = false;
    // A proxy_continue_stream inside the callback resumes the stream after it (Envoy defers continueDecoding).
    else if (side.continues === continues) [side.paused, side.hold] = [true, status !== FilterHeadersStatus.StopIteration];
    return status;
  }

  private sendBody(side: Side, chunk: Uint8Array, eos: boolean): FilterDataStatus | undefined {
    this.checkOrder(side, side.on.body);
    side.ended = eos;
    if (this.finished()) return undefined;
    if (side.hold) return void side.held.push(() => void this.deliverBody(side, chunk, eos));
    return this.deliverBody(side, chunk, eos);
  }

  private deliverBody(side: Side, chunk: Uint8Array, eos: boolean): FilterDataStatus | undefined {
    if (this.finished()) return undefined;
    side.buffered = side.buffered.length > 0 ? Buffer.concat([side.buffered, chunk]) : chunk;
    side.bodyOpen = true;
    const continues = side.continues;
    const raw = this.vm.invoke(side.on.body, this.contextId, side.buffered.length, eos ? 1 : 0);
    if (this.localResponse) return FilterDataStatus.StopIterationNoBuffer;
    const status = Math.min(raw, FilterDataStatus.StopIterationNoBuffer) as FilterDataStatus;
    if (status === FilterDataStatus.Continue || side.continues !== continues) {
      side.bodyOpen = false;
      side.forward();
    } else if (eos) {
      side.paused = true;
    }
    return status;
  }

  private sendTrailers(side: Side, list: HeaderList): FilterTrailersStatus | undefined {
    this.checkOrder(side, side.on.trailers);
    side.ended = true;
    if (this.finished()) return undefined;
    const deliver = (): FilterTrailersStatus | undefined => {
      if (this.finished()) return undefined;
      [side.trailers, side.trailersOpen] = [HeaderMap.from(list), true];
      const continues = side.continues;
      const raw = this.vm.invoke(side.on.trailers, this.contextId, side.trailers.size);
      if (this.localResponse) return FilterTrailersStatus.StopIteration;
      if (raw === 0 || side.continues !== continues) {
        side.trailersOpen = false;
        side.forward();
      } else {
        side.paused = true;
      }
      return raw === 0 ? FilterTrailersStatus.Continue : FilterTrailersStatus.StopIteration;
    };
    if (side.hold) return void side.held.push(() => void deliver());
    return deliver();
  }

  private checkOrder(side: Side, callback: string): void {
    if (!side.started) throw new Error(`${callback}: send the headers first`);
    if (side.ended) throw new Error(`${callback}: end of stream was already sent`);
  }

  private finished(): boolean {
    return this.localResponse !== undefined || this.reset || this.completed;
  }

  /** Envoy creates the VM context lazily, when the first event reaches the filter. */
  private ensureCreated(): void {
    if (this.created) return;
    this.created = true;
    this.vm.addContext(this.ref);
    this.vm.invoke("proxy_on_context_create", this.contextId, this.plugin.rootContextId);
  }

  /** Builds the StreamHost (host.ts): closures over this stream's private state. */
  private hostView(): StreamHost {
    const self = this;
    return {
      properties: this.properties,
      protocol: this.protocol,
      get inLogPhase() {
        return self.inLogPhase;
      },
      get readableRequestHeaders() {
        return self.readableRequestHeaders;
      },
      get readableResponseHeaders() {
        return self.readableResponseHeaders;
      },
      get responseCode() {
        return self.code;
      },
      headerMap: (type, write) => this.headerMap(type, write),
      bodyBuffer: (type) => this.bodyBuffer(type),
      clearRouteCache: (explicit) => this.clearRouteCache(explicit),
      continueStream: (type) => this.continueFromGuest(type),
      closeStream: (type) => this.closeFromGuest(type),
      sendLocalResponse: (status, details, body, headers, grpc) => this.recordLocalResponse(status, details, body, headers, grpc),
    };
  }

  /** The map a host call may use, or null when Envoy would not hand it out. */
  private headerMap(type: HeaderMapType, write: boolean): HeaderMap | null {
    const logRead = !write && this.inLogPhase;
    switch (type) {
      case HeaderMapType.RequestHeaders:
        return this.req.headersOpen || logRead ? this.req.headers : null;
      case HeaderMapType.RequestTrailers:
        return this.req.trailersOpen ? this.req.trailers : null;
      case HeaderMapType.ResponseHeaders:
        return this.resp.headersOpen || logRead ? this.resp.headers : null;
      case HeaderMapType.ResponseTrailers:
        return this.resp.trailersOpen || logRead ? this.resp.trailers : null;
      default:
        return null;
    }
  }

  /** Body buffer with Envoy's Buffer::copyFrom rules: replace a prefix, or append. */
  private bodyBuffer(type: BufferType.HttpRequestBody | BufferType.HttpResponseBody): HostBuffer {
    const side = type === BufferType.HttpRequestBody ? this.req : this.resp;
    return {
      bytes: () => (side.bodyOpen ? side.buffered : EMPTY),
      write: (start, length, data) => {
        const cur = side.buffered;
        if (!side.bodyOpen || (start > 0 && start < cur.length)) return WasmResult.BadArgument;
        side.buffered = start === 0 ? Buffer.concat([data, cur.subarray(Math.min(length, cur.length))]) : Buffer.concat([cur, data]);
        return WasmResult.Ok;
      },
    };
  }

  /** `explicit`: the clear_route_cache foreign function, not a header edit. */
  private clearRouteCache(explicit = false): void {
    this.routeCacheClears++;
    if (explicit) this.clearRouteCacheCalls++;
  }

  /**
   * proxy_continue_stream. Envoy drops its request-side map pointers whichever direction
   * is continued (Context::continueStream) and resumes the stopped direction after the VM call.
   */
  private continueFromGuest(type: StreamType.Request | StreamType.Response): void {
    this.req.close();
    const side = type === StreamType.Request ? this.req : this.resp;
    side.continues++;
    if (!side.paused && !side.hold) return;
    side.paused = side.hold = false;
    this.vm.post(() => {
      side.close();
      side.forward();
      while (side.held.length > 0 && !side.hold && !this.finished()) side.held.shift()!();
    });
  }

  /** proxy_close_stream: Envoy resets the stream after the VM call. */
  private closeFromGuest(type: StreamType): void {
    if (type <= StreamType.Response) {
      this.vm.post(() => {
        this.reset = true;
      });
    }
  }

  /** proxy_send_local_response. A second reply on an answered stream is ignored. */
  private recordLocalResponse(status: number, details: string, body: Uint8Array, headers: HeaderList, grpc: number): void {
    if (this.finished()) return;
    this.localResponse = {
      status,
      details: details.replace(/\s/g, "_"),
      body: fromUtf8(body),
      headers: headers.map(([k, v]) => [k.toLowerCase(), v]),
      grpcStatus: grpc <= 16 ? grpc : null,
    };
    this.vm.post(() => this.deliverLocalReply(body));
  }

  private deliverLocalReply(body: Uint8Array): void {
    const { req, resp } = this;
    const lr = this.localResponse!;
    req.close();
    [req.paused, req.hold, req.held] = [false, false, []];
    // Envoy's local reply headers: :status, the filter's headers, then length and type of a body.
    const headers = HeaderMap.from([[":status", String(lr.status)], ...lr.headers]);
    if (body.length > 0) headers.set("content-length", String(body.length));
    if (body.length > 0 && headers.get("content-type") === undefined) headers.add("content-type", "text/plain");
    this.code = lr.status;
    if (resp.started && !resp.headersOpen) {
      this.reset = true;
      return;
    }
    const viaFilter = !resp.started;
    [resp.started, resp.ended, resp.paused, resp.hold, resp.headers, resp.forwarded] = [true, true, false, false, headers, []];
    resp.buffered = body;
    if (viaFilter) {
      resp.headersOpen = true;
      this.vm.invoke(resp.on.headers, this.contextId, headers.size, body.length === 0 ? 1 : 0);
      resp.close();
      if (body.length > 0) {
        resp.bodyOpen = true;
        this.vm.invoke(resp.on.body, this.contextId, body.length, 1);
      }
    }
    resp.close();
    resp.forward();
  }
}
