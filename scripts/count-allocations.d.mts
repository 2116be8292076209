// Types for scripts/count-allocations.mjs (the AssemblyScript transform), for bench/cost.ts.
/** Exported i32 global: calls of the runtime's `__new` since the VM started. */
export declare const COUNT_GLOBAL: string;
/** Exported i32 global: the sizes those calls asked for, summed (wraps at 2^32). */
export declare const BYTES_GLOBAL: string;
declare const CountAllocations: new () => { afterCompile(module: unknown): void };
export default CountAllocations;
