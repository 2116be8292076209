// What one bench request costs a scenario's Wasm filters, counted in the emulator: host calls by
// name and, for our AssemblyScript modules, the allocations the runtime makes and the bytes they
// ask for. Counts, not times, so they are deterministic: the bench prints them beside Envoy's
// figures (bench/run.ts) and test/unit/filter-cost.test.ts pins them, so a change that adds a
// host call or an allocation to the hot path fails a test.
//
// Host calls are counted on the shipped module (the emulator wraps its proxy_* imports).
// Allocations are counted on dist/cost/<name>.wasm, the same source built with the same options
// plus two counters in the runtime's `__new` (scripts/count-allocations.mjs); that module must
// make exactly the same host calls, which is checked on every count.
import { basename, dirname, join } from "node:path";
import { existsSync } from "node:fs";
import type { HeaderList } from "../emulator/abi.js";
import type { Plugin } from "../emulator/plugin.js";
import type { HttpStream } from "../emulator/stream.js";
import { ProxyWasmVm, WasmLoadError, type VmTrace } from "../emulator/vm.js";
import { BYTES_GLOBAL, COUNT_GLOBAL } from "../scripts/count-allocations.mjs";
import { repoRoot } from "../test/support/paths.js";
import { BENCH_HEADERS, BENCH_PATH, type WasmPlugin } from "./scenarios.js";

export interface RequestCost {
  /** proxy_* calls per request, by name (sorted), summed over the scenario's filters. */
  hostCalls: Record<string, number>;
  totalHostCalls: number;
  /**
   * Objects the AssemblyScript runtime allocates per request (`__new` calls), the mean over the
   * measured requests; undefined for modules that are not ours.
   */
  allocations?: number;
  /** Bytes those allocations ask for, per request (payload sizes, without the runtime's 20-byte headers). */
  allocatedBytes?: number;
}

/** Requests before the counted ones: the first ones fill caches and buckets. */
export const WARMUP_REQUESTS = 2;

export interface CostOptions {
  /** Requests before counting (default WARMUP_REQUESTS). */
  warmup?: number;
  /** Requests counted; each must make the same host calls, else the count throws. Default 100. */
  measured?: number;
  /** The request headers as the first filter sees them (default BENCH_REQUEST). */
  requestHeaders?: HeaderList;
  /**
   * Filter state every filter's stream starts with, beside the client address: e.g. the
   * identity an auth filter in front would have left (docs/consumers.md).
   */
  filterState?: Record<string, string>;
}

/**
 * The bench request as the first filter sees it in Envoy: what wrk sends (BENCH_HEADERS, Host)
 * plus what the connection manager adds before the filters (x-forwarded-proto, x-request-id).
 */
export const BENCH_REQUEST: HeaderList = benchRequest(BENCH_HEADERS);

/** BENCH_REQUEST for a scenario whose wrk sends `headers` instead of BENCH_HEADERS (scenarios.ts benchHeaders). */
export function benchRequest(headers: [string, string][]): HeaderList {
  return [
    [":authority", "127.0.0.1:10000"],
    [":path", BENCH_PATH],
    [":method", "GET"],
    [":scheme", "http"],
    ...headers,
    ["x-forwarded-proto", "http"],
    ["x-request-id", "0d3c4e6f-8a2b-4c1d-9e7f-5a6b7c8d9e0f"],
  ];
}

/** The bench upstream's direct_response (200, 128 bytes) as it reaches the filters. */
export const BENCH_RESPONSE: HeaderList = [
  [":status", "200"],
  ["content-length", "128"],
  ["content-type", "text/plain"],
  ["date", "Mon, 07 Dec 2026 00:00:00 GMT"],
  ["server", "envoy"],
  ["x-envoy-upstream-service-time", "0"],
];
const BENCH_RESPONSE_BODY = "x".repeat(128);
const CLIENT = { "source.address": "127.0.0.1:50000" };

