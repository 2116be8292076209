// The proxy-wasm host emulator, checked against real guest code: the emu-* fixture modules
// (test/fixtures/wasm/emu-*) are AssemblyScript filters built with the plain SDK.
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import binaryen from "binaryen";
import {
  FilterDataStatus,
  FilterHeadersStatus,
  GuestCrashError,
  HOST_IMPORTS,
  LogLevel,
  MetricType,
  MetricsStore,
  ProxyWasmVm,
  SharedData,
  WasmLoadError,
  WasmResult,
  grpcServiceCluster,
  listImports,
  runHttpRequest,
  type HeaderList,
  type PluginOptions,
  type VmOptions,
} from "../../emulator/index.js";
import { fixtureWasm } from "../support/wasm-fixtures.js";

const GET = (path: string, extra: HeaderList = []): HeaderList => [
  [":method", "GET"],
  [":path", path],
  [":authority", "example.com"],
  [":scheme", "https"],
  ...extra,
];

let probeModule: WebAssembly.Module;
const wasm: Record<string, string> = {};
beforeAll(async () => {
  // Builds stale fixtures here, where a slow asc run cannot hit a test's timeout.
  for (const name of ["hello", "emu-probe", "emu-fastedge", "emu-route-cache-import", "emu-start-metric"]) wasm[name] = fixtureWasm(name);
  probeModule = await WebAssembly.compile(readFileSync(wasm["emu-probe"]!));
}, 180_000);

async function probe(vmOptions: VmOptions = {}, pluginOptions: PluginOptions = {}) {
  const vm = await ProxyWasmVm.load(probeModule, vmOptions);
  const plugin = vm.configurePlugin({ config: "cfg-1", rootId: "probe-root", name: "probe", ...pluginOptions });
  return { vm, plugin };
}

describe("loading modules like Envoy", () => {
  it("runs a plain SDK filter end to end", async () => {
    const vm = await ProxyWasmVm.load(wasm.hello!);
    const s = runHttpRequest(vm.configurePlugin(), { requestHeaders: GET("/") });
    expect(s.responseHeaders).toEqual([
      [":status", "200"],
      ["hello", "world"],
    ]);
  });

  it("refuses a module that imports a FastEdge-only host call, naming the import", async () => {
    const path = wasm["emu-fastedge"]!;
    expect(listImports(readFileSync(path)).map((i) => `${i.module}.${i.name}`)).toContain("env.proxy_dictionary_get");
    expect(HOST_IMPORTS.has("env.proxy_dictionary_get")).toBe(false);
    await expect(ProxyWasmVm.load(path)).rejects.toThrow(/missing import: env\.proxy_dictionary_get/);
  });

  it("refuses proxy_clear_route_cache, which Envoy only links for ABI 0.1.0 modules", async () => {
    await expect(ProxyWasmVm.load(wasm["emu-route-cache-import"]!)).rejects.toThrow(/env\.proxy_clear_route_cache/);
  });

  it("refuses a module that does not declare a proxy-wasm ABI version", async () => {
    const emptyModule = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
    await expect(ProxyWasmVm.load(emptyModule)).rejects.toThrow(WasmLoadError);
    await expect(ProxyWasmVm.load(emptyModule)).rejects.toThrow("Missing or unknown Proxy-Wasm ABI version");
  });

  it("fails the VM when top-level code calls a host function during _start", async () => {
    const load = ProxyWasmVm.load(wasm["emu-start-metric"]!);
    await expect(load).rejects.toThrow(GuestCrashError);
    await expect(ProxyWasmVm.load(wasm["emu-start-metric"]!)).rejects.toThrow(/_start.*restricted_callback: proxy_define_metric/s);
  });
});

describe("callbacks a module does not export", () => {
  it("answers like cpp-host: a module without vm_start, configure or done is started, configured and done", async () => {
    // Only the ABI version, memory and malloc: what bench/calibration.ts's cal-bare exports.
    const text = `(module (memory (export "memory") 1)
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_abi_version_0_2_1")))`;
    const m = binaryen.parseText(text);
    const vm = await ProxyWasmVm.load(m.emitBinary());
    m.dispose();
    const plugin = vm.configurePlugin({ config: "anything" });
    expect(plugin.ok).toBe(true);
    const s = runHttpRequest(plugin, { requestHeaders: GET("/"), responseHeaders: [[":status", "200"]] });
    expect(s.responseHeader(":status")).toBe("200");
    expect(vm.hasContext(s.contextId)).toBe(false);
  });
});

