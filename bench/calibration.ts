// `npm run bench -- --calibrate`: what Envoy charges a Wasm filter for each thing it does, so
// the cost of a real filter can be split into parts we control and parts we do not.
//
// The modules are written in WebAssembly text here (no SDK, no runtime, no allocator: `malloc`
// hands out one fixed scratch area), so nothing but Envoy's side of the ABI is measured:
// - cal-bare: exports only memory, malloc and the ABI version: Envoy's Wasm filter with no
//   callback at all (no VM entry per stream);
// - cal-callbacks: + the six per-stream callbacks a typical filter exports (context create,
//   request and response headers, done, log, delete), each returning at once;
// - cal-<call>-N: cal-callbacks making N of one host call in the request-headers callback;
// - cal-bare-x3: three cal-bare filters, each in its own VM (the fixed cost of a filter in a chain);
// - wasm-noop-x3: three of our no-op filters (the same, on our runtime: what a suite module saves).
// Each figure is a same-run ratio like every other; the per-call cost is the difference to
// cal-callbacks divided by N. The host calls are counted in the emulator like any scenario's.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import binaryen from "binaryen";
import { fixtureWasm, repoRoot, wasmHttpFilter } from "../test/support/index.js";
import type { Scenario } from "./scenarios.js";

/** Host calls per request in the cal-<call>-N modules. */
export const CALIBRATION_CALLS = 20;

// Data segment layout (offsets in linear memory).
const PATH_KEY = 16; // ":path"
const SET_KEY = 32; // "x-cal"
const SET_VALUE = 48; // "1"
const METRIC_NAME = 64; // "portico_calibration_total"
const PROPERTY = 96; // "source\0address"
const SHARED_KEY = 112; // "cal"
const METRIC_ID = 128; // u32 written by proxy_define_metric
const OUT_PTR = 136; // return pointer / size pairs and the u64 clock
const SCRATCH = 4096; // what malloc hands out: every host buffer lands here and is never read

/** The request-headers body of each host-call variant (one call; repeated N times). */
const CALLS: Record<string, string> = {
  clock: `(drop (call $now (i32.const ${OUT_PTR})))`,
  metric: `(drop (call $inc (i32.load (i32.const ${METRIC_ID})) (i64.const 1)))`,
  "get-header": `(drop (call $get (i32.const 0) (i32.const ${PATH_KEY}) (i32.const 5) (i32.const ${OUT_PTR}) (i32.const ${OUT_PTR + 4})))`,
  "get-pairs": `(drop (call $pairs (i32.const 0) (i32.const ${OUT_PTR}) (i32.const ${OUT_PTR + 4})))`,
  property: `(drop (call $property (i32.const ${PROPERTY}) (i32.const 14) (i32.const ${OUT_PTR}) (i32.const ${OUT_PTR + 4})))`,
  "shared-get": `(drop (call $sharedGet (i32.const ${SHARED_KEY}) (i32.const 3) (i32.const ${OUT_PTR}) (i32.const ${OUT_PTR + 4}) (i32.const ${OUT_PTR + 8})))`,
  // The request map read and written back unchanged: what replacing a map in one call costs
  // (less cal-get-pairs: the write alone). malloc's scratch holds the listing for the write.
  "pairs-roundtrip": `(drop (call $pairs (i32.const 0) (i32.const ${OUT_PTR}) (i32.const ${OUT_PTR + 4})))
    (drop (call $setPairs (i32.const 0) (i32.load (i32.const ${OUT_PTR})) (i32.load (i32.const ${OUT_PTR + 4}))))`,
  "set-header": `(drop (call $replace (i32.const 0) (i32.const ${SET_KEY}) (i32.const 5) (i32.const ${SET_VALUE}) (i32.const 1)))`,
};

