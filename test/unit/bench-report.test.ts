// The bench report puts the emulator's cost counts (bench/cost.ts) beside Envoy's figures: a
// column each in the results table, and a by-name table under it. Rendered from made-up wrk
// samples: nothing here runs Envoy or times anything.
import { describe, expect, it } from "vitest";
import type { ScenarioCost } from "../../bench/cost.js";
import { renderCostTable, renderTable, summarize, type Sample } from "../../bench/report.js";
import type { Scenario } from "../../bench/scenarios.js";

const scenario = (name: string, baseline = false): Scenario => ({
  name,
  description: name,
  family: "reference",
  impl: "reference",
  filters: [],
  modules: [],
  memoryGauges: [],
  baseline,
});
const sample = (name: string): Sample => ({
  scenario: name,
  round: 1,
  cpuSeconds: 1,
  wrk: {
    requests: 10_000,
    durationUs: 1e6,
    rps: 10_000,
    errors: { connect: 0, read: 0, write: 0, status: 0, timeout: 0 },
    latencyUs: { p50: 1000, p90: 1500, p99: 2000, max: 3000, mean: 1100 },
  },
});

const all = [scenario("envoy-baseline", true), scenario("header-rewrite"), scenario("go-header-rewrite")];
const costs: Record<string, ScenarioCost> = {
  "header-rewrite": {
    hostCalls: { proxy_get_header_map_pairs: 1, proxy_replace_header_map_value: 17 },
    totalHostCalls: 18,
    allocations: 19.2,
    allocatedBytes: 1224.6,
  },
  "go-header-rewrite": { skipped: "Failed to load Wasm module due to a missing import: wasi_snapshot_preview1.poll_oneoff" },
};
const rowOf = (table: string, name: string) =>
  table
    .split("\n")
    .find((l) => l.startsWith(`| ${name} |`))
    ?.split("|")
    .map((c) => c.trim());

describe("bench report: cost counts beside Envoy's figures", () => {
  const rows = summarize(
    all,
    all.map((s) => sample(s.name)),
    {},
    {},
    costs,
  );
  const table = renderTable(rows);
  const header = rowOf(table, "scenario")!;

  it("gives each scenario with Wasm its host calls and allocations per request, others a dash", () => {
    const col = (name: string, column: string) => rowOf(table, name)![header.indexOf(column)];
    expect(col("header-rewrite", "host calls / req")).toBe("18");
    expect(col("header-rewrite", "allocs / req (bytes)")).toBe("19.2 (1225 B)");
    for (const name of ["envoy-baseline", "go-header-rewrite"]) {
      expect(col(name, "host calls / req"), name).toBe("—");
      expect(col(name, "allocs / req (bytes)"), name).toBe("—");
    }
  });

  it("lists host calls by name, and says why a scenario was not counted", () => {
    const byName = renderCostTable(all, costs);
    expect(rowOf(byName, "header-rewrite")).toEqual([
      "",
      "header-rewrite",
      "18",
      "get_header_map_pairs 1, replace_header_map_value 17",
      "19.2",
      "1224.6",
      "",
    ]);
    expect(rowOf(byName, "go-header-rewrite")?.[3]).toMatch(/^not counted: .*poll_oneoff/);
    expect(rowOf(byName, "envoy-baseline")).toBeUndefined();
  });
});