/** dist/cost/<name>.wasm for a module of dist/filters or dist/test, if that build exists. */
export function countedModule(module: string): string | undefined {
  const dir = dirname(module);
  const ours = [join(repoRoot, "dist", "filters"), join(repoRoot, "dist", "test")];
  if (!ours.includes(dir)) return undefined;
  const counted = join(repoRoot, "dist", "cost", basename(module));
  if (!existsSync(counted)) throw new Error(`${counted} is missing: run \`npm run build:wasm\` (it builds the counted modules too)`);
  return counted;
}

/**
 * envoy.service.ratelimit.v3.RateLimitResponse { overall_code: OK, statuses: [{ code: OK }] }: the
 * answer to a bench request's one descriptor (protobuf by hand: field 1 varint 1; field 2, 2 bytes).
 */
const RATE_LIMIT_SERVICE_OK = Uint8Array.from([0x08, 0x01, 0x12, 0x02, 0x08, 0x01]);

/** What one request through a chain left: the request as the upstream gets it, the response as the client gets it. */
export interface ChainExchange {
  requestHeaders: HeaderList;
  responseHeaders: HeaderList;
}

export interface Chain {
  vms: ProxyWasmVm[];
  run: () => ChainExchange;
}

/**
 * One VM per filter, as Envoy gives each filter of a chain its own; `run` sends one request
 * through all. `trace` observes filter i's VM from its load on (bench/replay.ts records with it).
 */
export async function chain(
  plugins: WasmPlugin[],
  modules: string[],
  request: HeaderList,
  filterState: Record<string, string> = {},
  trace?: (i: number) => VmTrace,
): Promise<Chain> {
  const vms: ProxyWasmVm[] = [];
  const roots: Plugin[] = [];
  for (const [i, p] of plugins.entries()) {
    // The emulated clock starts now, so the bench's JWT (issued now, valid a day) is valid.
    const vm = await ProxyWasmVm.load(modules[i]!, { countHostCalls: true, startTime: Date.now(), vmId: `cost.${i}`, trace: trace?.(i) });
    const root = vm.configurePlugin({ rootId: p.rootId, config: p.config === undefined ? undefined : JSON.stringify(p.config) });
    if (!root.ok) throw new Error(`${p.module}: configuration failed`);
    vms.push(vm);
    roots.push(root);
  }
  const run = (): ChainExchange => {
    const streams: HttpStream[] = roots.map((r) => r.newHttpStream({ properties: { ...CLIENT, ...filterState } }));
    let headers = request;
    for (const [i, s] of streams.entries()) {
      s.sendRequestHeaders(headers, { endOfStream: true });
      // A global rate-limit rule pauses the request for the rate limit service: it answers OK.
      for (const call of vms[i]!.grpcCalls) vms[i]!.respondGrpc(call.token, RATE_LIMIT_SERVICE_OK);
      if (s.localResponse || s.paused) throw new Error(`${plugins[i]!.module} did not pass the bench request on`);
      headers = s.requestHeaders;
    }
    const requestHeaders = headers;
    headers = BENCH_RESPONSE;
    for (const s of [...streams].reverse()) {
      s.sendResponseHeaders(headers, { endOfStream: false });
      headers = s.responseHeaders;
    }
    for (const s of [...streams].reverse()) s.sendResponseBody(BENCH_RESPONSE_BODY, { endOfStream: true });
    for (const s of streams) s.complete();
    return { requestHeaders, responseHeaders: headers };
  };
  return { vms, run };
}

interface Tally {
  hostCalls: Map<string, number>;
  allocations: number;
  bytes: number;
}

function tally(vms: ProxyWasmVm[]): Tally {
  const hostCalls = new Map<string, number>();
  let allocations = 0;
  let bytes = 0;
  for (const vm of vms) {
    for (const [n, c] of vm.hostCalls) hostCalls.set(n, (hostCalls.get(n) ?? 0) + c);
    allocations += vm.exportedGlobal(COUNT_GLOBAL) ?? 0;
    bytes += vm.exportedGlobal(BYTES_GLOBAL) ?? 0;
  }
  return { hostCalls, allocations, bytes };
}

