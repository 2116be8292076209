// `npm run bench -- --floor`: the ABI floor of each of our filters. For a scenario of ours, each
// filter's steady-state bench request is recorded in the emulator (bench/replay-record.ts) and
// replayed by a module written in WebAssembly text, like bench/calibration.ts: it exports the same
// proxy_on_* callbacks as the real module, each making exactly the recorded host calls with the
// recorded bytes (constants in data segments) and returning the recorded value; no logic, no
// runtime, `malloc` hands out one fixed scratch area. What such a module costs in Envoy is what
// ANY module doing our filter's job through the proxy-wasm ABI must cost at least:
//   ours = floor + what our code (AssemblyScript runtime + filter logic) costs in the VM;
//   floor = native + what the ABI costs.
// Replay rules where the real run had state: proxy_on_configure defines the same metrics (names,
// types, in the same order) and sets the same tick period, and writes every shared-data key the
// request reads with the value it read, so proxy_get_shared_data finds data as in the real run;
// a CAS write is replayed with cas 0 (unconditional: the replay has read no CAS to compare).
// Callbacks the bench request does not reach (ticks, callout answers, bodies of a bodiless
// request) are exported empty, returning 0 (Continue), or 1 for proxy_on_done.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import binaryen from "binaryen";
import { repoRoot, wasmHttpFilter } from "../test/support/index.js";
import { benchRequest } from "./cost.js";
import { type FilterRecording, REPLAYABLE, type RecordedCall, type RecordedCallback, recordRequest } from "./replay-record.js";
import { benchHeaders, type Scenario } from "./scenarios.js";

/** Our scenarios that get a floor row, and the row's name. */
export const FLOOR_ROWS: Readonly<Record<string, string>> = {
  "header-rewrite": "floor-header-rewrite",
  "rate-limit": "floor-rate-limit",
  "jwt-auth-rs256": "floor-jwt-auth-rs256",
  "chain-ours": "floor-chain",
  // The same chain in one suite filter: the floor of one Wasm filter making the chain's host calls.
  "chain-suite": "floor-chain-suite",
};

// Memory layout of a replay module (offsets in linear memory).
const OUT = 16; // out-parameter slots, 8 bytes each (the clock writes a u64)
const OUT_SLOTS = 4;
const METRIC_IDS = OUT + 8 * OUT_SLOTS; // u32 id per defined metric, written by proxy_define_metric
/**
 * Scratch beyond the largest value the recorded request was handed: in Envoy the same call can
 * hand back a little more (its request carries headers the emulator's does not, e.g. x-forwarded-for).
 */
const SCRATCH_HEADROOM = 64 * 1024;
/** A recording handing back more than this in one call is not a bench request: refuse it. */
const MAX_RETURNED = 1024 * 1024;
const PAGE = 64 * 1024;

const align = (n: number, to: number) => Math.ceil(n / to) * to;
const wat = (bytes: Uint8Array) => [...bytes].map((b) => `\\${b.toString(16).padStart(2, "0")}`).join("");
const key = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** The real module's proxy_on_* exports with their parameter and result types, read from the module. */
function callbackSignatures(module: string): { name: string; params: string[]; result?: string }[] {
  const bytes = readFileSync(module);
  const names = WebAssembly.Module.exports(new WebAssembly.Module(bytes))
    .filter((e) => e.kind === "function" && e.name.startsWith("proxy_on_"))
    .map((e) => e.name);
  const m = binaryen.readBinary(bytes);
  try {
    const typeName = (t: number): string => {
      const n = ({ [binaryen.i32]: "i32", [binaryen.i64]: "i64", [binaryen.f32]: "f32", [binaryen.f64]: "f64" } as Record<number, string>)[
        t
      ];
      if (!n) throw new Error(`${module}: a callback type binaryen calls ${t} is not a number type`);
      return n;
    };
    return names.map((name) => {
      const fn = m.getFunction(binaryen.getExportInfo(m.getExport(name)).value);
      const info = binaryen.getFunctionInfo(fn);
      const results = binaryen.expandType(info.results);
      return { name, params: binaryen.expandType(info.params).map(typeName), result: results.length ? typeName(results[0]!) : undefined };
    });
  } finally {
    m.dispose();
  }
}

