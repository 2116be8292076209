// Records what a filter asks of the host on one steady-state bench request, as data: per
// callback, the proxy_* calls in order with their arguments (the bytes behind every pointer,
// metric ids resolved to the names defined for them) and the callback's return value.
// bench/replay.ts turns a recording into a module that makes exactly those calls and nothing else.
import type { GuestMemory } from "../emulator/memory.js";
import type { VmTrace } from "../emulator/vm.js";
import { BENCH_REQUEST, WARMUP_REQUESTS, chain } from "./cost.js";
import type { WasmPlugin } from "./scenarios.js";

/**
 * How a host call's arguments are replayed: a plain i32/i64 as recorded; `bytes` takes two
 * arguments (pointer, length) and keeps the bytes; `out` is an out-parameter (the replay passes
 * a scratch slot); `metric` is a metric id, kept as its name; `cas` is shared data's CAS, which
 * the replay passes as 0 (an unconditional write: the replay has no value to compare with).
 */
export type ParamKind = "i32" | "i64" | "bytes" | "out" | "metric" | "cas";

/** The host calls a recording may hold. Others (callouts, queues, effective contexts) need logic a replay has not. */
export const REPLAYABLE: Readonly<Record<string, readonly ParamKind[]>> = {
  proxy_log: ["i32", "bytes"],
  proxy_get_log_level: ["out"],
  proxy_get_current_time_nanoseconds: ["out"],
  proxy_set_tick_period_milliseconds: ["i32"],
  proxy_get_property: ["bytes", "out", "out"],
  proxy_set_property: ["bytes", "bytes"],
  proxy_get_header_map_value: ["i32", "bytes", "out", "out"],
  proxy_get_header_map_pairs: ["i32", "out", "out"],
  proxy_get_header_map_size: ["i32", "out"],
  proxy_add_header_map_value: ["i32", "bytes", "bytes"],
  proxy_replace_header_map_value: ["i32", "bytes", "bytes"],
  proxy_remove_header_map_value: ["i32", "bytes"],
  proxy_set_header_map_pairs: ["i32", "bytes"],
  proxy_get_buffer_status: ["i32", "out", "out"],
  proxy_get_buffer_bytes: ["i32", "i32", "i32", "out", "out"],
  proxy_set_buffer_bytes: ["i32", "i32", "i32", "bytes"],
  proxy_get_shared_data: ["bytes", "out", "out", "out"],
  proxy_set_shared_data: ["bytes", "bytes", "cas"],
  proxy_define_metric: ["i32", "bytes", "out"],
  proxy_increment_metric: ["metric", "i64"],
  proxy_record_metric: ["metric", "i64"],
  proxy_get_metric: ["metric", "out"],
  proxy_send_local_response: ["i32", "bytes", "bytes", "bytes", "i32"],
  proxy_continue_stream: ["i32"],
  proxy_close_stream: ["i32"],
};

export type RecordedArg =
  | { kind: "i32" | "cas"; value: number }
  | { kind: "i64"; value: bigint }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "out" }
  | { kind: "metric"; name: string };

export interface RecordedCall {
  name: string;
  /** null for a call not in REPLAYABLE: fine at configuration, refused in a request by bench/replay.ts. */
  args: RecordedArg[] | null;
  result: number;
  /** What the host handed back through the first (pointer, size) out-parameters, if the call did. */
  returned?: Uint8Array;
}

export interface RecordedCallback {
  name: string;
  args: number[];
  /** undefined for callbacks without a result (proxy_on_context_create, proxy_on_log, proxy_on_delete). */
  result: number | undefined;
  calls: RecordedCall[];
}

export interface MetricDefinition {
  type: number;
  name: string;
}

/** One filter of a chain: its configuration-time facts and one steady-state request. */
export interface FilterRecording {
  module: string;
  /** Every metric the filter defined (at configuration or later), in definition order. */
  metrics: MetricDefinition[];
  /** The last tick period the filter set (0: none). */
  tickMs: number;
  /** The callbacks of one request after the warm-up, in the order Envoy makes them. */
  request: RecordedCallback[];
}

