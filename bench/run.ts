// `npm run bench [-- --quick] [-- --rounds N --duration S --connections C --concurrency W]`
//
// Starts an upstream (an Envoy answering with a fixed direct_response, so the upstream is
// cheap and the same for all) and the Envoy under test through func-e with a fixed
// --concurrency, one listener per scenario. After a warm-up, runs wrk (HTTP/1.1 keep-alive)
// for each scenario, interleaved and repeated in shuffled order, so machine noise shows as
// spread rather than as a wrong ranking. Every figure is also given as a ratio to the
// baseline scenario (Envoy with no filter) from the same run. Writes bench/results/latest.md
// and latest.json. Not a test: nothing here asserts a time.
import { statSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  bootstrap, filterWasm, httpListener, processCpuSeconds, repoRoot, runWrk, staticCluster, startEnvoy, envoyPath, type Envoy, type WrkResult,
} from "../test/support/index.js";
import { BENCH_HEADERS, BENCH_PATH, scenarios, type Scenario } from "./scenarios.js";
import { renderMarkdown, summarize, type Sample } from "./report.js";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string" },
    concurrency: { type: "string" },
    only: { type: "string" },
  },
});
const quick = args.quick ?? false;
const rounds = Number(args.rounds ?? (quick ? 2 : 5));
const durationSec = Number(args.duration ?? (quick ? 2 : 8));
const connections = Number(args.connections ?? 16);
const concurrency = Number(args.concurrency ?? 1);

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

async function main(): Promise<void> {
  const all = scenarios().filter((s) => !args.only || args.only.split(",").includes(s.name) || s.baseline);
  const upstream = await startEnvoy({
    name: "bench-upstream",
    concurrency: 1,
    logLevel: "warning",
    config: bootstrap({ listeners: [httpListener({ name: "upstream", directResponse: { status: 200, body: "x".repeat(128) } })] }),
  });
  let gw: Envoy | undefined;
  try {
    const proxied = all.filter((s) => s.filters !== null);
    gw = await startEnvoy({
      name: "bench-gateway",
      concurrency,
      logLevel: "warning",
      config: bootstrap({
        listeners: proxied.map((s) => httpListener({ name: s.name.replace(/-/g, "_"), httpFilters: s.filters!, cluster: "upstream" })),
        clusters: [staticCluster("upstream", upstream.listenerPort("upstream"))],
      }),
    });
    const urlOf = (s: Scenario) =>
      s.filters === null ? upstream.url(BENCH_PATH, "upstream") : gw!.url(BENCH_PATH, s.name.replace(/-/g, "_"));

    console.log(`warm-up: ${all.length} scenarios x 1s`);
    for (const s of all) await runWrk({ url: urlOf(s), connections, durationSec: 1, headers: BENCH_HEADERS });

    const samples: Sample[] = [];
    for (let r = 1; r <= rounds; r++) {
      for (const s of shuffle(all)) {
        const pid = s.filters === null ? upstream.envoyPid : gw.envoyPid;
        const cpu0 = processCpuSeconds(pid);
        const res: WrkResult = await runWrk({ url: urlOf(s), connections, durationSec, headers: BENCH_HEADERS });
        const cpu = processCpuSeconds(pid) - cpu0;
        samples.push({ scenario: s.name, round: r, wrk: res, cpuSeconds: cpu });
        console.log(`round ${r}/${rounds} ${s.name.padEnd(18)} ${res.rps.toFixed(0).padStart(7)} req/s  p99 ${(res.latencyUs.p99 / 1000).toFixed(2)} ms  errors ${Object.values(res.errors).reduce((a, b) => a + b, 0)}`);
      }
    }

    const memory: Record<string, number> = {};
    const stats = await gw.stats("vm_memory_bytes");
    for (const s of all) if (s.memoryGauge) memory[s.name] = stats.get(s.memoryGauge) ?? NaN;
    const sizes: Record<string, number> = {};
    for (const s of all) for (const m of s.modules) sizes[m] = statSync(filterWasm(m)).size;

    const rows = summarize(all, samples, memory, sizes);
    const envoyVersion = (await gw.admin("/server_info")).body.match(/"version": "([^"]+)"/)?.[1] ?? "?";
    const meta = {
      date: new Date().toISOString(),
      command: `npm run bench${process.argv.length > 2 ? " -- " + process.argv.slice(2).join(" ") : ""}`,
      machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}`,
      envoy: envoyVersion.split("/").slice(1, 2).join("") || envoyVersion,
      envoyPath: envoyPath(),
      settings: { rounds, durationSec, connections, envoyConcurrency: concurrency, path: BENCH_PATH },
    };
    const md = renderMarkdown(meta, all, rows);
    const outDir = join(repoRoot, "bench", "results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "latest.md"), md);
    writeFileSync(join(outDir, "latest.json"), JSON.stringify({ meta, rows, samples }, null, 2));
    console.log("\n" + md);
    console.log(`written: bench/results/latest.md, bench/results/latest.json`);
  } finally {
    await gw?.stop();
    await upstream.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
