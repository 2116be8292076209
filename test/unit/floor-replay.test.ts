// The replay modules of the bench's floor rows (bench/replay.ts): each must make exactly the host
// calls of the filter it replays, with the same data, and leave the request and response as the
// filter does. Recorded afresh from the current filters on every run, so a filter that changes
// and a replay that would not follow fail here.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WARMUP_REQUESTS, benchRequest, chain, requestCost, type ChainExchange } from "../../bench/cost.js";
import { FLOOR_ROWS, type ReplayFile, writeReplayModules } from "../../bench/replay.js";
import { type RecordedCallback, recordRequest } from "../../bench/replay-record.js";
import { HEADER_REWRITE_REALISTIC, benchHeaders, scenarios, type Scenario, type WasmPlugin } from "../../bench/scenarios.js";
import { builtFilter } from "../support/wasm-fixtures.js";

const all = scenarios();
const scenario = (name: string): Scenario => {
  const s = all.find((x) => x.name === name);
  if (!s?.plugins) throw new Error(`no bench scenario ${name} with Wasm plugins`);
  return s;
};
const requestOf = (s: Scenario) => benchRequest(benchHeaders(s));
const asPlugins = (files: string[]): WasmPlugin[] => files.map((module) => ({ module, rootId: "floor" }));

/** The request and response of one steady-state bench request through `plugins` (after the warm-up, as counted). */
async function exchange(plugins: WasmPlugin[], s: Scenario): Promise<ChainExchange> {
  const { run } = await chain(
    plugins,
    plugins.map((p) => p.module),
    requestOf(s),
  );
  for (let i = 0; i < WARMUP_REQUESTS; i++) run();
  return run();
}

/**
 * What a module asked of the host, to compare: CAS values dropped (the replay writes with cas 0,
 * see bench/replay.ts), and what the host handed back too (the bucket the rate limit read holds
 * the clock of the request before).
 */
const asked = (callbacks: RecordedCallback[]) =>
  callbacks.map((c) => ({
    ...c,
    calls: c.calls.map(({ returned: _, ...call }) => ({ ...call, args: call.args?.map((a) => (a.kind === "cas" ? { kind: "cas" } : a)) })),
  }));

let dir: string;
beforeAll(() => {
  for (const f of ["header-rewrite", "rate-limit", "jwt-auth"]) builtFilter(f);
  dir = mkdtempSync(join(tmpdir(), "portico-floor-"));
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("replay modules: the ABI floor of each filter (bench --floor)", () => {
  for (const [of, row] of Object.entries(FLOOR_ROWS)) {
    describe(`${row} replays ${of}`, () => {
      const s = scenario(of);
      let replays: ReplayFile[];
      let files: string[];
      beforeAll(async () => {
        replays = await writeReplayModules(s, row, dir);
        files = replays.map((r) => r.file);
      });

      it("exports exactly the proxy_on_* callbacks of the real module", () => {
        const callbacks = (file: string) =>
          WebAssembly.Module.exports(new WebAssembly.Module(readFileSync(file)))
            .map((e) => e.name)
            .filter((n) => n.startsWith("proxy_on_"))
            .sort();
        expect(files).toHaveLength(s.plugins!.length);
        for (const [i, file] of files.entries()) expect(callbacks(file), file).toEqual(callbacks(s.plugins![i]!.module));
      });

      it("makes the same host calls per request, by name and count, as bench/cost.ts counts for the filter", async () => {
        const real = await requestCost(s.plugins!, { requestHeaders: requestOf(s) });
        const replay = await requestCost(asPlugins(files), { requestHeaders: requestOf(s) });
        expect(real.totalHostCalls).toBeGreaterThan(0);
        expect(replay.hostCalls).toEqual(real.hostCalls);
        expect(replay.totalHostCalls).toBe(real.totalHostCalls);
      });

      it("makes them in the same callbacks, in the same order, with the same bytes, and returns the same values", async () => {
        const replay = await recordRequest(asPlugins(files), { requestHeaders: requestOf(s) });
        for (const [i, { recording }] of replays.entries()) {
          expect(recording.request.length, `${of} filter ${i + 1}`).toBeGreaterThan(0);
          expect(asked(replay[i]!.request), `${of} filter ${i + 1}`).toEqual(asked(recording.request));
          expect(replay[i]!.metrics).toEqual(recording.metrics);
          expect(replay[i]!.tickMs).toBe(recording.tickMs);
        }
      });

      it("leaves the request (as the upstream gets it) and the response (as the client gets it) as the filter does", async () => {
        const real = await exchange(s.plugins!, s);
        const replay = await exchange(asPlugins(files), s);
        expect(replay).toEqual(real);
      });
    });
  }

  it("header-rewrite: the replay's request carries the rewritten headers", async () => {
    const s = scenario("header-rewrite");
    const files = (await writeReplayModules(s, "floor-hr-check", dir)).map((r) => r.file);
    const { requestHeaders, responseHeaders } = await exchange(asPlugins(files), s);
    const get = (h: [string, string][], k: string) => h.filter(([n]) => n === k).map(([, v]) => v);
    expect(get(requestHeaders, "x-gateway")).toEqual(["portico"]);
    expect(get(requestHeaders, "x-legacy-key")).toEqual(["k-123"]);
    expect(get(requestHeaders, "x-api-key")).toEqual([]);
    expect(get(responseHeaders, "x-served-by")).toEqual(["portico"]);
  });

  it("a replay recorded from another configuration does not pass for the filter: one more rule, one more host call", async () => {
    const s = scenario("header-rewrite");
    const extra = { name: "extra", request: { set: { "x-extra": "1" } } };
    const changed: Scenario = {
      ...s,
      plugins: [{ ...s.plugins![0]!, config: { ...HEADER_REWRITE_REALISTIC, rules: [...HEADER_REWRITE_REALISTIC.rules, extra] } }],
    };
    const files = (await writeReplayModules(changed, "floor-hr-changed", dir)).map((r) => r.file);
    const real = await requestCost(s.plugins!, { requestHeaders: requestOf(s) });
    const replay = await requestCost(asPlugins(files), { requestHeaders: requestOf(s) });
    expect(replay.totalHostCalls).toBe(real.totalHostCalls + 1);
    expect(await exchange(asPlugins(files), s)).not.toEqual(await exchange(s.plugins!, s));
  });

  it("refuses, naming the call, a filter whose request makes a host call a replay cannot make (a global rule's gRPC call)", async () => {
    const s = scenario("rate-limit-global");
    await expect(writeReplayModules(s, "floor-global", dir)).rejects.toThrow(/calls proxy_\w+, which a replay module cannot make/);
  });
});
