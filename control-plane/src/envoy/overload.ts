// Envoy's overload manager, as Envoy's edge-proxy page recommends: a heap limit (return memory to
// the system at 95%, answer new requests 503 at 98%, rather than grow until the kernel kills the
// process) and a global limit on client connections (refused past it, rather than running out of
// file descriptors). Both limits are sized for a machine: sizeOverloadLimits is the policy (pure),
// readMachine what it reads (cgroup memory limit, memory, open-file limit).
import { readFileSync } from "node:fs";
import { totalmem } from "node:os";

export interface OverloadLimits {
  /** fixed_heap's max_heap_size_bytes. */
  maxHeapBytes: number;
  /** The global downstream connections monitor's max_active_downstream_connections. */
  maxDownstreamConnections: number;
}

export interface MachineResources {
  /** Memory this process may use: the cgroup's limit when one is set, else the machine's memory. */
  memoryBytes: number;
  /** Soft limit on open files (RLIMIT_NOFILE); null: unlimited. */
  openFilesSoftLimit: number | null;
}

const MiB = 1024 * 1024;

/**
 * The heap Envoy may use: 3/4 of the memory, leaving the rest for what is not on Envoy's heap
 * (Wasm VMs' linear memory, thread stacks, the kernel's socket buffers) and for a control plane on
 * the same machine. At least 64 MiB, below which an Envoy with a few Wasm filters would answer
 * 503 from the start.
 */
export const HEAP_FRACTION = 0.75;
export const MIN_HEAP_BYTES = 64 * MiB;
/**
 * Client connections: 4/5 of the open-file limit, each taking one descriptor, leaving the rest
 * for upstream connections, listeners, files and Envoy's own. At least 256 (a limit below that
 * would hold a gateway back more than it protects it); at most 1,000,000, also the value taken
 * when the open-file limit is unlimited.
 */
export const CONNECTION_FRACTION = 0.8;
export const MIN_DOWNSTREAM_CONNECTIONS = 256;
export const MAX_DOWNSTREAM_CONNECTIONS = 1_000_000;

/** The limits for a machine; each `overrides` field wins over its computed value. */
export function sizeOverloadLimits(m: MachineResources, overrides: Partial<OverloadLimits> = {}): OverloadLimits {
  const heap = Math.max(MIN_HEAP_BYTES, Math.floor(m.memoryBytes * HEAP_FRACTION));
  const fromFiles = m.openFilesSoftLimit === null ? MAX_DOWNSTREAM_CONNECTIONS : Math.floor(m.openFilesSoftLimit * CONNECTION_FRACTION);
  const connections = Math.min(MAX_DOWNSTREAM_CONNECTIONS, Math.max(MIN_DOWNSTREAM_CONNECTIONS, fromFiles));
  return {
    maxHeapBytes: overrides.maxHeapBytes ?? heap,
    maxDownstreamConnections: overrides.maxDownstreamConnections ?? connections,
  };
}

/** The limits for the machine this process runs on. */
export function machineOverloadLimits(overrides: Partial<OverloadLimits> = {}): OverloadLimits {
  return sizeOverloadLimits(readMachine(), overrides);
}

export function readMachine(): MachineResources {
  const machine = totalmem();
  const cgroup = cgroupMemoryLimit();
  return {
    memoryBytes: cgroup === null ? machine : Math.min(cgroup, machine),
    openFilesSoftLimit: parseOpenFilesSoftLimit(readOr("/proc/self/limits")),
  };
}

/** The memory limit of this process's cgroup (v2 memory.max, else v1 limit_in_bytes); null: none. */
function cgroupMemoryLimit(): number | null {
  const paths = cgroupPaths(readOr("/proc/self/cgroup"));
  const candidates = [
    ...(paths.v2 !== null ? [`/sys/fs/cgroup${paths.v2}/memory.max`] : []),
    "/sys/fs/cgroup/memory.max",
    ...(paths.v1 !== null ? [`/sys/fs/cgroup/memory${paths.v1}/memory.limit_in_bytes`] : []),
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
  ];
  for (const path of candidates) {
    const text = readOr(path);
    if (text !== null) return parseCgroupMemoryLimit(text);
  }
  return null;
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path.replace(/\/{2,}/g, "/"), "utf8");
  } catch {
    return null;
  }
}

/** This process's cgroup path, from /proc/self/cgroup ("0::/path" for v2, "N:memory:/path" for v1). */
export function cgroupPaths(text: string | null): { v2: string | null; v1: string | null } {
  let v2: string | null = null;
  let v1: string | null = null;
  for (const line of (text ?? "").split("\n")) {
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, controllers, path] = m as unknown as [string, string, string, string];
    if (id === "0" && controllers === "") v2 = path;
    else if (controllers.split(",").includes("memory")) v1 = path;
  }
  return { v2, v1 };
}

/** memory.max ("max" or bytes) or memory.limit_in_bytes (bytes, a huge number when unlimited). */
export function parseCgroupMemoryLimit(text: string): number | null {
  const value = text.trim();
  if (!/^\d+$/.test(value)) return null;
  const n = Number(value);
  // v1 writes "unlimited" as about 2^63 rounded down to a page: no limit any machine has.
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/** The soft limit of "Max open files" in /proc/self/limits; null when unlimited or unreadable. */
export function parseOpenFilesSoftLimit(text: string | null): number | null {
  const line = (text ?? "").split("\n").find((l) => l.startsWith("Max open files"));
  const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
  return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : null;
}

const FIXED_HEAP = "envoy.resource_monitors.fixed_heap";
/** The name Envoy's overload manager knows the global connection limit by (a proactive resource). */
const GLOBAL_CONNECTIONS = "envoy.resource_monitors.global_downstream_max_connections";

/** The bootstrap's overload_manager. */
export function overloadManager(l: OverloadLimits): object {
  const heapTrigger = (value: number) => [{ name: FIXED_HEAP, threshold: { value } }];
  return {
    refresh_interval: "0.250s",
    resource_monitors: [
      {
        name: FIXED_HEAP,
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.resource_monitors.fixed_heap.v3.FixedHeapConfig",
          max_heap_size_bytes: l.maxHeapBytes,
        },
      },
      {
        name: GLOBAL_CONNECTIONS,
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig",
          max_active_downstream_connections: l.maxDownstreamConnections,
        },
      },
    ],
    actions: [
      { name: "envoy.overload_actions.shrink_heap", triggers: heapTrigger(0.95) },
      { name: "envoy.overload_actions.stop_accepting_requests", triggers: heapTrigger(0.98) },
    ],
  };
}
