// One Wasm VM as Envoy runs it on one worker thread: link checks, start, the call wrapper
// (current/effective context, deferred actions, crash capture), time and HTTP callouts.
import { randomFillSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { HOST_IMPORTS, LATIN1_HEADERS, LogLevel, UTF8_HEADERS, WasmResult, listImports, type HeaderList } from "./abi.js";
import { HeaderMap } from "./headers.js";
import { grpcServiceCluster } from "./grpc-service.js";
import type { ContextRef, GrpcCall, HostEnv, HttpCall, HttpCallResponse, VmCore } from "./host.js";
import { guard, proxyImports, RestrictedCallError } from "./host-calls.js";
import { GuestMemory, toBytes, toUtf8 } from "./memory.js";
import { MetricsStore, VmMetrics, type MetricSnapshot } from "./metrics.js";
import { Plugin, type PluginOptions } from "./plugin.js";
import { propertyMap, streamAttribute, type Properties } from "./properties.js";
import { SharedData } from "./shared-data.js";
import { ProcExit, wasiImports } from "./wasi.js";

export type { ContextRef, GrpcCall, HttpCall } from "./host.js";

export interface VmOptions {
  /** Share one store between VMs to model Envoy's worker threads. */
  sharedData?: SharedData;
  /** Share one store between VMs: Envoy's stats store is process-wide. */
  metrics?: MetricsStore;
  vmId?: string;
  vmConfig?: string | Uint8Array;
  /** VM-wide property fallback (e.g. "node.id"); stream properties take precedence. */
  properties?: Properties;
  /** What proxy_get_log_level reports and the lowest level kept in `logs`. Default Info, as Envoy. */
  logLevel?: LogLevel;
  /** Initial emulated wall clock. Default 2025-01-01T00:00:00Z. */
  startTime?: number | Date;
  /** vm_config.environment_variables. */
  env?: Record<string, string>;
  /** Known clusters; proxy_http_call or proxy_grpc_call to another one fails with BadArgument as in Envoy. Default: any. */
  clusters?: string[];
  /** PluginConfig.allow_on_headers_stop_iteration; without it StopIteration from headers is StopAll. */
  allowOnHeadersStopIteration?: boolean;
  /**
   * How header strings given to and read from the guest map to bytes: "utf8" (default), or
   * "latin1": one char (0-255) per byte, to hand the filter values that are not UTF-8, as Envoy
   * can (obs-text). Applies to every header map, pairs and local-reply headers.
   */
  headerBytes?: "utf8" | "latin1";
  /** Count the guest's proxy_* calls by name in `vm.hostCalls` (off by default: it costs a map update per call). */
  countHostCalls?: boolean;
  /** Be told of every guest callback and every proxy_* call with its arguments (bench/replay.ts records them). */
  trace?: VmTrace;
}

/**
 * Observes a VM from outside: callbacks into the guest (entered, then returned) and the host
 * calls the guest makes in between. `hostCall` runs right after the call, so pointer arguments
 * can be read from `mem` as the guest passed them and out-parameters as the host filled them.
 */
export interface VmTrace {
  enter(callback: string, args: number[]): void;
  /** `result` is undefined for a callback without a result (e.g. proxy_on_log). */
  exit(callback: string, result: unknown): void;
  hostCall(name: string, args: readonly unknown[], result: unknown, mem: GuestMemory): void;
}

export interface LogEntry {
  level: LogLevel;
  message: string;
  contextId: number;
}
export interface HttpCallReply {
  status?: number;
  headers?: HeaderList;
  body?: string | Uint8Array;
  trailers?: HeaderList;
}

/** A trap, proc_exit or restricted call inside the guest. The VM is failed afterwards. */
export class GuestCrashError extends Error {
  constructor(
    message: string,
    readonly call: string,
    readonly guestOutput: string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
export class WasmLoadError extends Error {}

export class ProxyWasmVm {
  readonly sharedData: SharedData;
  readonly metricsStore: MetricsStore;
  readonly vmId: string;
  readonly logs: LogEntry[] = [];
  stdout = "";
  stderr = "";
  /** Set once the guest crashed; every later call into it throws. */
  failure: GuestCrashError | undefined;
  /** With `countHostCalls`: how often the guest called each proxy_* function, e.g. to show a path costs no host call. */
  readonly hostCalls = new Map<string, number>();

  private readonly mem: GuestMemory;
  private readonly options: VmOptions;
  private readonly vmMetrics: VmMetrics;
  private readonly contexts = new Map<number, ContextRef>();
  private readonly vmConfig: Uint8Array;
  private readonly logLevel: LogLevel;
  private starting = false;
  private effective = 0;
  private current: ContextRef;
  private clockNs: bigint;
  /** The VM as the host calls see it. */
  private readonly host: HostEnv;
  /** The VM as its plugins and streams see it. */
  private readonly core: VmCore;

  private readonly vmContext: ContextRef = { id: 0, plugin: null, stream: null, status: { code: 0, message: "" } };
  private readonly exportsByName: Record<string, ((...args: number[]) => unknown) | undefined>;
  private readonly vmProperties: Map<string, Uint8Array>;
  private readonly pending = new Map<number, HttpCall>();
  /** Root context id -> its Plugin, for HttpCall.plugin (kept after removal: its streams may still call out). */
  private readonly plugins = new Map<number, Plugin>();
  /** Root context id -> its tick timer (proxy_set_tick_period_milliseconds). */
  private readonly timers = new Map<number, { periodNs: bigint; nextNs: bigint }>();
  /** Root context id -> the callout response proxy_on_http_call_response is reading. */
  private readonly calloutResponses = new Map<number, HttpCallResponse>();
  /** Pending unary gRPC calls by token. */
  private readonly pendingGrpc = new Map<number, GrpcCall>();
  /** Root context id -> the gRPC response message proxy_on_grpc_receive is reading. */
  private readonly grpcResponses = new Map<number, Uint8Array>();
  private readonly afterCall: (() => void)[] = [];
  private readonly recentOutput: string[] = [];
  private depth = 0;
  private nextContextId = 1;
  private nextHttpToken = 1;
  /** Envoy numbers unary gRPC calls with odd tokens (even ones are gRPC streams). */
  private nextGrpcToken = 1;

  /** Loads a module from a path, bytes or a compiled module (compile once, start many VMs). */
  static async load(source: string | URL | Uint8Array | WebAssembly.Module, options: VmOptions = {}): Promise<ProxyWasmVm> {
    const module =
      source instanceof WebAssembly.Module
        ? source
        : await WebAssembly.compile(source instanceof Uint8Array ? new Uint8Array(source) : await readFile(source));
    return new ProxyWasmVm(module, options);
  }

  constructor(module: WebAssembly.Module, options: VmOptions = {}) {
    checkLinkable(module);
    this.options = options;
    this.sharedData = options.sharedData ?? new SharedData();
    this.metricsStore = options.metrics ?? new MetricsStore();
    this.vmMetrics = new VmMetrics(this.metricsStore);
    this.vmId = options.vmId ?? "";
    this.vmConfig = toBytes(options.vmConfig);
    this.vmProperties = propertyMap(options.properties);
    this.logLevel = options.logLevel ?? LogLevel.Info;
    this.clockNs = BigInt(new Date(options.startTime ?? Date.UTC(2025, 0, 1)).getTime()) * 1_000_000n;
    this.current = this.vmContext;
    const vm = this;
    this.core = {
      vmConfig: this.vmConfig,
      get clockNs() {
        return vm.clockNs;
      },
      allowOnHeadersStopIteration: options.allowOnHeadersStopIteration ?? false,
      allocContextId: () => this.nextContextId++,
      addContext: (ref, owner) => {
        this.contexts.set(ref.id, ref);
        if (owner) this.plugins.set(ref.id, owner);
      },
      removeContext: (id) => {
        this.contexts.delete(id);
        this.timers.delete(id);
      },
      setTickPeriod: (id, ms) => {
        const periodNs = BigInt(ms) * 1_000_000n;
        if (ms > 0) this.timers.set(id, { periodNs, nextNs: this.clockNs + periodNs });
        else this.timers.delete(id);
      },
      httpCallResponse: (id) => this.calloutResponses.get(id),
      grpcResponse: (id) => this.grpcResponses.get(id),
      invoke: (name, a, b, c, d, e) => this.invoke(name, a, b, c, d, e),
      post: (fn) => this.post(fn),
    };
    this.host = {
      get mem() {
        return vm.mem;
      }, // read lazily: the memory exists only once instantiated
      get starting() {
        return vm.starting;
      },
      vmId: this.vmId,
      vmConfig: this.vmConfig,
      logLevel: this.logLevel,
      get clockNs() {
        return vm.clockNs;
      },
      sharedData: this.sharedData,
      metrics: this.vmMetrics,
      headerCodec: options.headerBytes === "latin1" ? LATIN1_HEADERS : UTF8_HEADERS,
      ctx: () => this.ctx(),
      called: () => this.current,
      setEffective: (id) => {
        if (!this.contexts.has(id)) return false;
        this.effective = id;
        return true;
      },
      log: (level, message) => this.log(level, message),
      property: (ctx, path) => this.property(ctx, path),
      post: (fn) => this.post(fn),
      invoke: (name, a, b, c, d, e) => this.invoke(name, a, b, c, d, e),
      startHttpCall: (call) => this.startHttpCall(call),
      startGrpcCall: (call, service) => this.startGrpcCall(call, service),
      cancelGrpcCall: (token) => (this.pendingGrpc.delete(token) ? WasmResult.Ok : WasmResult.NotFound),
    };
    const wasi = wasiImports({
      get mem() {
        return vm.mem;
      }, // read lazily: the memory exists only once instantiated
      output: (fd, text) => this.output(fd, text),
      nowNs: () => this.clockNs,
      random: (t) => void randomFillSync(t),
      environ: Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`),
    });
    const EFAULT = 21;
    const wasiGuarded = Object.fromEntries(Object.entries(wasi).map(([n, f]) => [n, guard(this.host, n, f, EFAULT)]));
    const instance = new WebAssembly.Instance(module, {
      env: this.observed(proxyImports(this.host)),
      wasi_snapshot_preview1: wasiGuarded,
      wasi_unstable: wasiGuarded,
    });
    this.exportsByName = instance.exports as typeof this.exportsByName;
    // cpp-host hands data to the guest through its malloc (ABI 0.2.x), else proxy_on_memory_allocate.
    const malloc = this.exportsByName.malloc ?? this.exportsByName.proxy_on_memory_allocate;
    const memory = instance.exports.memory;
    if (!malloc) throw new WasmLoadError("Wasm module is missing malloc function.");
    if (!(memory instanceof WebAssembly.Memory)) throw new WasmLoadError("Wasm module does not export its memory");
    this.mem = new GuestMemory(memory, (size) => Number(malloc(size)));
    this.starting = true; // WasmBase::startVm: a reactor's _initialize (+ main), else _start
    try {
      if (this.exportsByName._initialize) {
        this.invoke("_initialize");
        if (this.exportsByName.main) this.invoke("main");
      } else {
        this.invoke("_start");
      }
    } finally {
      this.starting = false;
    }
  }

  /** The imports as they are without countHostCalls or trace; else wrapped to count and/or trace each call. */
  private observed<F extends (...args: never[]) => unknown>(env: Record<string, F>): Record<string, F> {
    const { countHostCalls: count, trace } = this.options;
    if (!count && !trace) return env;
    const out: Record<string, F> = {};
    for (const [name, fn] of Object.entries(env)) {
      out[name] = ((...args: never[]) => {
        if (count) this.hostCalls.set(name, (this.hostCalls.get(name) ?? 0) + 1);
        const result = fn(...args);
        trace?.hostCall(name, args, result, this.mem);
        return result;
      }) as F;
    }
    return out;
  }

  /** A plugin's root context: context_create, vm_start, configure, as Envoy does per plugin. */
  configurePlugin(options: PluginOptions = {}): Plugin {
    return new Plugin(this, this.core, this.core.allocContextId(), options);
  }

  /** Whether a context (root or stream) is alive in the VM, e.g. to check that a finished stream was deleted. */
  hasContext(id: number): boolean {
    return this.contexts.has(id);
  }

  /**
   * The value of a global the module exports, or undefined if it exports none by that name: e.g.
   * the allocation counters of a counted build (scripts/count-allocations.mjs, bench/cost.ts).
   */
  exportedGlobal(name: string): number | undefined {
    const g: unknown = this.exportsByName[name];
    return g instanceof WebAssembly.Global ? Number(g.value) : undefined;
  }

  /** Linear memory size in bytes, to check that a filter does not leak. */
  memoryBytes(): number {
    return this.mem.byteLength;
  }
  metric(name: string): number | undefined {
    return this.metricsStore.get(name)?.value;
  }
  metrics(): Record<string, MetricSnapshot> {
    return this.metricsStore.all();
  }
  now(): Date {
    return new Date(Number(this.clockNs / 1_000_000n));
  }
  get pendingHttpCalls(): HttpCall[] {
    return [...this.pending.values()];
  }
  /** The unary gRPC calls waiting for an answer (respondGrpc / failGrpc), oldest first. */
  get grpcCalls(): GrpcCall[] {
    return [...this.pendingGrpc.values()];
  }

  /** Advances the emulated clock, firing proxy_on_tick for each elapsed tick period, in time order. */
  advanceTime(ms: number): void {
    const target = this.clockNs + BigInt(Math.round(ms * 1e6));
    for (;;) {
      const due = [...this.timers]
        .filter(([, t]) => t.nextNs <= target)
        .sort(([i, x], [j, y]) => (x.nextNs < y.nextNs ? -1 : x.nextNs > y.nextNs ? 1 : i - j))[0];
      if (!due) break;
      const [id, timer] = due;
      this.clockNs = timer.nextNs;
      timer.nextNs += timer.periodNs;
      this.invoke("proxy_on_tick", id);
    }
    this.clockNs = target;
  }

  /** Delivers the upstream response to proxy_on_http_call_response of the calling root context. */
  respondToHttpCall(token: number, reply: HttpCallReply = {}): void {
    const call = this.takeHttpCall(token);
    const headers = HeaderMap.from(reply.headers ?? []);
    if (headers.get(":status") === undefined) headers.add(":status", String(reply.status ?? 200));
    const response = { headers, body: toBytes(reply.body), trailers: HeaderMap.from(reply.trailers ?? []) };
    this.calloutResponses.set(call.rootContextId, response);
    try {
      this.invoke("proxy_on_http_call_response", call.rootContextId, token, headers.size, response.body.length, response.trailers.size);
    } finally {
      this.calloutResponses.delete(call.rootContextId);
    }
  }

  /** A reset callout: Envoy calls back with nothing and proxy_get_status = BrokenConnection "reset". */
  failHttpCall(token: number): void {
    const call = this.takeHttpCall(token);
    const root = this.contexts.get(call.rootContextId) ?? this.vmContext;
    root.status = { code: WasmResult.BrokenConnection, message: "reset" };
    try {
      this.invoke("proxy_on_http_call_response", call.rootContextId, token, 0, 0, 0);
    } finally {
      root.status.message = "";
    }
  }

  /** Delivers a gRPC response message to proxy_on_grpc_receive of the calling root context. */
  respondGrpc(token: number, message: Uint8Array): void {
    const call = this.takeGrpcCall(token);
    this.grpcResponses.set(call.rootContextId, message);
    try {
      this.invoke("proxy_on_grpc_receive", call.rootContextId, token, message.length);
    } finally {
      this.grpcResponses.delete(call.rootContextId);
    }
  }

  /**
   * A failed gRPC call (a gRPC status other than OK: 4 DEADLINE_EXCEEDED for a timeout, 14
   * UNAVAILABLE for an unreachable service): proxy_on_grpc_close with the status, which
   * proxy_get_status also reports, with `message`, while it runs.
   */
  failGrpc(token: number, status: number, message = ""): void {
    const call = this.takeGrpcCall(token);
    const root = this.contexts.get(call.rootContextId) ?? this.vmContext;
    root.status = { code: status, message };
    try {
      this.invoke("proxy_on_grpc_close", call.rootContextId, token, status);
    } finally {
      root.status = { code: 0, message: "" };
    }
  }

  private takeGrpcCall(token: number): GrpcCall {
    const call = this.pendingGrpc.get(token);
    if (!call) throw new Error(`no pending gRPC call with token ${token}`);
    this.pendingGrpc.delete(token);
    return call;
  }

  /** Context::grpcCall: a known cluster (from the GrpcService proto, or the bytes as a name). */
  private startGrpcCall(
    call: Omit<GrpcCall, "token" | "plugin" | "cluster" | "serviceBytes">,
    service: Uint8Array,
  ): { result: WasmResult; token: number } {
    const plugin = this.plugins.get(call.rootContextId);
    if (!plugin) return { result: WasmResult.BadArgument, token: 0 };
    const cluster = grpcServiceCluster(service);
    const known = this.options.clusters?.includes(cluster) ?? true;
    if (call.timeoutMs < 0 || !known) return { result: WasmResult.BadArgument, token: 0 };
    const token = this.nextGrpcToken;
    this.nextGrpcToken += 2;
    this.pendingGrpc.set(token, { ...call, cluster, serviceBytes: service, plugin, token });
    return { result: WasmResult.Ok, token };
  }

  private takeHttpCall(token: number): HttpCall {
    const call = this.pending.get(token);
    if (!call) throw new Error(`no pending HTTP call with token ${token}`);
    this.pending.delete(token);
    return call;
  }

  /** Context::httpCall: known cluster, :path, :method and :authority are required. */
  private startHttpCall(call: Omit<HttpCall, "token" | "plugin">): { result: WasmResult; token: number } {
    const plugin = this.plugins.get(call.rootContextId);
    if (!plugin) return { result: WasmResult.BadArgument, token: 0 };
    const has = (name: string) => call.headers.some(([k]) => k.toLowerCase() === name);
    const known = this.options.clusters?.includes(call.upstream) ?? true;
    if (call.timeoutMs < 0 || !known || !has(":path") || !has(":method") || !has(":authority")) {
      return { result: WasmResult.BadArgument, token: 0 };
    }
    const token = this.nextHttpToken++;
    this.pending.set(token, { ...call, plugin, token });
    return { result: WasmResult.Ok, token };
  }

  /** The context host calls act on: the effective one if the guest set it, else the called one. */
  private ctx(): ContextRef {
    return (this.effective !== 0 && this.contexts.get(this.effective)) || this.current;
  }

  /** Stream properties, then stream attributes, then plugin tokens, then VM properties. */
  private property(ctx: ContextRef, path: string): Uint8Array | undefined {
    const s = ctx.stream;
    const own = s && (s.properties.get(path) ?? streamAttribute(path, s));
    if (own) return own;
    if (path === "plugin_vm_id") return toUtf8(this.vmId);
    if (ctx.plugin && path === "plugin_name") return toUtf8(ctx.plugin.name);
    if (ctx.plugin && path === "plugin_root_id") return toUtf8(ctx.plugin.rootId);
    return this.vmProperties.get(path);
  }

  /** Runs `fn` once the outermost guest call returned (Envoy's addAfterVmCallAction). */
  private post(fn: () => void): void {
    if (this.depth > 0) this.afterCall.push(fn);
    else fn();
  }

  private log(level: LogLevel, message: string): void {
    this.note(message);
    if (level >= this.logLevel) this.logs.push({ level, message, contextId: this.ctx().id });
  }

  private output(fd: 1 | 2, text: string): void {
    if (fd === 1) this.stdout += text;
    else this.stderr += text;
    this.note(text);
  }

  /** The last guest messages of the current call, quoted in crash reports (abort messages land here). */
  private note(text: string): void {
    if (this.recentOutput.length >= 16) this.recentOutput.shift();
    this.recentOutput.push(text.trim());
  }

  /**
   * Calls a guest export; a missing one is skipped and yields cpp-host's answer for it: true (1)
   * for the callbacks whose absence means "accepted" (OPTIONAL_TRUE), 0 otherwise. The first
   * argument of every proxy_on_* export is the context it runs in, and each call starts without
   * an effective context (cpp-host's SaveRestoreContext).
   */
  private invoke(name: string, a = 0, b = 0, c = 0, d = 0, e = 0): number {
    if (this.failure) throw new GuestCrashError(`VM already failed: ${this.failure.message}`, name, [], { cause: this.failure });
    const fn = this.exportsByName[name];
    if (!fn) return OPTIONAL_TRUE.has(name) ? 1 : 0;
    const [outer, saved, savedEffective] = [this.depth === 0, this.current, this.effective];
    if (outer) this.recentOutput.length = 0;
    this.current = this.contexts.get(a) ?? this.vmContext;
    this.effective = 0;
    this.depth++;
    let result: unknown;
    try {
      this.options.trace?.enter(name, [a, b, c, d, e].slice(0, fn.length));
      result = fn(a, b, c, d, e);
      this.options.trace?.exit(name, result);
    } catch (err) {
      throw this.crash(name, [a, b, c, d, e].slice(0, fn.length), err);
    } finally {
      this.depth--;
      [this.current, this.effective] = [saved, savedEffective];
    }
    if (outer) while (this.afterCall.length > 0) this.afterCall.shift()!();
    return typeof result === "number" ? result : 0;
  }

  private crash(call: string, args: number[], err: unknown): GuestCrashError {
    if (err instanceof GuestCrashError) return err;
    const reason =
      err instanceof ProcExit || err instanceof RestrictedCallError
        ? err.message
        : err instanceof WebAssembly.RuntimeError
          ? `wasm trap: ${err.message}`
          : `emulator host function threw: ${err instanceof Error ? err.stack : String(err)}`;
    const output = [...this.recentOutput];
    const aborts = output.filter((l) => /abort/i.test(l));
    const said = (aborts.length > 0 ? aborts : output.slice(-3)).join(" | ");
    this.afterCall.length = 0;
    const message = `${call}(${args.join(", ")}) crashed the VM: ${reason}${said ? `\n  guest output: ${said}` : ""}`;
    this.failure = new GuestCrashError(message, call, output, { cause: err });
    return this.failure;
  }
}

/**
 * Callbacks cpp-host treats as succeeding when a module does not export them (ContextBase's
 * onStart, validateConfiguration, onConfigure and onDone return true without entering the VM).
 */
const OPTIONAL_TRUE = new Set(["proxy_on_vm_start", "proxy_validate_configuration", "proxy_on_configure", "proxy_on_done"]);

/** Envoy refuses modules it cannot link or whose ABI version it does not know (WasmBase::load). */
function checkLinkable(module: WebAssembly.Module): void {
  const missing = listImports(module)
    .map((i) => `${i.module}.${i.name}`)
    .filter((i) => !HOST_IMPORTS.has(i));
  if (missing.length > 0) {
    throw new WasmLoadError(
      `Failed to load Wasm module due to a missing import: ${missing.join(", ")} ` +
        "(Envoy 1.40 links only the proxy-wasm ABI 0.2.1 host calls; FastEdge-only calls such as " +
        "proxy_dictionary_get, proxy_get_secret or proxy_kv_store_* do not exist there)",
    );
  }
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  if (!exported.has("proxy_abi_version_0_2_1") && !exported.has("proxy_abi_version_0_2_0")) {
    throw new WasmLoadError("Missing or unknown Proxy-Wasm ABI version (this emulator implements 0.2.x)");
  }
}
