// The env.proxy_* host functions with Envoy 1.40's results (proxy-wasm-cpp-host exports.cc over
// Envoy's extensions/common/wasm/context.cc). Each acts on vm.ctx(): the effective context if
// the guest set one, else the context the host called into. `vm` is the VM's HostEnv (host.ts),
// not the VM object: what the ABI needs of it and nothing else. Likewise a context's plugin and
// stream are the PluginHost and StreamHost interfaces (host.ts), not the Plugin and HttpStream classes.
import {
  BufferType,
  HeaderMapType,
  PROXY_IMPORT_NAMES,
  START_ALLOWED,
  StreamType,
  UTF8_HEADERS,
  WasmResult,
  deserializePairs,
  serializePairs,
} from "./abi.js";
import type { HeaderMap } from "./headers.js";
import type { HostBuffer, HostEnv } from "./host.js";
import { GuestMemoryError } from "./memory.js";
import type { ClusterDeclaration } from "./plugin.js";

/** A host call other than logging/clock/random made from _start; cpp-host traps ("restricted_callback"). */
export class RestrictedCallError extends Error {
  constructor(name: string) {
    super(
      `restricted_callback: ${name} was called while the VM was starting (_start/_initialize); ` +
        "Envoy only allows logging, args/environ, clock_time_get and random_get there",
    );
  }
}

type Fn = (...args: never[]) => number | undefined;
const { Ok, NotFound, BadArgument } = WasmResult;
const EMPTY = new Uint8Array(0);
const MAX_MAP = HeaderMapType.HttpCallResponseTrailers;

