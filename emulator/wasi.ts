// The WASI subset proxy-wasm-cpp-host provides (exports.cc), with its return codes, so nothing
// passes here that needs more WASI than Envoy has. Only the realtime clock exists: the monotonic
// clock (AssemblyScript's performance.now) fails with ENOTSUP, as in Envoy.
import type { GuestMemory } from "./memory.js";

const [ESUCCESS, EBADF, ENOENT, ENOSYS, ENOTSUP] = [0, 8, 44, 52, 58];

/** proc_exit; the VM records it as a crash (AssemblyScript's wasi-shim aborts this way). */
export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`proc_exit(${code})`);
  }
}

export interface WasiHost {
  readonly mem: GuestMemory;
  /** Text written to fd 1 or 2; Envoy logs it at info / error level. */
  output(fd: 1 | 2, text: string): void;
  nowNs(): bigint;
  random(target: Uint8Array): void;
  /** "KEY=value" entries: vm_config.environment_variables. */
  readonly environ: readonly string[];
}

type Fn = (...args: never[]) => number | undefined;

export function wasiImports(host: WasiHost): Record<string, Fn> {
  const m = () => host.mem;
  const environ = host.environ.map((e) => new TextEncoder().encode(`${e}\0`));
  return {
    fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const chunks = Array.from({ length: iovsLen }, (_, i) => m().copy(m().readU32(iovs + i * 8), m().readU32(iovs + i * 8 + 4)));
      const data = Buffer.concat(chunks);
      host.output(fd, data.toString("utf8"));
      m().u32(nwrittenPtr, data.length);
      return ESUCCESS;
    },
    fd_read: () => ENOSYS,
    fd_seek: () => ESUCCESS,
    fd_close: () => ESUCCESS,
    fd_fdstat_get(fd: number, statPtr: number) {
      if (fd !== 1 && fd !== 2) return EBADF;
      m().write(statPtr, new Uint8Array(24));
      m().u64(statPtr + 8, 64n); // fs_rights_base = FD_WRITE
      return ESUCCESS;
    },
    environ_sizes_get(countPtr: number, sizePtr: number) {
      m().u32(countPtr, environ.length);
      m().u32(
        sizePtr,
        environ.reduce((n, e) => n + e.length, 0),
      );
      return ESUCCESS;
    },
    environ_get(arrayPtr: number, bufPtr: number) {
      for (const [i, entry] of environ.entries()) {
        m().u32(arrayPtr + i * 4, bufPtr);
        m().write(bufPtr, entry);
        bufPtr += entry.length;
      }
      return ESUCCESS;
    },
    args_sizes_get(argcPtr: number, sizePtr: number) {
      m().u32(argcPtr, 0);
      m().u32(sizePtr, 0);
      return ESUCCESS;
    },
    args_get: () => ESUCCESS,
    clock_time_get(clockId: number, _precision: bigint, resultPtr: number) {
      if (clockId !== 0) return ENOTSUP;
      m().u64(resultPtr, host.nowNs());
      return ESUCCESS;
    },
    random_get(ptr: number, len: number) {
      host.random(m().view(ptr, len));
      return ESUCCESS;
    },
    proc_exit(code: number): never {
      throw new ProcExit(code);
    },
    path_open: () => ENOENT,
    fd_prestat_get: () => EBADF,
    fd_prestat_dir_name: () => ENOSYS,
  };
}