const decoder = new TextDecoder();

/** A VmTrace that keeps every callback with its host calls. */
class Recorder implements VmTrace {
  readonly callbacks: RecordedCallback[] = [];
  readonly metricsById = new Map<number, MetricDefinition>();
  tickMs = 0;
  private open: RecordedCallback | undefined;

  constructor(private readonly module: string) {}

  enter(callback: string, args: number[]): void {
    if (this.open) throw new Error(`${this.module}: ${callback} runs inside ${this.open.name}; a replay cannot nest callbacks`);
    this.open = { name: callback, args, result: undefined, calls: [] };
  }

  exit(callback: string, result: unknown): void {
    const open = this.open;
    if (open?.name !== callback) throw new Error(`${this.module}: ${callback} returned, but ${open?.name ?? "no callback"} was entered`);
    open.result = typeof result === "number" ? result : undefined;
    this.callbacks.push(open);
    this.open = undefined;
  }

  hostCall(name: string, args: readonly unknown[], result: unknown, mem: GuestMemory): void {
    if (!this.open) return; // a call from _start (logging): not part of any callback
    const kinds = REPLAYABLE[name];
    if (!kinds) {
      this.open.calls.push({ name, args: null, result: Number(result ?? 0) });
      return;
    }
    const recorded: RecordedArg[] = [];
    const outs: number[] = [];
    let i = 0;
    for (const kind of kinds) {
      const a = args[i++];
      if (kind === "bytes") recorded.push({ kind, bytes: mem.copy(Number(a), Number(args[i++])) });
      else if (kind === "i64") recorded.push({ kind, value: BigInt(a as bigint) });
      else if (kind === "out") {
        outs.push(Number(a));
        recorded.push({ kind });
      } else if (kind === "metric") recorded.push({ kind, name: this.metricName(Number(a) >>> 0) });
      else recorded.push({ kind, value: Number(a) });
    }
    const call: RecordedCall = { name, args: recorded, result: Number(result ?? 0) };
    // Out-parameters are read now, as the host filled them: (pointer, size) of what it handed back.
    if (call.result === 0 && outs.length >= 2) call.returned = mem.copy(mem.readU32(outs[0]!), mem.readU32(outs[1]!));
    if (name === "proxy_define_metric" && call.result === 0) {
      const [type, bytes] = recorded as [RecordedArg & { kind: "i32" }, RecordedArg & { kind: "bytes" }];
      this.metricsById.set(mem.readU32(outs[0]!), { type: type.value, name: decoder.decode(bytes.bytes) });
    }
    if (name === "proxy_set_tick_period_milliseconds") this.tickMs = (recorded[0] as { value: number }).value;
    this.open.calls.push(call);
  }

  private metricName(id: number): string {
    const m = this.metricsById.get(id);
    if (!m) throw new Error(`${this.module}: metric id ${id} was never defined`);
    return m.name;
  }
}

export interface RecordOptions {
  /** The request headers as the first filter sees them (default BENCH_REQUEST). */
  requestHeaders?: typeof BENCH_REQUEST;
}

/**
 * Drives `plugins` (a scenario's Wasm filters, in chain order) through the warm-up requests and
 * one more, exactly as bench/cost.ts counts them, and returns each filter's recording of that
 * last request.
 */
export async function recordRequest(plugins: WasmPlugin[], o: RecordOptions = {}): Promise<FilterRecording[]> {
  const recorders = plugins.map((p) => new Recorder(p.module));
  const { run } = await chain(
    plugins,
    plugins.map((p) => p.module),
    o.requestHeaders ?? BENCH_REQUEST,
    {},
    (i) => recorders[i]!,
  );
  for (let i = 0; i < WARMUP_REQUESTS; i++) run();
  const marks = recorders.map((r) => r.callbacks.length);
  run();
  return recorders.map((r, i) => ({
    module: plugins[i]!.module,
    metrics: [...r.metricsById.values()],
    tickMs: r.tickMs,
    request: r.callbacks.slice(marks[i]),
  }));
}