export function proxyImports(vm: HostEnv): Record<string, Fn> {
  const m = () => vm.mem;
  const str = (ptr: number, len: number) => vm.mem.string(ptr, len);
  const codec = vm.headerCodec;
  const utf8Headers = codec === UTF8_HEADERS;
  /** A header name or value from the guest (UTF-8 keeps GuestMemory's ASCII fast path). */
  const hdr = (ptr: number, len: number) => (utf8Headers ? str(ptr, len) : codec.decode(m().view(ptr, len)));
  const ctx = () => vm.ctx();
  /** Null where Envoy has no such map at this point; HTTP-callout maps are read-only. */
  const headerMap = (type: number, write: boolean): HeaderMap | null => {
    if (type < HeaderMapType.HttpCallResponseHeaders) return ctx().stream?.headerMap(type, write) ?? null;
    const r = ctx().plugin?.httpCallResponse();
    return write || !r ? null : type === HeaderMapType.HttpCallResponseHeaders ? r.headers : r.trailers;
  };
  /** Envoy clears the route cache whenever an ABI 0.2.1 filter changes request headers. */
  const mutate = (type: number, change: (map: HeaderMap) => void): WasmResult => {
    const map = type <= MAX_MAP ? headerMap(type, true) : null;
    if (!map) return BadArgument;
    change(map);
    if (type === HeaderMapType.RequestHeaders) ctx().stream?.clearRouteCache();
    return Ok;
  };
  const buffer = (type: number): HostBuffer | null => {
    const { stream, plugin } = ctx();
    const response = plugin?.httpCallResponse();
    const config = plugin?.pluginConfig();
    switch (type) {
      case BufferType.HttpRequestBody:
      case BufferType.HttpResponseBody:
        return stream?.bodyBuffer(type) ?? { bytes: () => EMPTY };
      case BufferType.HttpCallResponseBody:
        return response ? { bytes: () => response.body } : null;
      case BufferType.GrpcReceiveBuffer: {
        const message = plugin?.grpcResponse();
        return message ? { bytes: () => message } : null;
      }
      case BufferType.VmConfiguration:
        return { bytes: () => vm.vmConfig };
      case BufferType.PluginConfiguration:
        return config ? { bytes: () => config } : null;
      default:
        return null;
    }
  };

  const calls: Record<string, Fn> = {
    proxy_log(level: number, ptr: number, len: number) {
      if (level < 0 || level > 5) return BadArgument;
      vm.log(level, str(ptr, len));
      return Ok;
    },
    proxy_get_log_level(ptr: number) {
      m().u32(ptr, vm.logLevel);
      return Ok;
    },
    proxy_get_status(codePtr: number, msgPtr: number, msgSize: number) {
      m().u32(codePtr, ctx().status.code);
      m().give(ctx().status.message, msgPtr, msgSize);
      return Ok;
    },
    proxy_set_tick_period_milliseconds(ms: number) {
      ctx().plugin?.setTickPeriod(ms >>> 0);
      return Ok;
    },
    proxy_get_current_time_nanoseconds(ptr: number) {
      m().u64(ptr, vm.clockNs);
      return Ok;
    },
    proxy_get_property(pathPtr: number, pathLen: number, valuePtr: number, valueSize: number) {
      const value = vm.property(ctx(), str(pathPtr, pathLen));
      if (!value) return NotFound;
      m().give(value, valuePtr, valueSize);
      return Ok;
    },
    proxy_set_property(pathPtr: number, pathLen: number, valuePtr: number, valueLen: number) {
      const s = ctx().stream; // Envoy keeps it in the stream's filter state; a root context has none
      if (!s) return NotFound;
      s.properties.set(str(pathPtr, pathLen), m().copy(valuePtr, valueLen));
      return Ok;
    },
    proxy_continue_stream(type: number) {
      if (type === StreamType.Request || type === StreamType.Response) ctx().stream?.continueStream(type);
      return type > StreamType.Upstream ? BadArgument : type === StreamType.Upstream ? WasmResult.Unimplemented : Ok;
    },
    proxy_close_stream(type: number) {
      if (type > StreamType.Upstream) return BadArgument;
      ctx().stream?.closeStream(type);
      return Ok;
    },
    proxy_send_local_response(
      status: number,
      detPtr: number,
      detLen: number,
      bodyPtr: number,
      bodyLen: number,
      hdrPtr: number,
      hdrLen: number,
      grpc: number,
    ) {
      const headers = deserializePairs(m().view(hdrPtr, hdrLen), codec);
      ctx().stream?.sendLocalResponse(status >>> 0, str(detPtr, detLen), m().copy(bodyPtr, bodyLen), headers, grpc >>> 0);
      return Ok;
    },
    proxy_get_shared_data(keyPtr: number, keyLen: number, valuePtr: number, valueSize: number, casPtr: number) {
      const entry = vm.sharedData.get(str(keyPtr, keyLen), vm.vmId);
      if (!entry) return NotFound;
      m().give(entry.value, valuePtr, valueSize);
      m().u32(casPtr, entry.cas);
      return Ok;
    },
    proxy_set_shared_data: (keyPtr: number, keyLen: number, valuePtr: number, valueLen: number, cas: number) =>
      vm.sharedData.set(str(keyPtr, keyLen), m().copy(valuePtr, valueLen), cas >>> 0, vm.vmId),
    proxy_register_shared_queue(namePtr: number, nameLen: number, tokenPtr: number) {
      const root = ctx().plugin?.rootContextId;
      if (root === undefined) return BadArgument;
      // on_queue_ready is posted to the registering VM, so it runs after the enqueuing call.
      const notify = (t: number) => vm.post(() => void vm.invoke("proxy_on_queue_ready", root, t));
      m().u32(tokenPtr, vm.sharedData.registerQueue(vm.vmId, str(namePtr, nameLen), notify));
      return Ok;
    },
    proxy_resolve_shared_queue(vmIdPtr: number, vmIdLen: number, namePtr: number, nameLen: number, tokenPtr: number) {
      const token = vm.sharedData.resolveQueue(str(vmIdPtr, vmIdLen), str(namePtr, nameLen));
      if (token === undefined) return NotFound;
      m().u32(tokenPtr, token);
      return Ok;
    },
    proxy_dequeue_shared_queue(token: number, dataPtr: number, dataSize: number) {
      const item = vm.sharedData.dequeue(token >>> 0);
      if (typeof item === "number") return item;
      m().give(item, dataPtr, dataSize);
      return Ok;
    },
    proxy_enqueue_shared_queue: (token: number, ptr: number, len: number) => vm.sharedData.enqueue(token >>> 0, m().copy(ptr, len)),
    proxy_add_header_map_value(type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) {
      const [k, v] = [hdr(kPtr, kLen), hdr(vPtr, vLen)];
      return mutate(type, (map) => map.add(k, v));
    },
    proxy_replace_header_map_value(type: number, kPtr: number, kLen: number, vPtr: number, vLen: number) {
      const [k, v] = [hdr(kPtr, kLen), hdr(vPtr, vLen)];
      return mutate(type, (map) => map.set(k, v));
    },
    proxy_remove_header_map_value(type: number, kPtr: number, kLen: number) {
      const k = hdr(kPtr, kLen);
      return mutate(type, (map) => map.remove(k));
    },
    proxy_set_header_map_pairs(type: number, ptr: number, len: number) {
      const pairs = deserializePairs(m().view(ptr, len), codec);
      return mutate(type, (map) => map.replaceAll(pairs));
    },
    proxy_get_header_map_value(type: number, kPtr: number, kLen: number, valuePtr: number, valueSize: number) {
      const map = type <= MAX_MAP ? headerMap(type, false) : null;
      // An unavailable map is BadArgument, except in the access-log phase (NotFound).
      if (!map) return ctx().stream?.inLogPhase && type <= MAX_MAP ? NotFound : BadArgument;
      const v = map.get(hdr(kPtr, kLen));
      if (v === undefined) return NotFound;
      m().give(utf8Headers ? v : codec.encode(v), valuePtr, valueSize);
      return Ok;
    },
    proxy_get_header_map_pairs(type: number, ptrPtr: number, sizePtr: number) {
      if (type > MAX_MAP) return BadArgument;
      const map = headerMap(type, false); // an unavailable map reads as empty
      m().give(map && map.size > 0 ? serializePairs(map.toList(), codec) : EMPTY, ptrPtr, sizePtr);
      return Ok;
    },
    proxy_get_header_map_size(type: number, ptr: number) {
      const map = type <= MAX_MAP ? headerMap(type, true) : null; // Envoy asks for the mutable map here
      if (!map) return BadArgument;
      m().u32(ptr, map.byteSize()); // bytes, not entries
      return Ok;
    },
    proxy_get_buffer_bytes(type: number, start: number, length: number, ptrPtr: number, sizePtr: number) {
      const b = type <= BufferType.CallData ? buffer(type) : null;
      if (!b) return type <= BufferType.CallData ? NotFound : BadArgument;
      [start, length] = [start >>> 0, length >>> 0];
      if (start + length > 0xffffffff) return BadArgument;
      const data = b.bytes();
      const end = Math.min(start + length, data.length);
      // cpp-host answers a read of nothing with Ok and leaves the out-parameters untouched.
      if (end > start) m().give(data.subarray(start, end), ptrPtr, sizePtr);
      return Ok;
    },
    proxy_get_buffer_status(type: number, lengthPtr: number, flagsPtr: number) {
      const b = type <= BufferType.CallData ? buffer(type) : null;
      if (!b) return type <= BufferType.CallData ? NotFound : BadArgument;
      m().u32(lengthPtr, b.bytes().length);
      m().u32(flagsPtr, 0); // Envoy never sets EndOfStream
      return Ok;
    },
    proxy_set_buffer_bytes(type: number, start: number, length: number, ptr: number, len: number) {
      const b = type <= BufferType.CallData ? buffer(type) : null;
      if (!b) return type <= BufferType.CallData ? NotFound : BadArgument;
      return b.write ? b.write(start >>> 0, length >>> 0, m().copy(ptr, len)) : BadArgument;
    },
    proxy_http_call(
      uriPtr: number,
      uriLen: number,
      hPtr: number,
      hLen: number,
      bodyPtr: number,
      bodyLen: number,
      tPtr: number,
      tLen: number,
      timeoutMs: number,
      tokenPtr: number,
    ) {
      const plugin = ctx().plugin; // callouts belong to the root context of the effective context
      m().u32(tokenPtr, 0);
      if (!plugin) return BadArgument;
      const { result, token } = vm.startHttpCall({
        upstream: str(uriPtr, uriLen),
        headers: deserializePairs(m().view(hPtr, hLen), codec),
        body: m().copy(bodyPtr, bodyLen),
        trailers: deserializePairs(m().view(tPtr, tLen), codec),
        timeoutMs: timeoutMs | 0,
        rootContextId: plugin.rootContextId,
      });
      m().u32(tokenPtr, token);
      return result;
    },
    proxy_define_metric(type: number, namePtr: number, nameLen: number, idPtr: number) {
      const id = vm.metrics.define(type >>> 0, str(namePtr, nameLen));
      if (id === undefined) return BadArgument;
      m().u32(idPtr, id);
      return Ok;
    },
    proxy_increment_metric: (id: number, offset: bigint) => vm.metrics.increment(id >>> 0, offset),
    proxy_record_metric: (id: number, value: bigint) => vm.metrics.record(id >>> 0, value),
    proxy_get_metric(id: number, resultPtr: number) {
      const r = vm.metrics.get(id >>> 0);
      if (typeof r === "number") return r;
      m().u64(resultPtr, BigInt(r.value));
      return Ok;
    },
    proxy_set_effective_context: (id: number) => (vm.setEffective(id >>> 0) ? Ok : BadArgument),
    proxy_done: () => ctx().plugin?.done() ?? NotFound,
    proxy_call_foreign_function(namePtr: number, nameLen: number, argsPtr: number, argsLen: number, resPtr: number, resSize: number) {
      const name = str(namePtr, nameLen);
      if (name === "clear_route_cache") {
        // Envoy's only foreign function we model; it uses current_context_, not the effective context.
        vm.called().stream?.clearRouteCache(true);
      } else if (name === "portico_declare_clusters") {
        // Portico's own (Envoy answers NotFound): the clusters a configured filter will call.
        const plugin = ctx().plugin;
        const refs = clusterRefs(str(argsPtr, argsLen));
        if (!plugin || !refs) return BadArgument;
        plugin.declareClusters(refs);
      } else {
        return NotFound;
      }
      if (resPtr) m().u32(resPtr, 0);
      if (resSize) m().u32(resSize, 0);
      return Ok;
    },
  };
  calls.proxy_grpc_call = (
    servicePtr: number,
    serviceLen: number,
    namePtr: number,
    nameLen: number,
    methodPtr: number,
    methodLen: number,
    metadataPtr: number,
    metadataLen: number,
    messagePtr: number,
    messageLen: number,
    timeoutMs: number,
    tokenPtr: number,
  ) => {
    const plugin = ctx().plugin; // like HTTP callouts, gRPC calls belong to the root context of the effective context
    m().u32(tokenPtr, 0);
    if (!plugin) return BadArgument;
    const { result, token } = vm.startGrpcCall(
      {
        service: str(namePtr, nameLen),
        method: str(methodPtr, methodLen),
        initialMetadata: deserializePairs(m().view(metadataPtr, metadataLen), codec),
        message: m().copy(messagePtr, messageLen),
        timeoutMs: timeoutMs | 0,
        rootContextId: plugin.rootContextId,
      },
      m().copy(servicePtr, serviceLen),
    );
    m().u32(tokenPtr, token);
    return result;
  };
  calls.proxy_grpc_cancel = (token: number) => vm.cancelGrpcCall(token >>> 0);
  // gRPC streams are not emulated (Envoy does implement them).
  for (const f of ["grpc_stream", "grpc_close", "grpc_send"]) calls[`proxy_${f}`] = () => WasmResult.Unimplemented;

  const env: Record<string, Fn> = {
    pthread_equal: (a: number, b: number) => (a === b ? 1 : 0),
    emscripten_notify_memory_growth: () => undefined,
  };
  for (const name of PROXY_IMPORT_NAMES) env[name] = guard(vm, name, calls[name]!, WasmResult.InvalidMemoryAccess);
  return env;
}