describe("plugins and root contexts", () => {
  it("serves the plugin configuration, root id and per-stream properties to the filter", async () => {
    const { plugin } = await probe();
    const s = runHttpRequest(plugin, { requestHeaders: GET("/x"), properties: { "source.address": "10.1.2.3:4567" } });
    expect(s.requestHeader("x-probe-config")).toBe("cfg-1");
    expect(s.requestHeader("x-probe-root-id")).toBe("probe-root");
    expect(s.requestHeader("x-probe-source")).toBe("10.1.2.3:4567");
  });

  it("reports a configuration the filter rejects and refuses to use that plugin", async () => {
    const { vm, plugin } = await probe({}, { config: "reject" });
    expect(plugin.vmStarted).toBe(true);
    expect(plugin.ok).toBe(false);
    expect(() => plugin.newHttpStream()).toThrow(/rejected/);
    expect(vm.configurePlugin({ config: "fine" }).ok).toBe(true);
  });

  it("passes vm_config to on_vm_start, whose refusal fails the plugin", async () => {
    const { plugin } = await probe({ vmConfig: "reject-start" });
    expect(plugin.vmStarted).toBe(false);
    expect(plugin.ok).toBe(false);
  });

  it("gives every plugin in a shared VM its own root context (the SDK 1.2.3 still keeps one)", async () => {
    const vm = await ProxyWasmVm.load(probeModule);
    const a = vm.configurePlugin({ config: "config-a", rootId: "a" });
    const b = vm.configurePlugin({ config: "config-b", rootId: "b" });
    expect(b.rootContextId).toBeGreaterThan(a.rootContextId);
    const sa = runHttpRequest(a, { requestHeaders: GET("/") });
    const sb = runHttpRequest(b, { requestHeaders: GET("/") });
    expect(sb.contextId).toBeGreaterThan(sa.contextId);
    expect([sa.requestHeader("x-probe-root-id"), sb.requestHeader("x-probe-root-id")]).toEqual(["a", "b"]);
    // SDK flaw: its single global root context was reconfigured by plugin b.
    expect(sa.requestHeader("x-probe-config")).toBe("config-b");
  });
});

describe("header maps", () => {
  it("lowercases names, returns the first value, replaces (or adds) and removes all entries", async () => {
    const { plugin } = await probe();
    const s = runHttpRequest(plugin, {
      requestHeaders: GET("/mutate", [
        ["X-Multi", "one"],
        ["x-multi", "two"],
        ["x-replace", "old"],
        ["x-remove", "a"],
        ["x-remove", "b"],
      ]),
    });
    expect(s.requestHeader("x-probe-first")).toBe("one");
    expect(s.requestHeader("x-probe-count")).toBe("9");
    expect(s.requestHeaders.filter(([k]) => k === "x-remove")).toEqual([]);
    // setCopy removes and appends, so replaced headers move to the end.
    expect(s.requestHeaders.slice(-3)).toEqual([
      ["x-replace", "new"],
      ["x-absent", "added"],
      ["x-upper", "v"],
    ]);
  });

  it("round-trips the whole map through get/set pairs", async () => {
    const { plugin } = await probe();
    const s = runHttpRequest(plugin, { requestHeaders: GET("/pairs", [["x-keep", "é ü"]]) });
    expect(s.requestHeader("x-keep")).toBe("é ü");
    const before = s.requestHeaders.findIndex(([k]) => k === "x-pairs");
    expect(s.requestHeader("x-pairs")).toBe(String(before));
  });

  it('headerBytes "latin1": header strings are bytes, passed to the guest and back unchanged', async () => {
    // The probe's /pairs reads every pair and writes them back (as bytes, through the SDK).
    const raw = await probe({ headerBytes: "latin1" });
    const utf8 = Buffer.from("é", "utf8").toString("latin1");
    const r = runHttpRequest(raw.plugin, {
      requestHeaders: GET("/pairs", [
        ["x-raw", "\xff"],
        ["x-utf8", utf8],
      ]),
    });
    expect(r.requestHeader("x-raw")).toBe("\xff");
    expect(r.requestHeader("x-utf8")).toBe(utf8);
  });

  it("hides request headers once the request went upstream, as Envoy does", async () => {
    const { plugin } = await probe();
    const s = runHttpRequest(plugin, { requestHeaders: GET("/late"), responseHeaders: [[":status", "201"]] });
    expect(s.responseHeader("x-probe-resp")).toBe("201");
    expect(s.responseHeader("x-probe-late-req")).toBe("");
  });

  it("clears the route cache on request header changes and on the clear_route_cache foreign function", async () => {
    const { plugin } = await probe();
    const plain = runHttpRequest(plugin, { requestHeaders: GET("/plain") });
    const route = runHttpRequest(plugin, { requestHeaders: GET("/route") });
    expect(plain.routeCacheCleared).toBe(true);
    expect(route.routeCacheClears).toBe(plain.routeCacheClears + 1);
    // Only the foreign function counts as the filter's own call.
    expect(plain.clearRouteCacheCalls).toBe(0);
    expect(route.clearRouteCacheCalls).toBe(1);
  });
});

