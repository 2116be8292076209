// Checks a plugin configuration the way Envoy would take it: the module runs in the proxy-wasm
// host emulator (same start + configure sequence as Envoy 1.40), and a configuration the filter
// refuses is refused here too, with the filter's own words. That way `portico` rejects a bad
// plugin config when it loads the gateway file instead of Envoy rejecting the xDS update later
// (where the reason only shows up in Envoy's log).
//
// The module is a user's code: its start or configure step may never return. So it runs in a
// worker thread (check-worker.ts) that keeps the compiled modules, and each guest phase gets
// `timeoutMs`; past that the worker is terminated (a loop in Wasm cannot be interrupted any other
// way), the module refused, and the next check starts a new worker. The control plane's event
// loop (xDS, admin API) never runs guest code.
import { Worker } from "node:worker_threads";
import { hasWasmMagic } from "../config/files.js";
import type { PluginCheckInput, PluginCheckResult, PluginChecker } from "../config/plugin-check.js";
import type { CheckReply, CheckRequest } from "./check-worker.js";

// The contract is the loader's (config/plugin-check.ts); this is its implementation.
export type { PluginChecker } from "../config/plugin-check.js";

export interface PluginCheckerOptions {
  /** Compiled modules kept (least recently used dropped first). Default 32. */
  maxCachedModules?: number;
  /** Bound on each guest phase (start, then configure), in ms. Default 2000. */
  timeoutMs?: number;
}

export interface BoundedPluginChecker extends PluginChecker {
  /** Modules compiled so far, over every worker (a replaced worker starts with an empty cache). */
  readonly compiledModules: number;
  /** Stops the worker (a later check starts a new one). */
  close(): Promise<void>;
}

/** Worker start-up and compilation are the host's, not the guest's, but are bounded too. */
const LOAD_TIMEOUT_MS = 30_000;
const WORKER_URL = new URL("./check-worker.mjs", import.meta.url);

export function createPluginChecker(options: PluginCheckerOptions = {}): BoundedPluginChecker {
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxCachedModules = options.maxCachedModules ?? 32;
  let worker: CheckWorker | undefined;
  let compiledBefore = 0; // by workers since replaced
  let queue: Promise<unknown> = Promise.resolve();

  const run = async (input: PluginCheckInput): Promise<PluginCheckResult> => {
    worker ??= new CheckWorker();
    const w = worker;
    try {
      return await w.check({ id: 0, input, maxCachedModules }, timeoutMs);
    } catch (err) {
      // Timed out or died: its state is gone or unknown, so the next check gets a new worker.
      if (worker === w) {
        worker = undefined;
        compiledBefore += w.compiled;
        await w.terminate();
      }
      if (err instanceof Timeout) return { errors: [err.message], clusters: [] };
      throw err;
    }
  };
  const check = (input: PluginCheckInput): Promise<PluginCheckResult> => {
    // One check at a time: each is timed from when its guest code starts.
    const result = queue.then(() => run(input));
    queue = result.catch(() => undefined);
    return result;
  };
  return Object.defineProperties(check, {
    compiledModules: { get: () => compiledBefore + (worker?.compiled ?? 0) },
    close: {
      value: async () => {
        const w = worker;
        worker = undefined;
        if (w) {
          compiledBefore += w.compiled;
          await w.terminate();
        }
      },
    },
  }) as BoundedPluginChecker;
}

class Timeout extends Error {}

const PHASES = {
  loading: (ms: number) => `the plugin checker did not load the module within ${ms} ms`,
  starting: (ms: number) => `the module did not finish starting (_start/_initialize) within ${ms} ms (it may loop forever); refused`,
  configuring: (ms: number) =>
    `the filter did not finish its configure step (proxy_on_vm_start/proxy_on_configure) within ${ms} ms (it may loop forever); refused`,
};

/** A worker thread with one check in flight at most. Unref'd while idle: it never keeps the process alive. */
class CheckWorker {
  compiled = 0;
  private readonly worker = new Worker(WORKER_URL);
  private nextId = 1;
  private pending: { id: number; settle: (r: CheckReply | Error) => void } | undefined;
  private failed: Error | undefined;

  constructor() {
    this.worker.unref();
    this.worker.on("message", (r: CheckReply) => {
      this.compiled = "compiled" in r ? r.compiled : this.compiled;
      if (this.pending?.id === r.id) this.pending.settle(r);
    });
    const fail = (err: Error) => {
      this.failed ??= err;
      this.pending?.settle(err);
    };
    this.worker.on("error", (err) => fail(new Error(`the plugin checker's worker failed: ${err.message}`)));
    this.worker.on("exit", (code) => fail(new Error(`the plugin checker's worker exited (code ${code})`)));
  }

  check(req: CheckRequest, timeoutMs: number): Promise<PluginCheckResult> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const { bytes } = req.input;
    this.worker.ref();
    return new Promise<PluginCheckResult>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const arm = (phase: keyof typeof PHASES, ms: number) => {
        clearTimeout(timer);
        timer = setTimeout(() => done(new Timeout(PHASES[phase](phase === "loading" ? ms : timeoutMs))), ms);
      };
      const done = (r: PluginCheckResult | Error) => {
        clearTimeout(timer);
        this.pending = undefined;
        this.worker.unref();
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      this.pending = {
        id,
        settle: (r) => {
          if (r instanceof Error) return done(r);
          if ("phase" in r) return arm(r.phase, timeoutMs);
          if ("result" in r) return done(r.result);
          if ("compileError" in r) return done({ errors: [describeCompileError(bytes, r.compileError)], clusters: [] });
          done(new Error(r.error));
        },
      };
      arm("loading", Math.max(LOAD_TIMEOUT_MS, timeoutMs));
      // A copy: the caller may reuse its buffer while the worker compiles.
      this.worker.postMessage({ ...req, id, input: { ...req.input, bytes: new Uint8Array(bytes) } } satisfies CheckRequest);
    });
  }

  async terminate(): Promise<void> {
    this.failed ??= new Error("the plugin checker's worker was stopped");
    await this.worker.terminate();
  }
}

function describeCompileError(bytes: Uint8Array, message: string): string {
  if (!hasWasmMagic(bytes)) {
    return "the module is not a WebAssembly binary (it does not start with the \\0asm magic bytes)";
  }
  return `the module is not valid WebAssembly: ${message}`;
}
