// The suite VM's linear memory with the bench chain (scenario chain-suite: jwt-auth RS256 ->
// rate-limit -> header-rewrite in one VM), after its configure and under the bench request, beside
// the same three filters as standalone VMs (chain-ours). Linear memory never shrinks and the
// allocator doubles it when it runs out, so the high-water mark of the heap decides the VM's size
// for good: the suite reached 512 KiB while configuring its members (each member's part written
// out as JSON and parsed again), 256 KiB since it hands each member its part parsed
// (ConfigSource, assembly/config/reader.ts). Bytes, not times: deterministic.
import { describe, expect, it } from "vitest";
import { BENCH_REQUEST, chain } from "../../../bench/cost.js";
import { scenarios } from "../../../bench/scenarios.js";
import type { HeaderList, ProxyWasmVm } from "../../../emulator/index.js";
import { builtFilter } from "../../../test/support/wasm-fixtures.js";

const KIB = 1024;
/**
 * The suite VM's size with the bench chain. Not 128 KiB as a standalone filter's: the suite's
 * static data (every member's strings and tables) takes 92 KiB of its first two pages, and its heap
 * live after the configure (about 37 KiB) does not fit in what is left.
 */
const SUITE_VM_BYTES = 256 * KIB;
/** Every standalone filter's VM (issue #14: "no larger than today (128 KiB per VM)"). */
const STANDALONE_VM_BYTES = 128 * KIB;
/**
 * The suite VM with key-auth's bench config (1,000 consumers, 125 KB) as its one member: 16 MiB
 * when the member's part was written out and parsed again, 3 MiB for key-auth alone.
 */
const LARGE_MEMBER_VM_BYTES = 4 * KIB * KIB;
/** Past the longest collection interval (1,024 streams, assembly/runtime/collector.ts) several times. */
const WARM_UP_REQUESTS = 5_000;
const REQUESTS = 200_000;
const SAMPLES = 10;

async function benchChain(name: string) {
  const s = scenarios().find((x) => x.name === name);
  if (s?.plugins === undefined) throw new Error(`no scenario ${name}`);
  return chain(
    s.plugins,
    s.plugins.map((p) => p.module),
    BENCH_REQUEST,
  );
}

const header = (headers: HeaderList, name: string) => headers.find(([k]) => k === name)?.[1];

/**
 * Runs the bench request `n` times (chain() throws if a filter replies or pauses it) and checks the
 * last one went through every member: jwt-auth's claim header, header-rewrite's on both ways.
 */
function serve(c: Awaited<ReturnType<typeof benchChain>>, n: number): void {
  let out = c.run();
  for (let i = 1; i < n; i++) out = c.run();
  expect(header(out.requestHeaders, "x-user")).toBeTruthy();
  expect(header(out.requestHeaders, "x-gateway")).toBe("portico");
  expect(header(out.responseHeaders, "x-served-by")).toBe("portico");
}

const sizes = (vms: ProxyWasmVm[]) => vms.map((vm) => vm.memoryBytes());

describe("VM memory with the bench chain", () => {
  it(`the suite VM is ${SUITE_VM_BYTES / KIB} KiB after its configure and stays there over ${REQUESTS.toLocaleString("en")} requests`, async () => {
    const c = await benchChain("chain-suite");
    expect(c.vms).toHaveLength(1);
    const [vm] = c.vms as [ProxyWasmVm];
    expect(vm.memoryBytes()).toBeLessThanOrEqual(SUITE_VM_BYTES);
    serve(c, WARM_UP_REQUESTS);
    const warm = vm.memoryBytes();
    expect(warm).toBeLessThanOrEqual(SUITE_VM_BYTES);
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      serve(c, REQUESTS / SAMPLES);
      samples.push(vm.memoryBytes());
    }
    console.info(`suite VM linear memory: ${warm} B after warm-up; samples: ${samples.join(", ")}`);
    expect(samples).toEqual(samples.map(() => warm));
    expect(vm.metric("portico.header_rewrite.chain_suite.requests_total")).toBe(WARM_UP_REQUESTS + REQUESTS);
  }, 300_000);

  it("a large member configuration (key-auth's 1,000 consumers) is not copied: the suite VM ends at 4 MiB, not 16", async () => {
    const keyAuth = scenarios().find((x) => x.name === "key-auth")?.plugins?.[0];
    if (keyAuth === undefined) throw new Error("no key-auth scenario");
    const c = await chain(
      [{ module: builtFilter("suite"), rootId: "suite", config: { plugins: [{ filter: "key-auth", config: keyAuth.config }] } }],
      [builtFilter("suite")],
      BENCH_REQUEST,
    );
    expect(c.vms[0]?.memoryBytes()).toBeLessThanOrEqual(LARGE_MEMBER_VM_BYTES);
    expect(header(c.run().requestHeaders, "x-consumer-name")).toBe("bench");
  }, 120_000);

  it(`each standalone filter's VM stays at ${STANDALONE_VM_BYTES / KIB} KiB`, async () => {
    const c = await benchChain("chain-ours");
    expect(c.vms).toHaveLength(3);
    expect(sizes(c.vms)).toEqual([STANDALONE_VM_BYTES, STANDALONE_VM_BYTES, STANDALONE_VM_BYTES]);
    serve(c, WARM_UP_REQUESTS + REQUESTS / 10);
    expect(sizes(c.vms)).toEqual([STANDALONE_VM_BYTES, STANDALONE_VM_BYTES, STANDALONE_VM_BYTES]);
  }, 300_000);
});