describe("properties", () => {
  it("resolves NUL-separated paths; a dotted name is one unknown segment, as in Envoy", async () => {
    const { plugin } = await probe();
    const s = runHttpRequest(plugin, { requestHeaders: GET("/p?q=1") });
    expect(s.requestHeader("x-probe-path-prop")).toBe("/p?q=1");
    expect(s.requestHeader("x-probe-dotted-prop")).toBe("");
  });

  it("reads back what the filter stored with proxy_set_property", async () => {
    const { plugin } = await probe();
    const s = runHttpRequest(plugin, { requestHeaders: GET("/set-prop") });
    expect(s.requestHeader("x-prop-back")).toBe("on");
    expect(new TextDecoder().decode(s.properties.get("probe_flag"))).toBe("on");
  });
});

describe("local replies", () => {
  it("records the reply, stops the request and runs it through the filter's response path", async () => {
    const { plugin } = await probe();
    const s = plugin.newHttpStream();
    expect(s.sendRequestHeaders(GET("/deny"))).toBe(FilterHeadersStatus.StopIteration);
    expect(s.localResponse).toEqual({
      status: 403,
      details: "denied_by_probe",
      body: "nope",
      headers: [["x-deny-reason", "probe"]],
      grpcStatus: null,
    });
    expect(s.responseHeaders).toEqual([
      [":status", "403"],
      ["x-deny-reason", "probe"],
      ["content-length", "4"],
      ["content-type", "text/plain"],
      ["x-probe-resp", "403"],
      ["x-probe-late-req", ""],
    ]);
    expect(s.responseBody).toBe("nope");
    expect(s.paused).toBe(false);
    expect(s.sendRequestBody("ignored", { endOfStream: true })).toBeUndefined();
  });
});