/**
 * Host calls of each of `measured` requests after `warmup` ones (they must all be the same, else
 * this throws), and allocations as the mean over those requests. Allocations are a mean because
 * they are periodic, not constant: the runtime's Map of live contexts (the SDK's) rehashes each
 * time its entry array fills, 2 allocations every 10th request with one stream at a time. The
 * default window of 100 requests is a whole number of such periods.
 */
async function steadyCost(plugins: WasmPlugin[], modules: string[], o: CostOptions): Promise<RequestCost> {
  const request = o.requestHeaders ?? BENCH_REQUEST;
  const measured = o.measured ?? 100;
  const { vms, run } = await chain(plugins, modules, request, o.filterState);
  for (let i = 0; i < (o.warmup ?? WARMUP_REQUESTS); i++) run();
  const start = tally(vms);
  const perRequest = new Set<string>();
  let hostCalls: Record<string, number> = {};
  for (let i = 0; i < measured; i++) {
    const before = tally(vms);
    run();
    const after = tally(vms);
    hostCalls = Object.fromEntries(
      [...after.hostCalls]
        .map(([n, c]): [string, number] => [n, c - (before.hostCalls.get(n) ?? 0)])
        .filter(([, c]) => c > 0)
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    perRequest.add(JSON.stringify(hostCalls));
  }
  if (perRequest.size > 1)
    throw new Error(`requests after the warm-up do not all make the same host calls: ${[...perRequest].join(" / ")}`);
  const end = tally(vms);
  // The counters are i32 globals: unsigned differences survive a wrap.
  return {
    hostCalls,
    totalHostCalls: Object.values(hostCalls).reduce((a, c) => a + c, 0),
    allocations: ((end.allocations - start.allocations) >>> 0) / measured,
    allocatedBytes: ((end.bytes - start.bytes) >>> 0) / measured,
  };
}

/**
 * The steady-state cost of one bench request through `plugins` (a scenario's Wasm filters, in
 * chain order). Allocations are counted when every module is ours (has a counted build).
 */
export async function requestCost(plugins: WasmPlugin[], o: CostOptions = {}): Promise<RequestCost> {
  const shipped = await steadyCost(
    plugins,
    plugins.map((p) => p.module),
    o,
  );
  const cost = { hostCalls: shipped.hostCalls, totalHostCalls: shipped.totalHostCalls };
  const counted = plugins.map((p) => countedModule(p.module));
  if (counted.some((m) => m === undefined)) return cost;
  const withAllocs = await steadyCost(plugins, counted as string[], o);
  if (JSON.stringify(withAllocs.hostCalls) !== JSON.stringify(shipped.hostCalls)) {
    throw new Error(
      `the counted build makes other host calls than the shipped module: ${JSON.stringify(withAllocs.hostCalls)} vs ${JSON.stringify(shipped.hostCalls)} (rebuild: npm run build:wasm)`,
    );
  }
  return { ...cost, allocations: withAllocs.allocations, allocatedBytes: withAllocs.allocatedBytes };
}

/** A scenario's cost, or why it could not be counted (e.g. a Go module the emulator cannot run). */
export type ScenarioCost = RequestCost | { skipped: string };

export async function scenarioCost(plugins: WasmPlugin[] | undefined, headers?: [string, string][]): Promise<ScenarioCost | undefined> {
  if (!plugins?.length) return undefined;
  try {
    return await requestCost(plugins, headers ? { requestHeaders: benchRequest(headers) } : {});
  } catch (err) {
    // A load error names the missing imports first; its explanation (about FastEdge) is not the point here.
    const message = err instanceof WasmLoadError ? err.message.split(" (")[0]! : err instanceof Error ? err.message : String(err);
    return { skipped: message.split("\n")[0]! };
  }
}
