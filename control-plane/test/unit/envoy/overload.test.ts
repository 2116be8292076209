// Sizing Envoy's overload limits for a machine, and reading the machine (cgroup, /proc/self/limits).
import { describe, expect, it } from "vitest";
import {
  MAX_DOWNSTREAM_CONNECTIONS,
  MIN_DOWNSTREAM_CONNECTIONS,
  MIN_HEAP_BYTES,
  cgroupPaths,
  parseCgroupMemoryLimit,
  parseOpenFilesSoftLimit,
  readMachine,
  sizeOverloadLimits,
} from "../../../src/envoy/overload.js";

const GiB = 2 ** 30;
const MiB = 2 ** 20;

describe("sizeOverloadLimits", () => {
  it("gives Envoy 3/4 of the memory and 4/5 of the open files", () => {
    expect(sizeOverloadLimits({ memoryBytes: 8 * GiB, openFilesSoftLimit: 65536 })).toEqual({
      maxHeapBytes: 6 * GiB,
      maxDownstreamConnections: 52428,
    });
  });

  it("keeps a floor: a tiny container still gets 64 MiB of heap, a 64-file limit 256 connections", () => {
    expect(sizeOverloadLimits({ memoryBytes: 32 * MiB, openFilesSoftLimit: 64 })).toEqual({
      maxHeapBytes: MIN_HEAP_BYTES,
      maxDownstreamConnections: MIN_DOWNSTREAM_CONNECTIONS,
    });
    expect(MIN_HEAP_BYTES).toBe(64 * MiB);
    expect(MIN_DOWNSTREAM_CONNECTIONS).toBe(256);
  });

  it("caps connections at 1,000,000, also when the open-file limit is unlimited", () => {
    expect(sizeOverloadLimits({ memoryBytes: GiB, openFilesSoftLimit: 10_000_000 }).maxDownstreamConnections).toBe(1_000_000);
    expect(sizeOverloadLimits({ memoryBytes: GiB, openFilesSoftLimit: null }).maxDownstreamConnections).toBe(MAX_DOWNSTREAM_CONNECTIONS);
  });

  it("takes each given value over the computed one (flags for a remote Envoy's machine)", () => {
    const m = { memoryBytes: 8 * GiB, openFilesSoftLimit: 1024 };
    expect(sizeOverloadLimits(m, { maxHeapBytes: 2 * GiB })).toEqual({ maxHeapBytes: 2 * GiB, maxDownstreamConnections: 819 });
    expect(sizeOverloadLimits(m, { maxDownstreamConnections: 10 })).toEqual({ maxHeapBytes: 6 * GiB, maxDownstreamConnections: 10 });
  });
});

describe("reading the machine", () => {
  it("finds the cgroup v2 path and the v1 memory controller's path", () => {
    expect(cgroupPaths("0::/system.slice/envoy.service\n")).toEqual({ v2: "/system.slice/envoy.service", v1: null });
    expect(cgroupPaths("5:cpu,cpuacct:/a\n4:memory:/docker/abc\n0::/\n")).toEqual({ v2: "/", v1: "/docker/abc" });
    expect(cgroupPaths(null)).toEqual({ v2: null, v1: null });
  });

  it("reads memory.max as bytes, and 'max' or v1's near-2^63 'unlimited' as no limit", () => {
    expect(parseCgroupMemoryLimit("536870912\n")).toBe(512 * MiB);
    expect(parseCgroupMemoryLimit("max\n")).toBeNull();
    expect(parseCgroupMemoryLimit("9223372036854771712\n")).toBeNull();
  });

  it("reads the soft limit of open files from /proc/self/limits", () => {
    const limits = [
      "Limit                     Soft Limit           Hard Limit           Units     ",
      "Max processes             127590               127590               processes ",
      "Max open files            1024                 524288               files     ",
    ].join("\n");
    expect(parseOpenFilesSoftLimit(limits)).toBe(1024);
    expect(parseOpenFilesSoftLimit("Max open files            unlimited            unlimited            files\n")).toBeNull();
    expect(parseOpenFilesSoftLimit(null)).toBeNull();
  });

  it("reads this machine: some memory, and the open-file limit this process runs with", () => {
    const m = readMachine();
    expect(m.memoryBytes).toBeGreaterThan(0);
    if (process.platform === "linux") expect(m.openFilesSoftLimit).toBeGreaterThan(0);
  });
});