describe("HTTP callouts", () => {
  const authRequest = GET("/auth", [["authorization", "Bearer t0k"]]);

  it("pauses the request until the callout answers, then resumes it from the callback", async () => {
    const { vm, plugin } = await probe();
    const s = plugin.newHttpStream();
    expect(s.sendRequestHeaders(authRequest, { endOfStream: true })).toBe(FilterHeadersStatus.StopAllIterationAndWatermark);
    expect(s.paused).toBe(true);
    const [call] = vm.pendingHttpCalls;
    expect(call).toMatchObject({ upstream: "auth-cluster", timeoutMs: 500, rootContextId: plugin.rootContextId });
    expect(call!.headers).toContainEqual(["x-token", "Bearer t0k"]);
    vm.respondToHttpCall(call!.token, { status: 200, body: "alice" });
    expect(s.paused).toBe(false);
    expect(s.continueCalls.request).toBe(1);
    expect(s.requestHeader("x-auth-user")).toBe("alice");
    expect(vm.pendingHttpCalls).toEqual([]);
  });

  it("lets the callback answer locally with the callout's status", async () => {
    const { plugin } = await probe();
    const s = runHttpRequest(plugin, { requestHeaders: authRequest, httpCalls: () => ({ status: 503 }) });
    expect(s.localResponse).toMatchObject({ status: 401, body: "denied:503", headers: [["x-auth-status", "503"]] });
    expect(s.responseHeader(":status")).toBe("401");
  });

  it("calls back with no response when the callout fails", async () => {
    const { plugin } = await probe();
    const s = runHttpRequest(plugin, { requestHeaders: authRequest, httpCalls: () => undefined });
    expect(s.localResponse?.body).toBe("denied:");
  });

  it("returns BadArgument for a cluster Envoy does not know, without pausing", async () => {
    const { vm, plugin } = await probe({ clusters: ["other"] });
    const s = runHttpRequest(plugin, { requestHeaders: authRequest });
    expect(s.requestHeader("x-http-call-result")).toBe(String(WasmResult.BadArgument));
    expect(vm.pendingHttpCalls).toEqual([]);
  });

  it("keeps StopIteration only with allowOnHeadersStopIteration", async () => {
    const { plugin } = await probe({ allowOnHeadersStopIteration: true });
    expect(plugin.newHttpStream().sendRequestHeaders(GET("/stop"))).toBe(FilterHeadersStatus.StopIteration);
  });

  it("holds request body behind a StopAll and delivers it after the resume", async () => {
    const { vm, plugin } = await probe();
    const s = plugin.newHttpStream();
    s.sendRequestHeaders(authRequest);
    expect(s.sendRequestBody("hello", { endOfStream: true })).toBeUndefined();
    expect(s.requestBody).toBe("");
    vm.respondToHttpCall(vm.pendingHttpCalls[0]!.token, { body: "bob" });
    expect(s.requestBody).toBe("HELLO");
  });

  it("reports a request the filter never resumes", async () => {
    const { plugin } = await probe();
    expect(() => runHttpRequest(plugin, { requestHeaders: authRequest })).toThrow(/paused the request.*auth-cluster/);
  });
});

describe("gRPC calls", () => {
  // The calls themselves (respondGrpc, failGrpc, cancel, unknown cluster) are exercised through
  // the rate-limit filter, the one module that makes them: filters/rate-limit/test/global.test.ts.
  it("take the cluster from the GrpcService proto, or the bytes as a name when they are not one", () => {
    // GrpcService{envoy_grpc{cluster_name: "rls"}}: 0a 05 (0a 03 "rls")
    expect(grpcServiceCluster(new Uint8Array([0x0a, 0x05, 0x0a, 0x03, 0x72, 0x6c, 0x73]))).toBe("rls");
    // Also with other fields around (timeout = 3, authority = EnvoyGrpc 2).
    const withMore = [0x1a, 0x02, 0x08, 0x01, 0x0a, 0x08, 0x12, 0x01, 0x61, 0x0a, 0x03, 0x72, 0x6c, 0x73];
    expect(grpcServiceCluster(new Uint8Array(withMore))).toBe("rls");
    expect(grpcServiceCluster(new TextEncoder().encode("ratelimit"))).toBe("ratelimit");
    // Truncated: not a message, so a name (Envoy's fallback), whatever it reads as.
    expect(grpcServiceCluster(new Uint8Array([0x0a, 0x05, 0x0a]))).toBe("\n\u0005\n");
  });
});

describe("bodies", () => {
  it("ends a request with trailers, which flush a body the filter kept buffering", async () => {
    const { plugin } = await probe();
    const s = runHttpRequest(plugin, {
      requestHeaders: GET("/t"),
      requestBody: "q",
      requestTrailers: [["x-req-trailer", "1"]],
      responseHeaders: [[":status", "200"]],
      responseBody: "payload",
      responseTrailers: [["grpc-status", "0"]],
    });
    // The probe only rewrites on end_of_stream, which a body followed by trailers never carries.
    expect(s.requestBody).toBe("q");
    expect(s.requestTrailers).toEqual([["x-req-trailer", "1"]]);
    expect(s.responseBody).toBe("payload");
    expect(s.responseTrailers).toEqual([["grpc-status", "0"]]);
  });

  it("buffers chunks while the filter asks for it and forwards what it rewrote", async () => {
    const { plugin } = await probe();
    const s = plugin.newHttpStream();
    s.sendRequestHeaders(GET("/upload"));
    expect(s.sendRequestBody("hel")).toBe(FilterDataStatus.StopIterationAndBuffer);
    expect(s.sendRequestBody("lo wörld", { endOfStream: true })).toBe(FilterDataStatus.Continue);
    expect(s.requestBody).toBe("HELLO WÖRLD");
  });
});

