// Turns raw wrk samples into per-scenario figures and ratios to the same-run baseline, and
// renders them as markdown.
import type { WrkResult } from "../test/support/index.js";
import type { ScenarioCost } from "./cost.js";
import type { DecisionsResult } from "./ratelimit-decisions.js";
import type { Scenario } from "./scenarios.js";

export interface Sample {
  scenario: string;
  round: number;
  wrk: WrkResult;
  cpuSeconds: number;
  /** For a scenario asking the rate limit service: the service's and Redis's CPU over the run. */
  serviceCpuSeconds?: number;
  redisCpuSeconds?: number;
}

export interface Meta {
  date: string;
  command: string;
  machine: string;
  envoy: string;
  envoyPath: string;
  go: string;
  /** rustc's version, why the Rust rows were skipped, or undefined when none was selected. */
  rust?: string;
  settings: Record<string, string | number>;
  /** Wall time of the whole run, set-up included. */
  durationSec: number;
  /** Where the pre-run check found an implementation's header changes differing from ours. */
  checkNotes: string[];
  /** When the rate limit service ran: the gateway's call counters and the service's own decisions/s. */
  rateLimitService?: { calls: Record<string, number>; decisions: DecisionsResult; rssBytes: { service: number; redis: number } };
  /** Why the scenarios asking the rate limit service were left out. */
  rateLimitServiceSkipped?: string;
}

export interface Row {
  scenario: string;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  cpuPer10k: number;
  errors: number;
  rpsRatio?: number;
  p50Ratio?: number;
  p99Ratio?: number;
  cpuRatio?: number;
  /** Envoy CPU per request above the baseline's, in microseconds: what the filters cost. */
  addedCpuUs?: number;
  moduleBytes?: number;
  vmMemoryBytes?: number;
  /** Host calls and allocations per request, counted in the emulator (bench/cost.ts); none without Wasm. */
  cost?: ScenarioCost;
}

const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
};

export function summarize(
  all: Scenario[],
  samples: Sample[],
  memory: Record<string, number>,
  sizes: Record<string, number>,
  costs: Record<string, ScenarioCost> = {},
): Row[] {
  const rows = all.map((s): Row => {
    const mine = samples.filter((x) => x.scenario === s.name);
    const rps = mine.map((x) => x.wrk.rps);
    const totalReq = mine.reduce((a, x) => a + x.wrk.requests, 0);
    const totalCpu = mine.reduce((a, x) => a + x.cpuSeconds, 0);
    return {
      scenario: s.name,
      rps: median(rps),
      rpsMin: Math.min(...rps),
      rpsMax: Math.max(...rps),
      p50Ms: median(mine.map((x) => x.wrk.latencyUs.p50)) / 1000,
      p90Ms: median(mine.map((x) => x.wrk.latencyUs.p90)) / 1000,
      p99Ms: median(mine.map((x) => x.wrk.latencyUs.p99)) / 1000,
      cpuPer10k: (totalCpu / totalReq) * 10_000,
      errors: mine.reduce((a, x) => a + Object.values(x.wrk.errors).reduce((p, q) => p + q, 0), 0),
      moduleBytes: sizes[s.name],
      vmMemoryBytes: memory[s.name],
      cost: costs[s.name],
    };
  });
  const base = rows.find((r) => all.find((s) => s.name === r.scenario)?.baseline);
  if (base) {
    for (const r of rows) {
      r.rpsRatio = r.rps / base.rps;
      r.p50Ratio = r.p50Ms / base.p50Ms;
      r.p99Ratio = r.p99Ms / base.p99Ms;
      r.cpuRatio = r.cpuPer10k / base.cpuPer10k;
      const proxied = all.find((s) => s.name === r.scenario)?.filters !== null;
      if (proxied) r.addedCpuUs = ((r.cpuPer10k - base.cpuPer10k) / 10_000) * 1e6;
    }
  }
  return rows;
}

const f = (n: number | undefined, d = 2) => (n === undefined || Number.isNaN(n) ? "—" : n.toFixed(d));
const kib = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? "—" : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;

const counted = (c: ScenarioCost | undefined) => (c && !("skipped" in c) ? c : undefined);
/** Up to one decimal: allocations are a mean over 100 requests (bench/cost.ts). */
const n1 = (n: number) => String(Math.round(n * 10) / 10);
const hostCallsCell = (c: ScenarioCost | undefined) => String(counted(c)?.totalHostCalls ?? "—");
const allocCell = (c: ScenarioCost | undefined) => {
  const k = counted(c);
  return k?.allocations === undefined ? "—" : `${n1(k.allocations)} (${Math.round(k.allocatedBytes ?? 0)} B)`;
};

/** The results table alone (docs/benchmarks.md quotes it). */
export function renderTable(rows: Row[]): string {
  const lines = [
    `| scenario | req/s (min–max) | req/s × base | p50 ms | p90 ms | p99 ms | p99 × base | CPU s / 10k req | CPU × base | added CPU µs/req | host calls / req | allocs / req (bytes) | module | VM memory | errors |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${r.rps.toFixed(0)} (${r.rpsMin.toFixed(0)}–${r.rpsMax.toFixed(0)}) | ${f(r.rpsRatio)} | ${f(r.p50Ms)} | ${f(r.p90Ms)} | ${f(r.p99Ms)} | ${f(r.p99Ratio)} | ${f(r.cpuPer10k, 3)} | ${f(r.cpuRatio)} | ${f(r.addedCpuUs, 1)} | ${hostCallsCell(r.cost)} | ${allocCell(r.cost)} | ${kib(r.moduleBytes)} | ${kib(r.vmMemoryBytes)} | ${r.errors} |`,
    );
  }
  return lines.join("\n");
}

