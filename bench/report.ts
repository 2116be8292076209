// Turns raw wrk samples into per-scenario figures and ratios to the same-run baseline.
import type { WrkResult } from "../test/support/index.js";
import type { Scenario } from "./scenarios.js";

export interface Sample {
  scenario: string;
  round: number;
  wrk: WrkResult;
  cpuSeconds: number;
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
  p99Ratio?: number;
  cpuRatio?: number;
  moduleBytes?: number;
  vmMemoryBytes?: number;
}

const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
};

export function summarize(all: Scenario[], samples: Sample[], memory: Record<string, number>, sizes: Record<string, number>): Row[] {
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
      moduleBytes: s.modules.length ? s.modules.reduce((a, m) => a + (sizes[m] ?? 0), 0) : undefined,
      vmMemoryBytes: memory[s.name],
    };
  });
  const base = rows.find((r) => all.find((s) => s.name === r.scenario)?.baseline);
  if (base) {
    for (const r of rows) {
      r.rpsRatio = r.rps / base.rps;
      r.p99Ratio = r.p99Ms / base.p99Ms;
      r.cpuRatio = r.cpuPer10k / base.cpuPer10k;
    }
  }
  return rows;
}

const f = (n: number | undefined, d = 2) => (n === undefined || Number.isNaN(n) ? "—" : n.toFixed(d));
const kib = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "—" : `${(n / 1024).toFixed(0)} KiB`);

export function renderMarkdown(meta: Record<string, unknown>, all: Scenario[], rows: Row[]): string {
  const m = meta as { date: string; command: string; machine: string; envoy: string; settings: Record<string, unknown> };
  const lines = [
    `# Benchmark results`,
    ``,
    `- date: ${m.date}`,
    `- command: \`${m.command}\``,
    `- machine: ${m.machine}`,
    `- Envoy: ${m.envoy}; settings: ${Object.entries(m.settings).map(([k, v]) => `${k}=${v}`).join(", ")}`,
    `- ratios are against \`envoy-baseline\` measured in the same run; req/s is the median of the rounds (min–max in brackets)`,
    ``,
    `| scenario | req/s | × baseline | p50 ms | p90 ms | p99 ms | p99 × baseline | Envoy CPU s / 10k req | CPU × baseline | module | VM memory | errors |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const r of rows) {
    lines.push(`| ${r.scenario} | ${r.rps.toFixed(0)} (${r.rpsMin.toFixed(0)}–${r.rpsMax.toFixed(0)}) | ${f(r.rpsRatio)} | ${f(r.p50Ms)} | ${f(r.p90Ms)} | ${f(r.p99Ms)} | ${f(r.p99Ratio)} | ${f(r.cpuPer10k, 3)} | ${f(r.cpuRatio)} | ${kib(r.moduleBytes)} | ${kib(r.vmMemoryBytes)} | ${r.errors} |`);
  }
  lines.push("", "Scenarios:", ...all.map((s) => `- \`${s.name}\`: ${s.description}`), "");
  lines.push("For `upstream-direct`, the CPU column is the upstream's, not the gateway's.", "");
  return lines.join("\n");
}