/** The argument of portico_declare_clusters: a JSON array of {"name","path"}; null if it is not one. */
function clusterRefs(json: string): ClusterDeclaration[] | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (!Array.isArray(v)) return null;
  const ok = v.every((r: { name?: unknown; path?: unknown } | null) => typeof r?.name === "string" && typeof r.path === "string");
  return ok ? v.map((r: ClusterDeclaration) => ({ name: r.name, path: r.path })) : null;
}

/** Applies the start-up restriction and turns out-of-bounds pointers into `memoryError`. */
export function guard(vm: Pick<HostEnv, "starting">, name: string, fn: Fn, memoryError: number): Fn {
  const call = fn as (...args: unknown[]) => number | undefined;
  const allowed = START_ALLOWED.has(name);
  // Fixed parameters instead of ...rest: this wrapper runs on every host call. The most any host
  // call takes is 12 (proxy_grpc_call).
  return ((
    a: unknown,
    b: unknown,
    c: unknown,
    d: unknown,
    e: unknown,
    f: unknown,
    g: unknown,
    h: unknown,
    i: unknown,
    j: unknown,
    k: unknown,
    l: unknown,
  ) => {
    if (vm.starting && !allowed) throw new RestrictedCallError(name);
    try {
      return call(a, b, c, d, e, f, g, h, i, j, k, l);
    } catch (err) {
      if (err instanceof GuestMemoryError) return memoryError;
      throw err;
    }
  }) as Fn;
}
