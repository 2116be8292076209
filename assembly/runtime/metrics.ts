// Counters, gauges and histograms defined through proxy_define_metric. Envoy exports them
// on /stats and, without the "envoy_" prefix, on /stats/prometheus (dots become underscores).
import * as abi from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { OUT_U32 } from "./host";
import { logError } from "./log";

export enum MetricKind {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

export class Metric {
  constructor(public readonly id: u32, public readonly name: string) {}

  /** Defines (or finds: definitions are idempotent per name) a metric. */
  static define(kind: MetricKind, name: string): Metric {
    const buf = String.UTF8.encode(name);
    if (abi.proxy_define_metric(kind, changetype<usize>(buf), buf.byteLength, OUT_U32) != 0) {
      logError("cannot define metric " + name);
      return new Metric(<u32>-1, name);
    }
    return new Metric(load<u32>(OUT_U32), name);
  }

  increment(delta: i64 = 1): void {
    abi.proxy_increment_metric(this.id, delta);
  }

  record(value: u64): void {
    abi.proxy_record_metric(this.id, value);
  }
}

export function counter(name: string): Metric { return Metric.define(MetricKind.Counter, name); }
export function gauge(name: string): Metric { return Metric.define(MetricKind.Gauge, name); }
export function histogram(name: string): Metric { return Metric.define(MetricKind.Histogram, name); }

/**
 * Publishes the VM's linear memory size as a gauge, sampled every `every` calls to `tick()`
 * (a power of two), so operators and benchmarks can see that a filter's memory stays flat.
 * Each worker has its own VM; the gauge shows the last VM that sampled.
 */
export class MemoryGauge {
  private calls: u32 = 0;
  private gauge: Metric;

  constructor(name: string, private mask: u32 = 1023) {
    this.gauge = gauge(name);
    this.sample();
  }

  tick(): void {
    if ((++this.calls & this.mask) == 0) this.sample();
  }

  sample(): void {
    this.gauge.record(<u64>memory.size() << 16);
  }
}