function moduleText(callbacks: boolean, call?: string): string {
  const body = call ? Array(CALIBRATION_CALLS).fill(CALLS[call]).join("\n    ") : "";
  return `(module
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $inc (param i32 i64) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_header_map_pairs" (func $setPairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_replace_header_map_value" (func $replace (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $sharedGet (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_shared_data" (func $sharedSet (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const ${PATH_KEY}) ":path")
  (data (i32.const ${SET_KEY}) "x-cal")
  (data (i32.const ${SET_VALUE}) "1")
  (data (i32.const ${METRIC_NAME}) "portico_calibration_total")
  (data (i32.const ${PROPERTY}) "source\\00address")
  (data (i32.const ${SHARED_KEY}) "cal")
  (func (export "malloc") (param $size i32) (result i32) (i32.const ${SCRATCH}))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $define (i32.const 0) (i32.const ${METRIC_NAME}) (i32.const 25) (i32.const ${METRIC_ID})))
    (drop (call $sharedSet (i32.const ${SHARED_KEY}) (i32.const 3) (i32.const ${SET_VALUE}) (i32.const 1) (i32.const 0)))
    (i32.const 1))${
      callbacks
        ? `
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ${body}
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_done") (param i32) (result i32) (i32.const 1))
  (func (export "proxy_on_log") (param i32))
  (func (export "proxy_on_delete") (param i32))`
        : ""
    }
)`;
}

const calWasm = (name: string): string => join(repoRoot, "dist", "bench", `${name}.wasm`);

/** Writes the calibration modules to dist/bench/cal-*.wasm (milliseconds; done on every run). */
export function buildCalibrationModules(): void {
  const variants: [string, boolean, string?][] = [
    ["cal-bare", false],
    ["cal-callbacks", true],
    ...Object.keys(CALLS).map((c): [string, boolean, string] => [`cal-${c}-${CALIBRATION_CALLS}`, true, c]),
  ];
  for (const [name, callbacks, call] of variants) {
    const m = binaryen.parseText(moduleText(callbacks, call));
    if (!m.validate()) throw new Error(`calibration module ${name} does not validate`);
    const file = calWasm(name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, m.emitBinary());
    m.dispose();
  }
}

function calScenario(name: string, description: string, copies = 1, module = name): Scenario {
  const file = calWasm(module);
  const ids = Array.from({ length: copies }, (_, i) => (copies === 1 ? name : `${name}.${i + 1}`));
  return {
    name,
    family: "reference",
    impl: "reference",
    description,
    filters: ids.map((id) => wasmHttpFilter({ file, name: id, vmId: id, rootId: "cal" })),
    modules: ids.map(() => file),
    plugins: ids.map(() => ({ module: file, rootId: "cal" })),
    memoryGauges: [],
  };
}

/** Three of our no-op filters (fixture `noop`), each its own VM: what each extra filter of a chain costs on our runtime. */
function oursNoopX3(): Scenario {
  const file = fixtureWasm("noop");
  const ids = [1, 2, 3].map((i) => `wasm-noop-x3.${i}`);
  return {
    name: "wasm-noop-x3",
    family: "reference",
    impl: "reference",
    description: "three of our no-op filters, each its own VM: the per-filter price a suite module (one filter for a chain) would save",
    filters: ids.map((id) => wasmHttpFilter({ file, name: id, vmId: id, rootId: "noop" })),
    modules: ids.map(() => file),
    plugins: ids.map(() => ({ module: file, rootId: "noop" })),
    memoryGauges: [],
  };
}

export function calibrationScenarios(): Scenario[] {
  return [
    oursNoopX3(),
    calScenario("cal-bare", "a Wasm filter exporting no callback: Envoy's own per-stream cost of a Wasm filter"),
    calScenario("cal-bare-x3", "three cal-bare filters, each its own VM: the fixed cost a chain pays per filter", 3, "cal-bare"),
    calScenario("cal-callbacks", "cal-bare + the six per-stream callbacks (create, request/response headers, done, log, delete), empty"),
    ...Object.keys(CALLS).map((c) =>
      calScenario(`cal-${c}-${CALIBRATION_CALLS}`, `cal-callbacks + ${CALIBRATION_CALLS} x ${c} per request (request headers)`),
    ),
  ];
}