/** The one way a callback ran in the recorded request (a callback run twice must have done the same both times). */
function recordedRun(rec: FilterRecording, callback: string): RecordedCallback | undefined {
  const runs = rec.request.filter((c) => c.name === callback);
  const same = (a: RecordedCallback, b: RecordedCallback) =>
    a.result === b.result && JSON.stringify(a.calls, jsonBytes) === JSON.stringify(b.calls, jsonBytes);
  if (runs.some((r) => !same(r, runs[0]!)))
    throw new Error(`${rec.module}: ${callback} ran differently within one request; a replay has no logic to tell them apart`);
  return runs[0];
}
const jsonBytes = (_: string, v: unknown) => (v instanceof Uint8Array ? key(v) : typeof v === "bigint" ? v.toString() : v);

/** The WebAssembly text of the replay module of one filter's recording. */
export function replayModuleText(rec: FilterRecording): string {
  const signatures = callbackSignatures(rec.module);
  // Constant bytes, one data segment each, after the metric ids.
  const segments = new Map<string, { offset: number; bytes: Uint8Array }>();
  let next = align(METRIC_IDS + 4 * rec.metrics.length, 16);
  const constant = (bytes: Uint8Array) => {
    const k = key(bytes);
    let s = segments.get(k);
    if (!s) {
      s = { offset: next, bytes };
      segments.set(k, s);
      next = align(next + bytes.length, 8);
    }
    return s.offset;
  };
  const metricSlot = (name: string) => {
    const i = rec.metrics.findIndex((m) => m.name === name);
    if (i < 0) throw new Error(`${rec.module}: metric ${name} is used but not defined`);
    return METRIC_IDS + 4 * i;
  };
  const encoder = new TextEncoder();

  const callText = (call: Pick<RecordedCall, "name" | "args">, callback = "proxy_on_configure"): string => {
    if (!call.args) throw new Error(`${rec.module}: ${callback} calls ${call.name}, which a replay module cannot make`);
    let out = 0;
    const args = call.args.map((a) => {
      if (a.kind === "i32") return `(i32.const ${a.value})`;
      if (a.kind === "cas") return "(i32.const 0)";
      if (a.kind === "i64") return `(i64.const ${a.value})`;
      if (a.kind === "bytes") return `(i32.const ${a.bytes.length ? constant(a.bytes) : 0}) (i32.const ${a.bytes.length})`;
      if (a.kind === "metric") return `(i32.load (i32.const ${metricSlot(a.name)}))`;
      if (out >= OUT_SLOTS) throw new Error(`${call.name}: more than ${OUT_SLOTS} out-parameters`);
      return `(i32.const ${OUT + 8 * out++})`;
    });
    return `(drop (call $${call.name} ${args.join(" ")}))`;
  };

  // proxy_on_configure: the metrics, the tick period, and the shared data the request reads.
  const setup = [
    ...rec.metrics.map(
      (m, i) =>
        `(drop (call $proxy_define_metric (i32.const ${m.type}) (i32.const ${constant(encoder.encode(m.name))}) (i32.const ${encoder.encode(m.name).length}) (i32.const ${METRIC_IDS + 4 * i})))`,
    ),
    ...(rec.tickMs ? [`(drop (call $proxy_set_tick_period_milliseconds (i32.const ${rec.tickMs})))`] : []),
    ...rec.request
      .flatMap((c) => c.calls)
      .filter((c) => c.name === "proxy_get_shared_data" && c.result === 0)
      .map((c) =>
        callText({ name: "proxy_set_shared_data", args: [c.args![0]!, { kind: "bytes", bytes: c.returned! }, { kind: "cas", value: 0 }] }),
      ),
  ];
  const used = new Set([...setup.join(" ").matchAll(/call \$(\w+)/g)].map((m) => m[1]!));

  const callbacks = signatures.map(({ name, params, result }) => {
    const head = `(func (export "${name}")${params.length ? ` (param ${params.join(" ")})` : ""}${result ? ` (result ${result})` : ""}`;
    const run = recordedRun(rec, name);
    let body: string[];
    let value: number | "scratch";
    if (name === "proxy_on_memory_allocate") {
      body = []; // the old name of malloc: the scratch area, placed once all constants are
      value = "scratch";
    } else if (name === "proxy_on_configure") {
      body = setup;
      value = 1;
    } else if (name === "proxy_on_vm_start") {
      body = [];
      value = 1;
    } else {
      body = (run?.calls ?? []).map((c) => callText(c, name));
      // A stream's context_create (parent id non-zero) makes the recorded calls; the root's does not.
      if (name === "proxy_on_context_create" && body.length) body = [`(if (local.get 1) (then ${body.join(" ")}))`];
      value = run?.result ?? (name === "proxy_on_done" ? 1 : 0);
    }
    for (const c of run?.calls ?? []) used.add(c.name);
    return (scratch: number) =>
      `  ${head}\n    ${[...body, ...(result ? [`(${result}.const ${value === "scratch" ? scratch : value})`] : [])].join("\n    ")})`;
  });

  const returned = Math.max(0, ...rec.request.flatMap((c) => c.calls).map((c) => c.returned?.length ?? 0));
  if (returned > MAX_RETURNED) throw new Error(`${rec.module}: a host call handed back ${returned} bytes (more than ${MAX_RETURNED})`);
  const scratch = align(next, 64);
  const pages = Math.ceil((scratch + returned + SCRATCH_HEADROOM) / PAGE);
  const imports = [...used].sort().map((name) => {
    const kinds = REPLAYABLE[name]!;
    const params = kinds.flatMap((k) => (k === "bytes" ? ["i32", "i32"] : k === "i64" ? ["i64"] : ["i32"]));
    return `  (import "env" "${name}" (func $${name} (param ${params.join(" ")}) (result i32)))`;
  });
  return `(module
${imports.join("\n")}
  (memory (export "memory") ${pages})
${[...segments.values()].map((s) => `  (data (i32.const ${s.offset}) "${wat(s.bytes)}")`).join("\n")}
  (func (export "malloc") (param i32) (result i32) (i32.const ${scratch}))
  (func (export "proxy_abi_version_0_2_1"))
${callbacks.map((text) => text(scratch)).join("\n")}
)`;
}

