// What the VM lends to the code that acts on it, as interfaces (types only, so no module here
// imports the VM's module for a value): the host calls get a HostEnv, plugins and streams a
// VmCore. The VM's own state stays private to vm.ts.
import type { LogLevel, WasmResult, HeaderList } from "./abi.js";
import type { GuestMemory } from "./memory.js";
import type { VmMetrics } from "./metrics.js";
import type { Plugin } from "./plugin.js";
import type { SharedData } from "./shared-data.js";
import type { HttpStream } from "./stream.js";

/** A context as host calls see it: the VM context (id 0), a plugin's root context or a stream. */
export interface ContextRef {
  readonly id: number;
  readonly plugin: Plugin | null;
  readonly stream: HttpStream | null;
  /** What proxy_get_status reports (set when an HTTP callout fails). */
  status: { code: number; message: string };
}

export interface HttpCall {
  token: number;
  upstream: string;
  headers: HeaderList;
  body: Uint8Array;
  trailers: HeaderList;
  timeoutMs: number;
  rootContextId: number;
  plugin: Plugin;
}

/** Calls a guest export (a missing one yields 0); the first argument is the context it runs in. */
export type Invoke = (name: string, a?: number, b?: number, c?: number, d?: number, e?: number) => number;

/** What plugins and streams need from their VM. */
export interface VmCore {
  readonly vmConfig: Uint8Array;
  /** The emulated clock. */
  readonly clockNs: bigint;
  readonly allowOnHeadersStopIteration: boolean;
  /** Context ids are unique and increasing per VM, shared by root and stream contexts. */
  allocContextId(): number;
  addContext(ref: ContextRef): void;
  removeContext(id: number): void;
  invoke: Invoke;
  /** Runs `fn` once the outermost guest call returned (Envoy's addAfterVmCallAction). */
  post(fn: () => void): void;
}

/** What the env.proxy_* (and WASI) host functions need: exactly the ABI's view of the VM. */
export interface HostEnv {
  readonly mem: GuestMemory;
  /** Inside _start/_initialize: only START_ALLOWED host calls may run. */
  readonly starting: boolean;
  readonly vmId: string;
  readonly vmConfig: Uint8Array;
  readonly logLevel: LogLevel;
  readonly clockNs: bigint;
  readonly sharedData: SharedData;
  readonly metrics: VmMetrics;
  /** The context host calls act on: the effective one if the guest set it, else the called one. */
  ctx(): ContextRef;
  /** The context the host called into (cpp-host's current_context_), whatever the guest set. */
  called(): ContextRef;
  /** proxy_set_effective_context; false for an unknown id. */
  setEffective(id: number): boolean;
  log(level: LogLevel, message: string): void;
  /** Stream properties, then stream attributes, then plugin tokens, then VM properties. */
  property(ctx: ContextRef, path: string): Uint8Array | undefined;
  post(fn: () => void): void;
  invoke: Invoke;
  /** Context::httpCall: known cluster, :path, :method and :authority are required. */
  startHttpCall(call: Omit<HttpCall, "token">): { result: WasmResult; token: number };
}
