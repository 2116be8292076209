// Proves, in a real Envoy 1.40, each part of the proxy-wasm ABI our runtime layer relies on,
// using the test-only runtime-probe module (test/fixtures/wasm/runtime-probe): local replies,
// outbound HTTP calls that pause and resume a request, timers, shared-data compare-and-swap
// across worker threads, metrics, log levels through proxy_log, the clear_route_cache foreign
// function, modules whose imports Envoy refuses, and flat VM memory under load.
import { beforeAll, describe, expect, it } from "vitest";
import { GuestCrashError, LogLevel, ProxyWasmVm, runHttpRequest } from "../../emulator/index.js";
import {
  bootstrap,
  echoedHeader,
  filterWasm,
  fixtureWasm,
  httpListener,
  parseEcho,
  pollUntil,
  request,
  runWrk,
  staticCluster,
  startEnvoyExpectFailure,
  useEchoUpstream,
  useEnvoy,
  wasmHttpFilter,
  type Envoy,
} from "../support/index.js";

const envoy = useEnvoy("all");
const upstream = useEchoUpstream("all");
let e: Envoy;

/** An Envoy with the runtime-probe module on one listener, its callouts going to `port`. */
function probeConfig(port: number, tickMs: number) {
  return bootstrap({
    listeners: [
      httpListener({
        name: "probe",
        httpFilters: [
          wasmHttpFilter({
            file: fixtureWasm("runtime-probe"),
            name: "probe",
            rootId: "runtime-probe",
            configuration: { cluster: "probe_upstream", tick_ms: tickMs },
          }),
        ],
      }),
    ],
    clusters: [staticCluster("upstream", port), staticCluster("probe_upstream", port)],
  });
}

beforeAll(async () => {
  const up = await upstream();
  e = await envoy({
    name: "runtime-abi",
    concurrency: 2,
    config: probeConfig(up.port, 20),
  });
});

describe("proxy-wasm ABI in Envoy 1.40 through Portico's runtime layer", () => {
  it("sends local replies with status, body and headers", async () => {
    const res = await request(e.url("/local"));
    expect(res.status).toBe(418);
    expect(res.body).toBe("short and stout");
    expect(res.header("x-probe")).toBe("teapot");
  });

  it("makes an outbound HTTP call, pauses the request and resumes it with the answer", async () => {
    const res = await request(e.url("/call"));
    expect(res.status).toBe(200);
    const seen = parseEcho(res.body);
    expect(seen.path).toBe("/call");
    expect(echoedHeader(seen, "x-call-status")).toEqual(["200"]);
    expect(Number(echoedHeader(seen, "x-call-body-bytes")[0])).toBeGreaterThan(10);
    expect(echoedHeader(seen, "x-call-body")[0]).toContain('"path":"/from-wasm"');
    expect(Number(echoedHeader(seen, "x-call-headers")[0])).toBeGreaterThan(2);
  });

  it("fires timers on the root context", async () => {
    const first = Number((await request(e.url("/ticks"))).body);
    const later = await pollUntil(
      async () => Number((await request(e.url("/ticks"))).body),
      (n) => n >= first + 3,
      {
        timeoutMs: 10_000,
        intervalMs: 20,
        what: "ticks to advance",
      },
    );
    expect(later).toBeGreaterThanOrEqual(first + 3);
    const stats = await e.stats("portico\\.probe\\.ticks");
    expect(stats.get("wasmcustom.portico.probe.ticks")).toBeGreaterThan(0);
  });

  it("increments shared data with compare-and-swap across both workers without losing an update", async () => {
    // The first write creates the key (creation itself cannot be compare-and-swapped).
    const start = Number((await request(e.url("/cas"))).body);
    const N = 400;
    const bodies: number[] = [];
    // Many parallel connections so both worker threads serve requests at the same time.
    const batches = 8;
    await Promise.all(
      Array.from({ length: batches }, async () => {
        for (let i = 0; i < N / batches; i++) bodies.push(Number((await request(e.url("/cas"))).body));
      }),
    );
    const sorted = [...bodies].sort((a, b) => a - b);
    // Every increment returned a distinct value and together they are exactly start+1..start+N.
    expect(sorted).toEqual(Array.from({ length: N }, (_, i) => start + 1 + i));
    const workers = await e.stats("server\\.concurrency");
    expect(workers.get("server.concurrency")).toBe(2);
  });

  it("refuses a shared-data write whose compare-and-swap value is stale", async () => {
    // The probe writes with the cas it just read (accepted), then again with that same cas,
    // which the first write made stale. A host that ignored cas would answer "Ok Ok".
    const res = await request(e.url("/cas-stale"));
    expect(res.status).toBe(200);
    expect(res.body).toBe("Ok CasMismatch");
  });

  it("provides the clear_route_cache foreign function the runtime's clearRouteCache() calls", async () => {
    // Envoy 1.40 does not link proxy_clear_route_cache for ABI 0.2.1 modules (see below); the
    // foreign function is the replacement, and a host without it answers NotFound ("refused").
    const res = await request(e.url("/clear-route-cache"));
    expect(res.status).toBe(200);
    expect(res.body).toBe("Ok");
  });

  it("answers NotFound to Portico's portico_declare_clusters foreign function, silently", async () => {
    // Only Portico's emulator (the control plane's config check) implements it; in Envoy the
    // runtime's declareClusters() gets NotFound ("refused"), the plugin still configures, and
    // nothing about it reaches Envoy's log.
    const res = await request(e.url("/declared"));
    expect(res.status).toBe(200);
    expect(res.body).toBe("refused");
    expect(
      e
        .logs()
        .split("\n")
        .filter((l) => /portico_declare_clusters|foreign/i.test(l)),
    ).toEqual([]);
  });

  it("exports metrics defined by the module", async () => {
    const prom = await e.promStats();
    expect(prom).toMatch(/^portico_probe_requests_total\{\} [1-9]\d*$/m);
    // Defined and exported; how many retries the CAS test caused depends on thread timing.
    expect(prom).toMatch(/^portico_probe_cas_retries_total\{\} \d+$/m);
  });

  it("reads a counter back through proxy_get_metric, with the value Envoy's stats show", async () => {
    // Requests run one at a time here; each increments requests_total before the probe reads it.
    const first = Number((await request(e.url("/metric"))).body);
    const second = Number((await request(e.url("/metric"))).body);
    expect(first).toBeGreaterThan(0);
    expect(second).toBe(first + 1);
    const stats = await e.stats("portico\\.probe\\.requests_total");
    expect(stats.get("wasmcustom.portico.probe.requests_total")).toBe(second);
  });

  it("logs through proxy_log at the right levels", async () => {
    await request(e.url("/log"));
    await e.waitForLog(/\[critical\]\[wasm\].*probe critical/);
    const logs = e.logs();
    expect(logs).toMatch(/\[info\]\[wasm\].*probe info/);
    expect(logs).toMatch(/\[warning\]\[wasm\].*probe warn/);
    expect(logs).toMatch(/\[error\]\[wasm\].*probe error/);
    // Envoy runs at info: the debug and trace lines are filtered by Envoy, as they should be.
    expect(logs).not.toContain("probe debug");
    expect(logs).not.toContain("probe trace");
  });
});

