// Portico's runtime layer (assembly/runtime) in the emulator: what every built module imports,
// how a crash is reported, and logging through proxy_log.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  GuestCrashError,
  HOST_IMPORTS,
  LogLevel,
  ProxyWasmVm,
  listImports,
  runHttpRequest,
  type HeaderList,
} from "../../emulator/index.js";
import { builtFilter, fixtureWasm } from "../support/wasm-fixtures.js";
import { repoRoot } from "../support/paths.js";

const FILTERS = readdirSync(join(repoRoot, "filters"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const GET = (path: string): HeaderList => [
  [":method", "GET"],
  [":path", path],
  [":authority", "a"],
];

let probe: string;
beforeAll(() => {
  probe = fixtureWasm("runtime-probe");
  for (const f of FILTERS) builtFilter(f);
}, 300_000);

describe("imports of built modules", () => {
  it("finds the suite's filters", () => {
    expect(FILTERS).toContain("header-rewrite");
  });

  for (const name of FILTERS) {
    it(`${name}.wasm imports only proxy-wasm ABI 0.2.1 calls Envoy provides, plus WASI fd_write/proc_exit`, () => {
      const imports = listImports(readFileSync(builtFilter(name))).map((i) => `${i.module}.${i.name}`);
      for (const imp of imports) {
        expect(HOST_IMPORTS.has(imp), `${imp} is not provided by Envoy 1.40`).toBe(true);
        expect(
          imp.startsWith("env.proxy_") || imp === "wasi_snapshot_preview1.fd_write" || imp === "wasi_snapshot_preview1.proc_exit",
          imp,
        ).toBe(true);
      }
      expect(imports).not.toContain("env.proxy_clear_route_cache");
    });
  }
});

describe("crash reporting and logging", () => {
  it("reports an AssemblyScript abort through proxy_log at critical level, with the message and place", async () => {
    const vm = await ProxyWasmVm.load(probe);
    const p = vm.configurePlugin({ config: JSON.stringify({ cluster: "c" }), rootId: "runtime-probe" });
    expect(p.ok).toBe(true);
    expect(() => runHttpRequest(p, { requestHeaders: GET("/abort") })).toThrow(GuestCrashError);
    const critical = vm.logs.filter((l) => l.level === LogLevel.Critical).map((l) => l.message);
    expect(critical).toHaveLength(1);
    expect(critical[0]).toMatch(/^abort: probe abort at test\/fixtures\/wasm\/runtime-probe\/index\.ts:\d+:\d+$/);
  });

  it("logs each level through proxy_log, none through stdout", async () => {
    const vm = await ProxyWasmVm.load(probe, { logLevel: LogLevel.Trace });
    const p = vm.configurePlugin({ config: JSON.stringify({ cluster: "c" }), rootId: "runtime-probe" });
    runHttpRequest(p, { requestHeaders: GET("/log") });
    const probeLogs = vm.logs.filter((l) => l.message.startsWith("probe ")).map((l) => [l.level, l.message]);
    expect(probeLogs).toEqual([
      [LogLevel.Trace, "probe trace"],
      [LogLevel.Debug, "probe debug"],
      [LogLevel.Info, "probe info"],
      [LogLevel.Warn, "probe warn"],
      [LogLevel.Error, "probe error"],
      [LogLevel.Critical, "probe critical"],
    ]);
    expect(vm.stdout).toBe("");
  });

  it("rejects a bad plugin configuration with the field named", async () => {
    const vm = await ProxyWasmVm.load(probe);
    const p = vm.configurePlugin({ config: JSON.stringify({ clusterr: "c" }), rootId: "runtime-probe" });
    expect(p.ok).toBe(false);
    expect(vm.logs.map((l) => l.message)).toContain("runtime-probe: invalid configuration: cluster: is required; clusterr: unknown field");
  });
});

// The same probe endpoints test/e2e/runtime-abi.test.ts runs in Envoy, here in the emulator.
describe("runtime layer calls the emulator answers like Envoy", () => {
  it("a set with a stale compare-and-swap value is refused (CasMismatch) after the fresh one succeeded", async () => {
    const vm = await ProxyWasmVm.load(probe);
    const p = vm.configurePlugin({ config: JSON.stringify({ cluster: "c" }), rootId: "runtime-probe" });
    const s = runHttpRequest(p, { requestHeaders: GET("/cas-stale") });
    expect(s.localResponse?.body).toBe("Ok CasMismatch");
  });

  it("reads a counter back through proxy_get_metric", async () => {
    const vm = await ProxyWasmVm.load(probe);
    const p = vm.configurePlugin({ config: JSON.stringify({ cluster: "c" }), rootId: "runtime-probe" });
    // Each request increments requests_total before the probe reads it.
    expect(runHttpRequest(p, { requestHeaders: GET("/metric") }).localResponse?.body).toBe("1");
    expect(runHttpRequest(p, { requestHeaders: GET("/metric") }).localResponse?.body).toBe("2");
  });

  it("declareClusters() reaches the emulator's portico_declare_clusters foreign function", async () => {
    const vm = await ProxyWasmVm.load(probe);
    const p = vm.configurePlugin({ config: JSON.stringify({ cluster: "c" }), rootId: "runtime-probe" });
    expect(p.declaredClusters).toEqual([{ name: "c", path: "cluster" }]);
    expect(runHttpRequest(p, { requestHeaders: GET("/declared") }).localResponse?.body).toBe("Ok");
  });

  it("clearRouteCache() reaches the clear_route_cache foreign function and reports Ok", async () => {
    const vm = await ProxyWasmVm.load(probe);
    const p = vm.configurePlugin({ config: JSON.stringify({ cluster: "c" }), rootId: "runtime-probe" });
    const s = runHttpRequest(p, { requestHeaders: GET("/clear-route-cache") });
    expect(s.localResponse?.body).toBe("Ok");
    expect(s.clearRouteCacheCalls).toBe(1);
  });
});
