// What `npm run bench` measures. Each scenario is one listener of the Envoy under test (all
// proxying to the same upstream), so every scenario shares process, workers and upstream, and
// the baseline is measured in the same run, interleaved with the others.
import { filterWasm, fixtureWasm, wasmHttpFilter, type Json } from "../test/support/index.js";

export interface Scenario {
  name: string;
  description: string;
  /** HTTP filters before the router; null means "no Envoy at all: wrk hits the upstream". */
  filters: Json[] | null;
  /** Built Wasm modules this scenario loads (for the size column). */
  modules: string[];
  /** Gauge (in /stats) with the VM's linear memory, for Wasm scenarios. */
  memoryGauge?: string;
  baseline?: boolean;
}

export const HEADER_REWRITE_REALISTIC = {
  stat_prefix: "bench",
  rules: [
    {
      name: "every-request",
      request: {
        remove: ["x-internal-debug"],
        set: { "x-gateway": "portico", "x-client-ip": "${source.ip}", "x-forwarded-path": "${request.path}" },
      },
      response: { set: { "x-served-by": "portico" }, remove: ["x-envoy-upstream-service-time"] },
    },
    {
      name: "api",
      match: { path: { prefix: "/api/" }, methods: ["GET", "POST"] },
      request: { rename: { "x-api-key": "x-legacy-key" }, add: { "x-api-version": "2" } },
    },
    {
      name: "debug",
      match: { headers: [{ name: "x-debug", exact: "1" }] },
      response: { set: { "x-debug-path": "${request.path}" } },
    },
  ],
};

export function scenarios(): Scenario[] {
  return [
    { name: "upstream-direct", description: "wrk straight to the upstream (no proxy)", filters: null, modules: [] },
    { name: "envoy-baseline", description: "Envoy, router only", filters: [], modules: [], baseline: true },
    {
      name: "wasm-noop",
      description: "Envoy + a Wasm filter that does nothing (the fixed cost of any Wasm filter)",
      filters: [wasmHttpFilter({ file: fixtureWasm("noop"), name: "noop", rootId: "noop" })],
      modules: [],
    },
    {
      name: "header-rewrite",
      description: "Envoy + header-rewrite (3 rules: set/remove/rename/add, templates, response set)",
      filters: [wasmHttpFilter({ file: filterWasm("header-rewrite"), name: "hr", rootId: "header-rewrite", configuration: HEADER_REWRITE_REALISTIC })],
      modules: ["header-rewrite"],
      memoryGauge: "wasmcustom.portico.header_rewrite.bench.vm_memory_bytes",
    },
  ];
}

/** The request every scenario gets: a path under /api/ so conditional rules match. */
export const BENCH_PATH = "/api/users/42?view=full";
export const BENCH_HEADERS: [string, string][] = [["x-api-key", "k-123"], ["user-agent", "wrk"]];