describe("modules importing host calls Envoy 1.40 does not provide", () => {
  // The emulator refuses the same modules (test/unit/emulator.test.ts); this is the proof that
  // Envoy does too, and says so in its log.
  const cases = [
    { fixture: "emu-fastedge", rootId: "emu-fastedge", missing: "proxy_dictionary_get" },
    { fixture: "emu-route-cache-import", rootId: "emu-route-cache-import", missing: "proxy_clear_route_cache" },
  ];
  for (const c of cases) {
    it(`refuses ${c.fixture} at load, naming ${c.missing}`, async () => {
      const failure = await startEnvoyExpectFailure(
        bootstrap({
          listeners: [
            httpListener({
              name: "refused",
              httpFilters: [wasmHttpFilter({ file: fixtureWasm(c.fixture), name: c.fixture, rootId: c.rootId })],
              directResponse: { status: 200 },
            }),
          ],
        }),
        { name: `refuse-${c.fixture}` },
      );
      expect(failure.code).not.toBe(0);
      // What Envoy 1.40 prints (wasm_vm.cc), then "Unable to create Wasm plugin <name>".
      const line = failure.logs.split("\n").find((l) => l.includes("Failed to load Wasm module due to a missing import"));
      expect(line).toMatch(/\[error\]\[wasm\]/);
      expect(line).toMatch(new RegExp(`missing import: env\\.${c.missing}$`));
      expect(failure.logs).toContain(`Unable to create Wasm plugin ${c.fixture}`);
    });
  }
});

