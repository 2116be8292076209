// The plugin checker's worker thread (see check-config.ts): compiles modules (cached by sha256)
// and runs each check's start + configure in a fresh VM. It runs guest code, which may never
// return; the main thread bounds it and terminates this thread if it does not answer in time.
import { parentPort } from "node:worker_threads";
import { GuestCrashError, LogLevel, ProxyWasmVm, WasmLoadError } from "../../../emulator/index.js";
import type { PluginCheckInput, PluginCheckResult } from "../config/plugin-check.js";

export interface CheckRequest {
  id: number;
  input: PluginCheckInput;
  maxCachedModules: number;
}
/** Progress (the guest code about to run), then one answer per request. */
export type CheckReply =
  | { id: number; phase: "starting" | "configuring" }
  | { id: number; result: PluginCheckResult; compiled: number }
  | { id: number; compileError: string; compiled: number }
  | { id: number; error: string; compiled: number };

let compiled = 0;
let cache: ModuleCache | undefined;

async function check(req: CheckRequest, post: (r: CheckReply) => void): Promise<void> {
  const { id, input: p } = req;
  cache ??= new ModuleCache(req.maxCachedModules);
  let module: WebAssembly.Module;
  try {
    module = await cache.get(p.sha256, p.bytes);
  } catch (err) {
    return post({ id, compileError: err instanceof Error ? err.message : String(err), compiled });
  }
  try {
    post({ id, result: configureOnce(module, p, (phase) => post({ id, phase })), compiled });
  } catch (err) {
    post({ id, error: err instanceof Error ? err.message : String(err), compiled });
  }
}

/** One fresh VM (as a new Envoy worker would create it), started and configured once. */
function configureOnce(module: WebAssembly.Module, p: PluginCheckInput, phase: (p: "starting" | "configuring") => void): PluginCheckResult {
  let vm: ProxyWasmVm;
  phase("starting");
  try {
    vm = new ProxyWasmVm(module);
  } catch (err) {
    // Imports Envoy does not link or an unknown ABI version: Envoy refuses to load it at all.
    if (err instanceof WasmLoadError) return refused([err.message]);
    if (err instanceof GuestCrashError) return refused([`the module crashed while starting (_start/_initialize): ${err.message}`]);
    throw err;
  }
  phase("configuring");
  const logsBefore = vm.logs.length;
  const reasons: string[] = [];
  let accepted = false;
  let failure: string | undefined;
  let clusters: PluginCheckResult["clusters"] = [];
  try {
    const plugin = vm.configurePlugin({ config: p.config, rootId: p.rootId, name: p.name });
    accepted = plugin.ok;
    clusters = plugin.declaredClusters;
    if (!plugin.vmStarted) failure = "the filter refused to start (proxy_on_vm_start returned false)";
  } catch (err) {
    if (!(err instanceof GuestCrashError)) throw err;
    failure = `the filter crashed while being configured: ${err.message}`;
  }
  if (accepted) return { errors: [], clusters };
  for (const entry of vm.logs.slice(logsBefore)) {
    if (entry.level >= LogLevel.Warn) reasons.push(entry.message);
  }
  if (failure !== undefined) reasons.push(failure);
  // A filter that says no without saying why still has to be refused, and the user told so.
  if (reasons.length === 0)
    reasons.push("the filter refused its configuration (proxy_on_configure returned false) without logging a reason");
  return refused([...new Set(reasons)]);
}

const refused = (errors: string[]): PluginCheckResult => ({ errors, clusters: [] });

/**
 * Compiled modules by sha256, so checking another configuration of a known module costs one
 * instantiation, not a compilation. Failed compilations are not kept (they are cheap to repeat
 * and the cache then only ever holds usable modules).
 */
class ModuleCache {
  private readonly entries = new Map<string, Promise<WebAssembly.Module>>();

  constructor(private readonly capacity: number) {}

  get(sha256: string, bytes: Uint8Array): Promise<WebAssembly.Module> {
    const hit = this.entries.get(sha256);
    if (hit) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.entries.delete(sha256);
      this.entries.set(sha256, hit);
      return hit;
    }
    compiled++;
    const pending = WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>); // posted to this thread: never shared
    this.entries.set(sha256, pending);
    pending.catch(() => {
      if (this.entries.get(sha256) === pending) this.entries.delete(sha256);
    });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return pending;
  }
}

// One request at a time, in order: the main thread times each from its "starting" message.
let queue = Promise.resolve();
parentPort?.on("message", (req: CheckRequest) => {
  queue = queue.then(() => check(req, (r) => parentPort!.postMessage(r)));
});
