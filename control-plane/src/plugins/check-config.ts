// Checks a plugin configuration the way Envoy would take it: the module runs in the proxy-wasm
// host emulator (same start + configure sequence as Envoy 1.40), and a configuration the filter
// refuses is refused here too, with the filter's own words. That way `portico` rejects a bad
// plugin config when it loads the gateway file instead of Envoy rejecting the xDS update later
// (where the reason only shows up in Envoy's log).
import { GuestCrashError, LogLevel, ProxyWasmVm, WasmLoadError } from "../../../emulator/index.js";
import { hasWasmMagic } from "../config/files.js";
import type { PluginCheckInput, PluginChecker } from "../config/plugin-check.js";

// The contract is the loader's (config/plugin-check.ts); this is its implementation.
export type { PluginChecker } from "../config/plugin-check.js";

export interface PluginCheckerOptions {
  /** Compiled modules kept (least recently used dropped first). Default 32. */
  maxCachedModules?: number;
}

export function createPluginChecker(options: PluginCheckerOptions = {}): PluginChecker {
  const compiled = new ModuleCache(options.maxCachedModules ?? 32);
  // Clusters: none reported yet (the emulator branch has the filter report them).
  return async (p) => ({ errors: await refusals(compiled, p), clusters: [] });
}

async function refusals(compiled: ModuleCache, p: PluginCheckInput): Promise<string[]> {
  let module: WebAssembly.Module;
  try {
    module = await compiled.get(p.sha256, p.bytes);
  } catch (err) {
    return [describeCompileError(p.bytes, err)];
  }
  return configureOnce(module, p);
}

/** One fresh VM (as a new Envoy worker would create it), started and configured once. */
function configureOnce(module: WebAssembly.Module, p: PluginCheckInput): string[] {
  let vm: ProxyWasmVm;
  try {
    vm = new ProxyWasmVm(module);
  } catch (err) {
    // Imports Envoy does not link or an unknown ABI version: Envoy refuses to load it at all.
    if (err instanceof WasmLoadError) return [err.message];
    if (err instanceof GuestCrashError) return [`the module crashed while starting (_start/_initialize): ${err.message}`];
    throw err;
  }
  const logsBefore = vm.logs.length;
  const reasons: string[] = [];
  let accepted = false;
  let failure: string | undefined;
  try {
    const plugin = vm.configurePlugin({ config: p.config, rootId: p.rootId, name: p.name });
    accepted = plugin.ok;
    if (!plugin.vmStarted) failure = "the filter refused to start (proxy_on_vm_start returned false)";
  } catch (err) {
    if (!(err instanceof GuestCrashError)) throw err;
    failure = `the filter crashed while being configured: ${err.message}`;
  }
  if (accepted) return [];
  for (const entry of vm.logs.slice(logsBefore)) {
    if (entry.level >= LogLevel.Warn) reasons.push(entry.message);
  }
  if (failure !== undefined) reasons.push(failure);
  // A filter that says no without saying why still has to be refused, and the user told so.
  if (reasons.length === 0) reasons.push("the filter refused its configuration (proxy_on_configure returned false) without logging a reason");
  return [...new Set(reasons)];
}

function describeCompileError(bytes: Uint8Array, err: unknown): string {
  if (!hasWasmMagic(bytes)) {
    return "the module is not a WebAssembly binary (it does not start with the \\0asm magic bytes)";
  }
  return `the module is not valid WebAssembly: ${err instanceof Error ? err.message : String(err)}`;
}

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
    // Copy: the caller may reuse its buffer, and compile() reads it asynchronously.
    const pending = WebAssembly.compile(new Uint8Array(bytes));
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