describe("shared data", () => {
  it("implements compare-and-swap across requests and across VMs sharing the store", async () => {
    const shared = new SharedData();
    const { plugin } = await probe({ sharedData: shared });
    const first = runHttpRequest(plugin, { requestHeaders: GET("/shared") });
    expect(first.requestHeader("x-hits")).toBe("1");
    // Envoy ignores the cas of a set on a key that does not exist yet.
    expect(first.requestHeader("x-cas-results")).toBe(`${WasmResult.Ok},${WasmResult.Ok}`);
    const second = runHttpRequest(plugin, { requestHeaders: GET("/shared") });
    expect(second.requestHeader("x-hits")).toBe("2");
    expect(second.requestHeader("x-cas-results")).toBe(`${WasmResult.CasMismatch},${WasmResult.Ok}`);
    const worker2 = await probe({ sharedData: shared });
    expect(runHttpRequest(worker2.plugin, { requestHeaders: GET("/shared") }).requestHeader("x-hits")).toBe("3");
    const otherVmId = await probe({ sharedData: shared, vmId: "other" });
    expect(runHttpRequest(otherVmId.plugin, { requestHeaders: GET("/shared") }).requestHeader("x-hits")).toBe("1");
    expect(shared.getString("hits")).toBe("3");
  });

  it("has Envoy's store semantics: NotFound, unconditional cas 0, mismatch, queues", () => {
    const d = new SharedData();
    expect(d.get("k")).toBeUndefined();
    expect(d.set("k", "v1")).toBe(WasmResult.Ok);
    const cas = d.get("k")!.cas;
    expect(d.set("k", "v2", cas + 1)).toBe(WasmResult.CasMismatch);
    expect(d.set("k", "v2", cas)).toBe(WasmResult.Ok);
    expect(d.set("k", "v3", 0)).toBe(WasmResult.Ok);
    expect(d.getString("k")).toBe("v3");
    const ready: number[] = [];
    const token = d.registerQueue("", "q", (t) => ready.push(t));
    expect(d.resolveQueue("", "q")).toBe(token);
    expect(d.dequeue(token)).toBe(WasmResult.Empty);
    expect(d.enqueue(token + 1, "x")).toBe(WasmResult.NotFound);
    d.enqueue(token, "item");
    expect(ready).toEqual([token]);
    expect(new TextDecoder().decode(d.dequeue(token) as Uint8Array)).toBe("item");
  });
});

describe("shared queues", () => {
  it("notifies the registering root context after the enqueuing call returns", async () => {
    const shared = new SharedData();
    const consumer = await probe({ sharedData: shared });
    const producer = await probe({ sharedData: shared });
    const s = runHttpRequest(producer.plugin, { requestHeaders: GET("/enqueue") });
    expect(s.requestHeader("x-enqueue")).toBe(String(WasmResult.Ok));
    expect(shared.getString("dequeued")).toBe("from /enqueue");
    expect(consumer.vm.failure).toBeUndefined();
  });
});

describe("metrics", () => {
  it("keeps counters, gauges and histogram samples, aggregated across VMs sharing a store", async () => {
    const store = new MetricsStore();
    const w1 = await probe({ metrics: store });
    const w2 = await probe({ metrics: store });
    runHttpRequest(w1.plugin, { requestHeaders: GET("/a") });
    runHttpRequest(w2.plugin, { requestHeaders: GET("/bbb") });
    const open = w1.plugin.newHttpStream();
    open.sendRequestHeaders(GET("/c"));
    expect(w1.vm.metric("probe_requests")).toBe(3);
    expect(w1.vm.metric("probe_inflight")).toBe(1);
    open.complete();
    expect(w2.vm.metrics()).toMatchObject({
      probe_inflight: { type: MetricType.Gauge, value: 0 },
      probe_path_bytes: { type: MetricType.Histogram, samples: [2, 4, 2] },
    });
  });
});