describe("emulator behaviour the control plane relies on, in Envoy", () => {
  // The control plane refuses a user module whose top-level code (run inside _start) makes a
  // host call other than logging/args/clock/random, on the emulator's word (emulator/host-calls.ts
  // guard, RestrictedCallError; test/unit/emulator.test.ts). This is Envoy's word on the same module.
  it("refuses a module that defines a metric while it starts (_start), as the emulator does", async () => {
    await expect(ProxyWasmVm.load(fixtureWasm("emu-start-metric")), "the emulator").rejects.toThrow(
      /_start.*restricted_callback: proxy_define_metric/s,
    );
    const failure = await startEnvoyExpectFailure(
      bootstrap({
        listeners: [
          httpListener({
            name: "refused",
            httpFilters: [wasmHttpFilter({ file: fixtureWasm("emu-start-metric"), name: "emu-start-metric", rootId: "emu-start-metric" })],
            directResponse: { status: 200 },
          }),
        ],
      }),
      { name: "refuse-emu-start-metric" },
    );
    expect(failure.code).not.toBe(0);
    // proxy-wasm-cpp-host traps the call (wasm_vm.cc), then Envoy refuses the plugin.
    expect(failure.logs).toMatch(/\[error\]\[wasm\].*Function: _start failed: Uncaught Error: restricted_callback$/m);
    expect(failure.logs).toContain("Unable to create Wasm plugin emu-start-metric");
  });

  // The emulator reports a guest abort as a crash, with our abort handler's critical log line
  // (test/unit/runtime.test.ts); an operator reads the same line in Envoy's log.
  it("logs an AssemblyScript abort at critical with its message and place, and fails the request", async () => {
    const up = await upstream({ record: false });
    const crash = await envoy({
      name: "abort",
      concurrency: 1,
      config: probeConfig(up.port, 60_000),
    });
    // The emulator's account: a crash, and one critical line.
    const vm = await ProxyWasmVm.load(fixtureWasm("runtime-probe"));
    const p = vm.configurePlugin({ config: JSON.stringify({ cluster: "probe_upstream", tick_ms: 60_000 }), rootId: "runtime-probe" });
    expect(() =>
      runHttpRequest(p, {
        requestHeaders: [
          [":method", "GET"],
          [":path", "/abort"],
          [":authority", "a"],
        ],
      }),
    ).toThrow(GuestCrashError);
    const emulated = vm.logs.filter((l) => l.level === LogLevel.Critical).map((l) => l.message);
    expect(emulated).toEqual([expect.stringMatching(/^abort: probe abort at test\/fixtures\/wasm\/runtime-probe\/index\.ts:\d+:\d+$/)]);
    // Envoy's: the request fails, and the same line is in its log at critical.
    const res = await request(crash.url("/abort"));
    expect(res.status).toBe(503);
    await crash.waitForLog(/abort: probe abort/);
    const lines = crash
      .logs()
      .split("\n")
      .filter((l) => l.includes("abort: probe abort"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\[critical\]\[wasm\]/);
    expect(lines[0]!.endsWith(`probe: ${emulated[0]}`), lines[0]).toBe(true);
  });
});

describe("Wasm VM memory in Envoy under load", () => {
  it("header-rewrite's VM memory stays flat over a sustained wrk run", async () => {
    const up = await upstream({ record: false });
    const hr = await envoy({
      name: "memory",
      concurrency: 1, // one VM, so the gauge always describes the same VM
      config: bootstrap({
        listeners: [
          httpListener({
            name: "hr",
            httpFilters: [
              wasmHttpFilter({
                file: filterWasm("header-rewrite"),
                name: "hr",
                rootId: "header-rewrite",
                configuration: {
                  stat_prefix: "mem",
                  rules: [
                    {
                      match: { path: { prefix: "/" } },
                      request: {
                        set: { "x-a": "${request.header.user-agent}-${request.path}", "x-ip": "${source.ip}" },
                        add: { "x-b": "b" },
                        remove: ["x-c"],
                      },
                      response: { set: { "x-r": "${request.method} ${response.header.content-type}" } },
                    },
                  ],
                },
              }),
            ],
          }),
        ],
        clusters: [staticCluster("upstream", up.port)],
      }),
    });
    const gauge = async () => await e2eGauge(hr, "wasmcustom.portico.header_rewrite.mem.vm_memory_bytes");
    const warm = await runWrk({ url: hr.url("/warm/up?x=1"), connections: 8, durationSec: 2 });
    expect(warm.errors.status + warm.errors.connect).toBe(0);
    const afterWarm = await gauge();
    const load = await runWrk({ url: hr.url("/some/path?q=1"), connections: 8, durationSec: 5 });
    const afterLoad = await gauge();
    console.info(
      `header-rewrite VM memory: ${afterWarm} B after ${warm.requests} warm-up requests, ${afterLoad} B after ${load.requests} more`,
    );
    expect(load.requests).toBeGreaterThan(5_000);
    expect(load.errors.status + load.errors.connect + load.errors.read).toBe(0);
    expect(afterWarm).toBeGreaterThan(0);
    // Flat: at most one more 64 KiB page than after warm-up (the GC's threshold may move once).
    expect(afterLoad - afterWarm).toBeLessThanOrEqual(65536);
  });
});

async function e2eGauge(env: Envoy, name: string): Promise<number> {
  const v = await env.stat(name);
  if (v === undefined) throw new Error(`no gauge ${name}`);
  return v;
}
