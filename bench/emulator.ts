// `npm run bench:emulator`: per-request cost of each filter in the proxy-wasm host emulator
// (Node's V8), against the no-op module in the same run. This isolates the module's own work
// (Wasm execution + host calls) from Envoy; the wrk benchmark (`npm run bench`) gives the
// cost inside Envoy. Not a test: nothing is asserted.
import { readFileSync } from "node:fs";
import { ProxyWasmVm, type HeaderList, type Plugin } from "../emulator/index.js";
import { builtFilter, fixtureWasm } from "../test/support/wasm-fixtures.js";
import { HEADER_REWRITE_REALISTIC, RATE_LIMIT_REALISTIC, BENCH_HEADERS, BENCH_PATH } from "./scenarios.js";

interface Case {
  name: string;
  wasm: string;
  rootId: string;
  config?: object;
}

const REQ: HeaderList = [[":method", "GET"], [":path", BENCH_PATH], [":authority", "bench"], [":scheme", "http"], ...BENCH_HEADERS];
const RESP: HeaderList = [
  [":status", "200"],
  ["content-type", "text/plain"],
  ["x-envoy-upstream-service-time", "1"],
];

function oneRequest(p: Plugin): void {
  const s = p.newHttpStream();
  s.sendRequestHeaders(REQ, { endOfStream: true });
  s.sendResponseHeaders(RESP, { endOfStream: true });
  s.complete();
}

async function measure(c: Case, n: number): Promise<number> {
  const vm = await ProxyWasmVm.load(readFileSync(c.wasm), { properties: { "source.address": "127.0.0.1:50000", "xds.route_name": "r" } });
  const p = vm.configurePlugin({ config: c.config ? JSON.stringify(c.config) : "", rootId: c.rootId });
  if (!p.ok) throw new Error(`${c.name}: configuration rejected: ${vm.logs.map((l) => l.message).join("; ")}`);
  for (let i = 0; i < 20_000; i++) oneRequest(p);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) oneRequest(p);
  return Number(process.hrtime.bigint() - t0) / n;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 200_000);
  const cases: Case[] = [
    { name: "noop (baseline)", wasm: fixtureWasm("noop"), rootId: "noop" },
    { name: "header-rewrite", wasm: builtFilter("header-rewrite"), rootId: "header-rewrite", config: HEADER_REWRITE_REALISTIC },
    // A bucket per client IP in the emulator's shared data (one VM: no compare-and-swap conflicts).
    { name: "rate-limit", wasm: builtFilter("rate-limit"), rootId: "rate-limit", config: RATE_LIMIT_REALISTIC },
  ];
  const results: Record<string, number[]> = {};
  for (let round = 0; round < 3; round++) {
    for (const c of cases) {
      results[c.name] ??= [];
      results[c.name]!.push(await measure(c, n));
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const base = med(results[cases[0]!.name]!);
  console.log(`per request (request + response headers, complete stream), ${n} requests x 3 rounds, median:`);
  for (const c of cases) {
    const v = med(results[c.name]!);
    console.log(
      `  ${c.name.padEnd(18)} ${(v / 1000).toFixed(2).padStart(7)} µs   x${(v / base).toFixed(2)} baseline   (+${((v - base) / 1000).toFixed(2)} µs)`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