describe("time", () => {
  it("fires ticks per elapsed period on the emulated clock the filter reads", async () => {
    const start = Date.UTC(2030, 5, 1);
    const { vm, plugin } = await probe({ startTime: start, sharedData: new SharedData() });
    expect(plugin.tickPeriodMs).toBe(1000);
    vm.advanceTime(3500);
    expect(vm.metric("probe_ticks")).toBe(3);
    expect(vm.sharedData.getString("last-tick")).toBe(String(BigInt(start + 3000) * 1_000_000n));
    const s = runHttpRequest(plugin, { requestHeaders: GET("/time") });
    expect(s.requestHeader("x-time")).toBe(String(BigInt(start + 3500) * 1_000_000n));
  });
});

describe("logs, crashes and lifecycle", () => {
  it("captures proxy_log at or above the configured level", async () => {
    const info = await probe();
    runHttpRequest(info.plugin, { requestHeaders: GET("/log") });
    expect(info.vm.logs).toContainEqual(expect.objectContaining({ level: LogLevel.Info, message: "probe says hi" }));
    const warn = await probe({ logLevel: LogLevel.Warn });
    runHttpRequest(warn.plugin, { requestHeaders: GET("/log") });
    expect(warn.vm.logs).toEqual([]);
  });

  it("surfaces a guest abort with its message and fails the VM", async () => {
    const { vm, plugin } = await probe();
    const s = plugin.newHttpStream();
    expect(() => s.sendRequestHeaders(GET("/crash"))).toThrow(/proxy_on_request_headers\(\d+, 4, 0\) crashed.*probe crash requested/s);
    expect(vm.failure).toBeInstanceOf(GuestCrashError);
    // Our modules report aborts through proxy_log (assembly/lib/abort.ts), at critical level.
    expect(vm.logs).toContainEqual(
      expect.objectContaining({ level: LogLevel.Critical, message: expect.stringContaining("abort: probe crash requested") }),
    );
    expect(() => runHttpRequest(plugin, { requestHeaders: GET("/") })).toThrow(/VM already failed/);
  });

  it("treats proc_exit as a crash", async () => {
    const { plugin } = await probe();
    expect(() => runHttpRequest(plugin, { requestHeaders: GET("/exit") })).toThrow(/proc_exit\(3\)/);
  });

  it("runs on_log with the final maps before on_done and on_delete", async () => {
    const { vm, plugin } = await probe();
    const s = runHttpRequest(plugin, { requestHeaders: GET("/done"), responseHeaders: [[":status", "204"]] });
    expect(s.completed).toBe(true);
    expect(vm.sharedData.getString("last-log")).toBe("/done 204");
    expect(vm.hasContext(s.contextId)).toBe(false);
  });

  it("exposes the SDK 1.2.3 crash on an empty buffer read (Envoy leaves the out-pointers untouched)", async () => {
    const { plugin } = await probe();
    expect(() => runHttpRequest(plugin, { requestHeaders: GET("/empty-read") })).toThrow(/Object is not pinned/);
  });

  it("exposes the SDK 1.2.3 crash when Envoy removes a plugin (root context missing from its map)", async () => {
    const { plugin } = await probe();
    expect(() => plugin.shutdown()).toThrow(/proxy_on_done.*Key does not exist/s);
  });

  it("keeps linear memory flat over many requests", async () => {
    const { vm, plugin } = await probe();
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const s = plugin.newHttpStream();
        s.sendRequestHeaders(GET("/steady"), { endOfStream: true });
        s.sendResponseHeaders([[":status", "200"]], { endOfStream: true });
        s.complete();
      }
    };
    run(2_000);
    const warm = vm.memoryBytes();
    run(50_000);
    expect(vm.memoryBytes()).toBe(warm);
    expect(vm.metric("probe_inflight")).toBe(0);
  }, 60_000);
});