/** The replay module's binary. */
export function replayModule(rec: FilterRecording): Uint8Array {
  const m = binaryen.parseText(replayModuleText(rec));
  try {
    if (!m.validate()) throw new Error(`the replay module of ${rec.module} does not validate`);
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/** A replay module written, with the recording it replays. */
export interface ReplayFile {
  file: string;
  recording: FilterRecording;
}

/** Records `base` (a scenario of ours) and writes one replay module per filter: <dir>/<row>.<n>.wasm. */
export async function writeReplayModules(base: Scenario, row: string, dir = join(repoRoot, "dist", "bench")): Promise<ReplayFile[]> {
  if (!base.plugins?.length) throw new Error(`${base.name} has no Wasm filters to replay`);
  const recordings = await recordRequest(base.plugins, { requestHeaders: benchRequest(benchHeaders(base)) });
  return recordings.map((recording, i) => {
    const file = join(dir, `${row}.${i + 1}.wasm`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, replayModule(recording));
    return { file, recording };
  });
}

/** The floor rows (FLOOR_ROWS) of `all`'s scenarios: each replays its scenario's filters, one VM each, like the scenario. */
export async function floorScenarios(all: Scenario[]): Promise<Scenario[]> {
  const rows: Scenario[] = [];
  for (const [of, name] of Object.entries(FLOOR_ROWS)) {
    const base = all.find((s) => s.name === of);
    if (!base) throw new Error(`no bench scenario ${of} to replay`);
    const files = (await writeReplayModules(base, name)).map((r) => r.file);
    const ids = files.map((_, i) => `${name}.${i + 1}`);
    rows.push({
      name,
      family: base.family,
      impl: "reference",
      description: `the ABI floor of ${of}: replay modules making exactly its host calls with the same data, no logic (bench/replay.ts)`,
      filters: files.map((file, i) => wasmHttpFilter({ file, name: ids[i], vmId: ids[i], rootId: "floor" })),
      ...(base.headers ? { headers: base.headers } : {}),
      modules: files,
      plugins: files.map((module) => ({ module, rootId: "floor" })),
      memoryGauges: [],
      sameAs: of,
    });
  }
  return rows;
}
