// `npm run bench:control-plane [-- --quick] [-- --routes 1000,10000 --reps 5 --cpu-prof]`
//
// The control plane at scale: a generated gateway file with N routes (each its own path prefix
// and header match) over 50 upstreams with static endpoints and two suite plugins, for each N:
//   - load + validate, translate and encode times (the work of one reload);
//   - with two real Envoys joined: time from a saved edit to the ACK of both Envoys, for an
//     edit of one route (RDS), one endpoint (EDS) and one plugin config (ECDS), and the initial
//     sync of a fresh Envoy;
//   - the control plane's memory with the snapshot in place, and the snapshot's encoded size.
// Each N runs in a child process (bench/control-plane/measure.ts) started with --expose-gc, so
// memory is measured after a collection and is not inflated by an earlier run. Writes
// bench/results/control-plane.md and .json. Not a test: nothing here asserts a time.
// --quick: 1,000 routes and 2 repetitions (under a minute). --cpu-prof: V8 CPU profiles of the
// children in bench/results/profiles/control-plane-N/ (Chrome DevTools or speedscope open them).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../test/support/index.js";
import { renderMarkdown, type Meta } from "./control-plane/report.js";
import type { SizeResult } from "./control-plane/types.js";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    routes: { type: "string" },
    reps: { type: "string" },
    "cpu-prof": { type: "boolean", default: false },
  },
});
const quick = args.quick ?? false;
const routeCounts = (args.routes ?? (quick ? "1000" : "1000,10000")).split(",").map(Number);
const reps = Number(args.reps ?? (quick ? 2 : 5));
const outDir = join(repoRoot, "bench", "results");

function measure(routes: number, outFile: string): Promise<void> {
  const node = ["--expose-gc", "--import", "tsx"];
  // One directory per route count: Node writes a profile per thread (tsx's loader runs in one
  // of its own); the main thread's is the large one.
  if (args["cpu-prof"]) node.push("--cpu-prof", `--cpu-prof-dir=${join(outDir, "profiles", `control-plane-${routes}`)}`);
  const script = join(repoRoot, "bench", "control-plane", "measure.ts");
  const child = spawn(process.execPath, [...node, script, "--routes", String(routes), "--reps", String(reps), "--out", outFile], {
    cwd: repoRoot,
    stdio: "inherit",
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`measure.ts --routes ${routes} failed (${signal ?? `exit code ${code}`})`)),
    );
  });
}

async function main(): Promise<void> {
  const loadAverage = loadavg();
  const tmp = mkdtempSync(join(tmpdir(), "portico-cp-bench-results-"));
  const results: SizeResult[] = [];
  try {
    for (const routes of routeCounts) {
      const file = join(tmp, `${routes}.json`);
      await measure(routes, file);
      results.push(JSON.parse(readFileSync(file, "utf8")) as SizeResult);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const meta: Meta = {
    date: new Date().toISOString(),
    command: `npm run bench:control-plane${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}`,
    loadAverage,
    node: process.version,
    envoy: results[0]?.envoyVersion ?? "?",
    reps,
    debounce: results[0]?.debounce ?? { quietMs: NaN, maxDelayMs: NaN },
  };
  const md = renderMarkdown(meta, results);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "control-plane.md"), md);
  writeFileSync(join(outDir, "control-plane.json"), JSON.stringify({ meta, results }, null, 2));
  console.log(`\n${md}`);
  console.log("written: bench/results/control-plane.md, bench/results/control-plane.json");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