/**
 * Host calls by name and allocations per request of each scenario with Wasm filters (what
 * `npm run bench -- --costs-only` prints and docs/benchmarks.md quotes); a scenario the emulator
 * cannot run says why.
 */
export function renderCostTable(all: Scenario[], costs: Record<string, ScenarioCost>): string {
  const lines = ["| scenario | host calls / req | by name | allocations / req | bytes / req |", "|---|---:|---|---:|---:|"];
  for (const s of all) {
    const c = costs[s.name];
    if (!c) continue;
    if ("skipped" in c) {
      lines.push(`| ${s.name} | — | not counted: ${c.skipped.replace(/\|/g, "\\|")} | — | — |`);
      continue;
    }
    const byName = Object.entries(c.hostCalls)
      .map(([name, k]) => `${name.replace(/^proxy_/, "")} ${k}`)
      .join(", ");
    const a = c.allocations === undefined ? "—" : n1(c.allocations);
    const b = c.allocatedBytes === undefined ? "—" : n1(c.allocatedBytes);
    lines.push(`| ${s.name} | ${c.totalHostCalls} | ${byName || "none"} | ${a} | ${b} |`);
  }
  return lines.join("\n");
}

/**
 * What the global scenarios cost beyond the gateway: the rate limit service's and Redis's CPU per
 * request (over all rounds), and the service's decisions per second on its own.
 */
export function renderServiceCost(m: Meta, samples: Sample[]): string[] {
  const rs = m.rateLimitService;
  if (!rs) return m.rateLimitServiceSkipped ? [`Rate limit service rows skipped: ${m.rateLimitServiceSkipped}`, ""] : [];
  const lines = [
    "The rate limit service (envoyproxy/ratelimit) and Redis, per request of the scenarios that ask them (CPU over all rounds / requests):",
    "",
    "| scenario | service CPU µs/req | Redis CPU µs/req |",
    "|---|---:|---:|",
  ];
  for (const name of [...new Set(samples.filter((x) => x.serviceCpuSeconds !== undefined).map((x) => x.scenario))]) {
    const mine = samples.filter((x) => x.scenario === name);
    const requests = mine.reduce((a, x) => a + x.wrk.requests, 0);
    const us = (k: "serviceCpuSeconds" | "redisCpuSeconds") => (mine.reduce((a, x) => a + (x[k] ?? 0), 0) / requests) * 1e6;
    lines.push(`| ${name} | ${f(us("serviceCpuSeconds"), 1)} | ${f(us("redisCpuSeconds"), 1)} |`);
  }
  const d = rs.decisions;
  lines.push(
    "",
    `The service alone: **${d.decisionsPerSec.toFixed(0)} decisions/s** (${d.decisions} counted in Redis in ${d.seconds} s; \`${d.command}\`).`,
    "",
    `Resident memory after the run: the service ${kib(rs.rssBytes.service)}, Redis ${kib(rs.rssBytes.redis)}.`,
    "",
    `Gateway call counters after the run: ${Object.entries(rs.calls)
      .map(([k, v]) => `\`${k}\` ${v}`)
      .join(", ")}.`,
    "",
  );
  return lines;
}

export function renderMarkdown(
  m: Meta,
  all: Scenario[],
  rows: Row[],
  costs: Record<string, ScenarioCost> = {},
  samples: Sample[] = [],
): string {
  const lines = [
    `# Benchmark results`,
    ``,
    `- date: ${m.date}; the run took ${m.durationSec} s`,
    `- command: \`${m.command}\``,
    `- machine: ${m.machine}`,
    `- Envoy ${m.envoy} (V8), ${m.go}${m.rust ? `, ${m.rust}` : ""}; settings: ${Object.entries(m.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`,
    `- ratios (× base) are against \`envoy-baseline\` measured in the same run; req/s and latencies are medians of the rounds (req/s min–max in brackets); CPU is the gateway Envoy's user+system time over all rounds; added CPU = CPU per request minus the baseline's`,
    `- module: size of the .wasm file(s); VM memory: linear memory of the scenario's Wasm VM(s) after the run (one VM per plugin per worker; summed over the plugins of a chain)`,
    `- host calls and allocs / req: counted in the emulator for the bench request (bench/cost.ts), summed over a chain's filters; allocations (AssemblyScript runtime objects, our modules only) and their bytes are the mean over 100 requests`,
    ``,
    renderTable(rows),
    ``,
    ...renderServiceCost(m, samples),
    "Scenarios:",
    ...all.map((s) => `- \`${s.name}\`: ${s.description}`),
    "",
    "For `upstream-direct`, the CPU column is the upstream's, not the gateway's.",
    "",
    "Host calls and allocations per request, counted in the emulator:",
    "",
    renderCostTable(all, costs),
    "",
  ];
  if (m.checkNotes.length)
    lines.push(
      "Where the pre-run check saw an implementation's header changes differ from ours:",
      "",
      ...m.checkNotes.map((n) => `- ${n}`),
      "",
    );
  return lines.join("\n");
}
