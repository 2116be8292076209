// Metrics as Envoy keeps them: the stats store is process-wide (share one MetricsStore between
// worker VMs to aggregate like Envoy), ids are per VM. Envoy hands out a new id on every
// proxy_define_metric, with the type in the low two bits; ids defined with one name share a stat.
import { MetricType, WasmResult } from "./abi.js";

export interface MetricSnapshot {
  type: MetricType;
  /** Counter/gauge value; for a histogram the number of samples. */
  value: number;
  samples?: number[];
}

interface Stat {
  type: MetricType;
  value: number;
  samples: number[];
}

/** Each store's stats by "type:name", kept here so that only VmMetrics (this module) can add to them. */
const storeStats = new WeakMap<MetricsStore, Map<string, Stat>>();

/** The stat of a name and type in a store, created at zero. */
function stat(store: MetricsStore, type: MetricType, name: string): Stat {
  const stats = storeStats.get(store)!;
  const key = `${type}:${name}`;
  return stats.get(key) ?? stats.set(key, { type, value: 0, samples: [] }).get(key)!;
}

export class MetricsStore {
  private readonly stats = new Map<string, Stat>();

  constructor() {
    storeStats.set(this, this.stats);
  }

  get(name: string): MetricSnapshot | undefined {
    return this.all()[name];
  }

  all(): Record<string, MetricSnapshot> {
    const out: Record<string, MetricSnapshot> = {};
    for (const [key, { type, value, samples }] of this.stats) {
      out[key.slice(key.indexOf(":") + 1)] =
        type === MetricType.Histogram ? { type, value: samples.length, samples: [...samples] } : { type, value };
    }
    return out;
  }
}

const TYPE_MASK = 0x3;

/** One VM's metric ids and the host calls' result codes (Envoy context.cc). */
export class VmMetrics {
  private readonly byId = new Map<number, Stat>();
  private readonly nextId = [MetricType.Counter, MetricType.Gauge, MetricType.Histogram];

  constructor(readonly store: MetricsStore) {}

  define(type: number, name: string): number | undefined {
    const id = this.nextId[type];
    if (id === undefined) return undefined;
    this.nextId[type] = id + 4;
    this.byId.set(id, stat(this.store, type, name));
    return id;
  }

  /** Counters only go up (an offset <= 0 is BadArgument); gauges go both ways; histograms refuse. */
  increment(id: number, offset: bigint): WasmResult {
    const s = this.byId.get(id);
    if ((id & TYPE_MASK) === MetricType.Histogram) return WasmResult.BadArgument;
    if (!s) return WasmResult.NotFound;
    if (s.type === MetricType.Counter && offset <= 0n) return WasmResult.BadArgument;
    s.value += Number(offset);
    return WasmResult.Ok;
  }

  /** Counter: add; gauge: set; histogram: record a sample. */
  record(id: number, value: bigint): WasmResult {
    const s = this.byId.get(id);
    if (!s) return WasmResult.NotFound;
    const v = Number(BigInt.asUintN(64, value));
    if (s.type === MetricType.Counter) s.value += v;
    else if (s.type === MetricType.Gauge) s.value = v;
    else s.samples.push(v);
    return WasmResult.Ok;
  }

  get(id: number): { value: number } | WasmResult.NotFound | WasmResult.BadArgument {
    if ((id & TYPE_MASK) === MetricType.Histogram) return WasmResult.BadArgument;
    const s = this.byId.get(id);
    return s ? { value: s.value } : WasmResult.NotFound;
  }
}
