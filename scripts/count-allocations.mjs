// AssemblyScript transform for the allocation-counting build of a filter (dist/cost/<name>.wasm,
// built by scripts/build-wasm.mjs beside the shipped module): the same source, compiler and
// options as the release module, plus two exported counters that the runtime's allocator
// bumps. Used only by the emulator's cost counts (emulator/cost.ts); never shipped.
//
// It runs after compilation and before Binaryen optimises, and prepends to the body of the
// minimal runtime's `__new` (~lib/rt/tcms/__new, asconfig.json; see assembly/runtime/collector.ts: every managed object, including the
// buffers the host hands in through `malloc` and the moves of `__renew`, goes through it):
//   portico_alloc_count += 1; portico_alloc_bytes += size
// Nothing else changes: test/unit/filter-cost.test.ts checks that the optimised counted module,
// less the counters, disassembles to the shipped module line for line.
const NEW = "~lib/rt/tcms/__new";
export const COUNT_GLOBAL = "portico_alloc_count";
export const BYTES_GLOBAL = "portico_alloc_bytes";

export default class CountAllocations {
  afterCompile(module) {
    const b = this.binaryen;
    const ref = module.getFunction(NEW);
    if (!ref) throw new Error(`count-allocations: ${NEW} not found (is the runtime "minimal"?)`);
    const fn = b.getFunctionInfo(ref);
    const [sizeType] = b.expandType(fn.params);
    if (sizeType !== b.i32) throw new Error(`count-allocations: unexpected signature of ${NEW}`);
    module.addGlobal(COUNT_GLOBAL, b.i32, true, module.i32.const(0));
    module.addGlobal(BYTES_GLOBAL, b.i32, true, module.i32.const(0));
    const bump = (name, by) => module.global.set(name, module.i32.add(module.global.get(name, b.i32), by));
    const body = module.block(
      null,
      [bump(COUNT_GLOBAL, module.i32.const(1)), bump(BYTES_GLOBAL, module.local.get(0, b.i32)), fn.body],
      fn.results,
    );
    module.removeFunction(NEW);
    module.addFunction(NEW, fn.params, fn.results, fn.vars, body);
    module.addGlobalExport(COUNT_GLOBAL, COUNT_GLOBAL);
    module.addGlobalExport(BYTES_GLOBAL, BYTES_GLOBAL);
  }
}
