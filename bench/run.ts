// `npm run bench [-- --quick] [-- --rounds N --duration S --warmup S --connections C --concurrency W --only a,b --no-chart --check-only --costs-only --calibrate --floor]`
//
// Starts an upstream (an Envoy answering with a fixed direct_response, so the upstream is
// cheap and the same for all) and the Envoy under test through func-e with a fixed
// --concurrency, one listener per scenario (bench/scenarios.ts). Before measuring, one request
// per scenario goes through a second gateway in front of an echo upstream, so every scenario is
// shown to answer 200 and the implementations of one job to make the same header changes.
// After a warm-up, runs wrk (HTTP/1.1 keep-alive) for each scenario, interleaved and repeated in
// shuffled order, so machine noise shows as spread rather than as a wrong ranking. Every figure
// is also given as a ratio to the baseline scenario (Envoy with no filter) from the same run.
// Beside Envoy's figures, the host calls and allocations each scenario's Wasm filters make per
// request, counted in the emulator (bench/cost.ts; --costs-only prints those alone, no Envoy).
// Scenarios that ask a rate limit service (global rate limits, #16) get Redis and
// envoyproxy/ratelimit started here on free loopback ports (left out, with the reason, when
// install-tools.sh has not installed them); their CPU per request and resident memory are
// reported beside the gateway's, and the service's own decisions/s (bench/ratelimit-decisions.ts).
// --calibrate and --floor run reference modules instead of the whole suite (bench/calibration.ts:
// what Envoy charges per callback and host call; bench/replay.ts: the ABI floor of each filter).
// Writes bench/results/latest.md, latest.json and latest.png. Not a test: nothing here asserts
// a time.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  bootstrap,
  envoyPath,
  httpListener,
  parseEcho,
  processCpuSeconds,
  processRssBytes,
  rateLimitServiceCluster,
  ratelimitPath,
  redisServerPath,
  repoRoot,
  request,
  runWrk,
  startEchoUpstream,
  startEnvoy,
  startRateLimitService,
  startRedis,
  staticCluster,
  toolsDir,
  type Envoy,
  type Json,
  type RateLimitService,
  type Redis,
  type WrkResult,
} from "../test/support/index.js";
import { BENCH_PATH, benchHeaders, RATE_LIMIT_SERVICE_CLUSTER, scenarios, type Scenario } from "./scenarios.js";
import { DECISIONS_DOMAIN, measureDecisions } from "./ratelimit-decisions.js";
import { buildCalibrationModules, calibrationScenarios } from "./calibration.js";
import { floorScenarios } from "./replay.js";
import { scenarioCost, type ScenarioCost } from "./cost.js";
import { renderCostTable, renderMarkdown, summarize, type Meta, type Sample } from "./report.js";
import { shuffle } from "./order.js";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    duration: { type: "string" },
    warmup: { type: "string" },
    connections: { type: "string" },
    concurrency: { type: "string" },
    only: { type: "string" },
    "no-chart": { type: "boolean", default: false },
    "check-only": { type: "boolean", default: false },
    "costs-only": { type: "boolean", default: false },
    calibrate: { type: "boolean", default: false },
    floor: { type: "boolean", default: false },
    variant: { type: "string", multiple: true },
  },
});
const quick = args.quick ?? false;
const rounds = Number(args.rounds ?? (quick ? 2 : 5));
const durationSec = Number(args.duration ?? (quick ? 2 : 8));
const warmupSec = Number(args.warmup ?? (quick ? 1 : 2));
const connections = Number(args.connections ?? 16);
const concurrency = Number(args.concurrency ?? 1);

const listenerName = (s: Scenario) => s.name.replace(/-/g, "_");

/** The Go plugins (cached by bench/go/build.sh: rebuilt only when their sources changed). */
function buildGoPlugins(all: Scenario[]): void {
  if (!all.some((s) => s.impl === "go")) return;
  const r = spawnSync("bash", [join(repoRoot, "bench/go/build.sh")], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("bench/go/build.sh failed (see above)");
}

/**
 * The Rust plugins (bench/rust/build.sh, cached the same way). Rust is optional: when the
 * toolchain or its wasm32-wasip1 target is missing (the script exits 3 and says why), the Rust
 * rows are left out of the run and the reason is reported instead of failing the bench.
 */
function buildRustPlugins(all: Scenario[]): { kept: Scenario[]; skipped?: string } {
  if (!all.some((s) => s.impl === "rust")) return { kept: all };
  const r = spawnSync("bash", [join(repoRoot, "bench/rust/build.sh")], { stdio: ["ignore", "inherit", "pipe"], encoding: "utf8" });
  process.stderr.write(r.stderr ?? "");
  if (r.status === 3) {
    const reason =
      (r.stderr ?? "")
        .trim()
        .split("\n")
        .pop()
        ?.replace(/^bench\/rust\/build\.sh: /, "") || "no Rust toolchain";
    return { kept: all.filter((s) => s.impl !== "rust"), skipped: reason };
  }
  if (r.status !== 0) throw new Error("bench/rust/build.sh failed (see above)");
  return { kept: all };
}

/** A filter's config with `prefix` as its stat prefix; a suite's (`plugins: [...]`) on each member. */
function withStatPrefix(config: unknown, prefix: string): Json {
  const c = config as { plugins?: { filter: string; config: object }[] };
  if (Array.isArray(c.plugins))
    return { ...c, plugins: c.plugins.map((m) => ({ ...m, config: { ...m.config, stat_prefix: prefix } })) } as Json;
  return { ...(config as object), stat_prefix: prefix } as Json;
}

function variantScenario(all: Scenario[], spec: string): Scenario {
  const m = /^([\w.-]+)=([\w-]+):(.+\.wasm)$/.exec(spec);
  if (!m) throw new Error(`--variant ${spec}: expected name=scenario:file.wasm`);
  const [, name, of, file] = m as unknown as [string, string, string, string];
  const base = all.find((s) => s.name === of);
  if (!base?.plugins?.length || base.filters?.length !== 1) throw new Error(`--variant ${spec}: ${of} is not a one-filter Wasm scenario`);
  const path = resolve(file);
  const filter = JSON.parse(JSON.stringify(base.filters[0])) as Json;
  const cfg = (
    filter as { typed_config: { config: { name: string; vm_config: { vm_id: string; code: { local: { filename: string } } } } } }
  ).typed_config.config;
  cfg.name = cfg.vm_config.vm_id = `variant-${name}`;
  cfg.vm_config.code.local.filename = path;
  // Its own stat prefix, so its memory gauge (and counters) are not the copied scenario's.
  const prefix = `variant_${name.replace(/\W/g, "_")}`;
  const configuration = (cfg as unknown as { configuration?: { value: string } }).configuration;
  if (configuration) configuration.value = JSON.stringify(withStatPrefix(JSON.parse(configuration.value), prefix));
  return {
    ...base,
    name: `variant-${name}`,
    description: `${of} built from ${file}`,
    filters: [filter],
    modules: [path],
    plugins: [{ ...base.plugins[0]!, module: path, config: withStatPrefix(base.plugins[0]!.config, prefix) }],
    memoryGauges: base.memoryGauges.map((g) => g.replace(/\.[\w]+\.vm_memory_bytes$/, `.${prefix}.vm_memory_bytes`)),
    sameAs: of,
    baseline: false,
  };
}

function missingModules(all: Scenario[]): string[] {
  return [...new Set(all.flatMap((s) => s.modules))].filter((m) => !existsSync(m));
}

/**
 * The rate limit service (envoyproxy/ratelimit) and its Redis, for the scenarios that ask it
 * (global rate limits), on free loopback ports; with either tool missing (scripts/install-tools.sh
 * installs both) those scenarios are left out and the reason reported, as for the Rust rows.
 */
interface ServiceStack {
  redis: Redis;
  service: RateLimitService;
}

async function startServiceStack(all: Scenario[]): Promise<{ kept: Scenario[]; stack?: ServiceStack; skipped?: string }> {
  const asking = all.filter((s) => s.rateLimitService);
  if (!asking.length) return { kept: all };
  try {
    redisServerPath();
    ratelimitPath();
  } catch (err) {
    return { kept: all.filter((s) => !s.rateLimitService), skipped: (err as Error).message.split("\n")[0] };
  }
  const redis = await startRedis();
  try {
    // A generous pool: every scenario request is one decision, one Redis round trip.
    const domains = [...asking.map((s) => s.rateLimitService!), DECISIONS_DOMAIN];
    const service = await startRateLimitService({ redis: redis.address, domains, redisPoolSize: 16 });
    return { kept: all, stack: { redis, service } };
  } catch (err) {
    await redis.stop();
    throw err;
  }
}

/** The gateway config: one listener per proxied scenario, all routed to `cluster`; the rate limit service's cluster when it runs. */
function gatewayConfig(all: Scenario[], cluster: string, port: number, stack?: ServiceStack): Json {
  const proxied = all.filter((s) => s.filters !== null);
  return bootstrap({
    listeners: proxied.map((s) => httpListener({ name: listenerName(s), httpFilters: s.filters!, cluster, routes: s.routes })),
    clusters: [
      staticCluster(cluster, port),
      ...(stack ? [rateLimitServiceCluster(RATE_LIMIT_SERVICE_CLUSTER, stack.service.grpcPort)] : []),
    ],
  });
}

/** CPU seconds used so far by the rate limit service and by Redis. */
const stackCpu = (stack: ServiceStack) => ({
  service: processCpuSeconds(stack.service.pid()),
  redis: processCpuSeconds(stack.redis.pid()),
});

// Headers the scenarios' filters read or write: what the check compares within a family.
const UPSTREAM_VIEW = [
  "x-gateway",
  "x-client-ip",
  "x-forwarded-path",
  "x-internal-debug",
  "x-api-key",
  "x-legacy-key",
  "x-api-version",
  "x-user",
  "x-consumer-name",
];
const CLIENT_VIEW = ["x-served-by", "x-debug-path", "x-envoy-upstream-service-time"];

interface CheckResult {
  scenario: string;
  status: number;
  seen: Record<string, string>;
}

/**
 * One request per scenario through a gateway in front of an echo upstream (with x-debug and
 * x-internal-debug added, so every rule has something to do). Fails on any status but 200;
 * lists where an implementation's header changes differ from ours in the same family.
 */
async function checkScenarios(all: Scenario[], cluster: string, show: boolean, stack?: ServiceStack): Promise<string[]> {
  const echo = await startEchoUpstream({ record: false });
  let gw: Envoy | undefined;
  try {
    gw = await startEnvoy({
      name: "bench-check",
      concurrency: 1,
      logLevel: "warning",
      config: gatewayConfig(all, cluster, echo.port, stack),
    });
    const results: CheckResult[] = [];
    for (const s of all.filter((x) => x.filters !== null)) {
      const res = await request(gw.url(BENCH_PATH, listenerName(s)), {
        headers: [...benchHeaders(s), ["x-debug", "1"], ["x-internal-debug", "yes"]],
      });
      const seen: Record<string, string> = {};
      if (res.status === 200) {
        const rec = parseEcho(res.body);
        for (const h of UPSTREAM_VIEW)
          seen[`> ${h}`] =
            rec.headers
              .filter(([k]) => k.toLowerCase() === h)
              .map(([, v]) => v)
              .join(", ") || "(absent)";
        for (const h of CLIENT_VIEW)
          seen[`< ${h}`] = res.header(h) === undefined ? "(absent)" : h === "x-envoy-upstream-service-time" ? "(present)" : res.header(h)!;
      }
      results.push({ scenario: s.name, status: res.status, seen });
      if (show) console.log(`  ${s.name} ${res.status} ${JSON.stringify(seen)}`);
    }
    const bad = results.filter((r) => r.status !== 200);
    if (bad.length) throw new Error(`scenarios that do not answer 200: ${bad.map((r) => `${r.scenario} (${r.status})`).join(", ")}`);
    const notes: string[] = [];
    for (const s of all) {
      const ref = s.sameAs
        ? all.find((o) => o.name === s.sameAs)
        : s.impl === "ours" || s.impl === "reference"
          ? undefined
          : all.find((o) => o.family === s.family && o.impl === "ours");
      const mine = results.find((r) => r.scenario === s.name);
      const theirs = results.find((r) => r.scenario === ref?.name);
      if (!ref || !mine || !theirs) continue;
      for (const [k, v] of Object.entries(theirs.seen)) {
        if (mine.seen[k] !== v) notes.push(`${s.name} vs ${ref.name}: ${k} is ${JSON.stringify(mine.seen[k])}, ours ${JSON.stringify(v)}`);
      }
    }
    return notes;
  } finally {
    await gw?.stop();
    await echo.close();
  }
}

/**
 * --calibrate and/or --floor, instead of the filters: the reference rows, and
 * - --calibrate: the calibration modules (bench/calibration.ts);
 * - --floor: each floor row (bench/replay.ts) with the scenario of ours it replays and the native
 *   rows of its family, so ours − floor and floor − native are same-run figures (the native rows
 *   that need the rate limit service are left out: no floor row asks it).
 */
async function referenceRuns(cluster: string): Promise<Scenario[]> {
  const all = scenarios(cluster);
  const out = all.filter((s) => s.family === "reference");
  if (args.calibrate) {
    buildCalibrationModules();
    out.push(...calibrationScenarios());
  }
  if (args.floor) {
    const floor = await floorScenarios(all);
    const compared = all.filter(
      (s) =>
        !s.rateLimitService &&
        floor.some((f) => f.sameAs === s.name || (f.family === s.family && s.impl === "native" && s.family !== "reference")),
    );
    out.push(...compared, ...floor);
  }
  return out;
}

async function main(): Promise<void> {
  const started = Date.now();
  const cluster = "upstream";
  const candidates = args.calibrate || args.floor ? await referenceRuns(cluster) : scenarios(cluster);
  // With --calibrate/--floor, --only may also name rows of the full run (e.g. chain-suite, the Rust
  // rows), so they are measured in the same run as the floor and calibration rows.
  if (args.calibrate || args.floor) {
    const named = new Set(args.only?.split(",") ?? []);
    for (const s of scenarios(cluster)) if (named.has(s.name) && !candidates.some((c) => c.name === s.name)) candidates.push(s);
  }
  // --variant name=scenario:file.wasm (repeatable): another build of one of our filters, run beside
  // the scenario it copies (same config, same pre-run check), so a change is A/B-measured in one run.
  for (const v of args.variant ?? []) candidates.push(variantScenario(candidates, v));
  const selected = candidates.filter(
    (s) => !args.only || args.only.split(",").includes(s.name) || s.baseline || s.name.startsWith("variant-"),
  );
  buildGoPlugins(selected);
  const { kept: afterRust, skipped: rustSkipped } = buildRustPlugins(selected);
  if (rustSkipped) {
    const names = selected.filter((s) => s.impl === "rust").map((s) => s.name);
    console.log(`rust: skipping ${names.join(", ")}: ${rustSkipped}`);
  }
  const missing = missingModules(afterRust);
  if (missing.length) throw new Error(`missing Wasm modules: ${missing.join(", ")}; run \`make build\` (npm run build:wasm) first`);

  // Deterministic counts, no Envoy: quick, and printed before the long part.
  const costs: Record<string, ScenarioCost> = {};
  for (const s of afterRust) {
    const c = await scenarioCost(s.plugins, s.headers);
    if (c) costs[s.name] = c;
  }
  console.log(`cost per request, counted in the emulator (bench/cost.ts):\n${renderCostTable(afterRust, costs)}\n`);
  if (args["costs-only"]) return;

  const { kept: all, stack, skipped: serviceSkipped } = await startServiceStack(afterRust);
  if (serviceSkipped) {
    const names = afterRust.filter((s) => s.rateLimitService).map((s) => s.name);
    console.log(`rate limit service: skipping ${names.join(", ")}: ${serviceSkipped}`);
  }
  try {
    await measure(all, cluster, started, { selected, rustSkipped, serviceSkipped, costs, stack });
  } finally {
    await stack?.service.stop();
    await stack?.redis.stop();
  }
}

async function measure(
  all: Scenario[],
  cluster: string,
  started: number,
  o: { selected: Scenario[]; rustSkipped?: string; serviceSkipped?: string; costs: Record<string, ScenarioCost>; stack?: ServiceStack },
): Promise<void> {
  const { selected, rustSkipped, costs, stack } = o;
  console.log(`check: one request per scenario through an echo upstream`);
  const notes = await checkScenarios(all, cluster, args["check-only"] ?? false, stack);
  for (const n of notes) console.log(`  differs: ${n}`);
  if (!notes.length) console.log("  every implementation makes the same header changes as ours");
  if (args["check-only"]) return;

  const upstream = await startEnvoy({
    name: "bench-upstream",
    concurrency: 1,
    logLevel: "warning",
    config: bootstrap({ listeners: [httpListener({ name: "upstream", directResponse: { status: 200, body: "x".repeat(128) } })] }),
  });
  let gw: Envoy | undefined;
  try {
    gw = await startEnvoy({
      name: "bench-gateway",
      concurrency,
      logLevel: "warning",
      config: gatewayConfig(all, cluster, upstream.listenerPort("upstream"), stack),
    });
    const urlOf = (s: Scenario) => (s.filters === null ? upstream.url(BENCH_PATH, "upstream") : gw!.url(BENCH_PATH, listenerName(s)));

    console.log(`warm-up: ${all.length} scenarios x ${warmupSec}s`);
    for (const s of all) await runWrk({ url: urlOf(s), connections, durationSec: warmupSec, headers: benchHeaders(s) });

    const samples: Sample[] = [];
    for (let r = 1; r <= rounds; r++) {
      for (const s of shuffle(all)) {
        const pid = s.filters === null ? upstream.envoyPid : gw.envoyPid;
        const cpu0 = processCpuSeconds(pid);
        const side0 = stack && s.rateLimitService ? stackCpu(stack) : undefined;
        const res: WrkResult = await runWrk({ url: urlOf(s), connections, durationSec, headers: benchHeaders(s) });
        const cpu = processCpuSeconds(pid) - cpu0;
        const side = side0 && stack ? stackCpu(stack) : undefined;
        samples.push({
          scenario: s.name,
          round: r,
          wrk: res,
          cpuSeconds: cpu,
          ...(side && side0 ? { serviceCpuSeconds: side.service - side0.service, redisCpuSeconds: side.redis - side0.redis } : {}),
        });
        const errors = Object.values(res.errors).reduce((a, b) => a + b, 0);
        console.log(
          `round ${r}/${rounds} ${s.name.padEnd(24)} ${res.rps.toFixed(0).padStart(7)} req/s  p99 ${(res.latencyUs.p99 / 1000).toFixed(2)} ms  errors ${errors}`,
        );
      }
    }

    // Linear memory of every VM after the run (each filter samples it every 1024 requests).
    const stats = await gw.stats("vm_memory_bytes");
    const memory: Record<string, number> = {};
    for (const s of all) {
      if (s.memoryGauges.length) memory[s.name] = s.memoryGauges.reduce((a, g) => a + (stats.get(g) ?? NaN), 0);
    }
    const sizes: Record<string, number> = {};
    for (const s of all) if (s.modules.length) sizes[s.name] = s.modules.reduce((a, m) => a + statSync(m).size, 0);

    // The global scenarios' calls: made, and none failed (a failed call admits without a decision).
    let rateLimitService: Meta["rateLimitService"];
    if (stack) {
      const calls = Object.fromEntries(
        await gw.stats("global\\.(calls|errors)_total|ratelimit\\.(ok|error|failure_mode_allowed|over_limit)$"),
      );
      console.log(`rate limit service calls: ${JSON.stringify(calls)}`);
      console.log(`rate limit service alone: h2load for ${durationSec} s`);
      const decisions = await measureDecisions(stack.service, { seconds: durationSec });
      console.log(`  ${decisions.decisionsPerSec.toFixed(0)} decisions/s (${decisions.decisions} counted in Redis)`);
      const rssBytes = { service: processRssBytes(stack.service.pid()), redis: processRssBytes(stack.redis.pid()) };
      rateLimitService = { calls, decisions, rssBytes };
    }
    const rows = summarize(all, samples, memory, sizes, costs);
    const envoyVersion = (await gw.admin("/server_info")).body.match(/"version": "([^"]+)"/)?.[1] ?? "?";
    const meta: Meta = {
      date: new Date().toISOString(),
      command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
      machine: `${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${process.platform === "linux" ? (spawnSync("uname", ["-r"]).stdout?.toString().trim() ?? "") : process.platform}`,
      envoy: envoyVersion.split("/").slice(1, 2).join("") || envoyVersion,
      envoyPath: envoyPath(),
      go: spawnSync("go", ["version"]).stdout?.toString().trim() ?? "?",
      rust: !selected.some((s) => s.impl === "rust")
        ? undefined
        : rustSkipped
          ? `Rust rows skipped (${rustSkipped})`
          : (spawnSync("rustc", ["--version"]).stdout?.toString().trim() ?? "rustc ?"),
      settings: { rounds, durationSec, warmupSec, connections, envoyConcurrency: concurrency, wrkThreads: 1, path: BENCH_PATH },
      durationSec: Math.round((Date.now() - started) / 1000),
      checkNotes: notes,
      ...(rateLimitService ? { rateLimitService } : {}),
      ...(o.serviceSkipped ? { rateLimitServiceSkipped: o.serviceSkipped } : {}),
    };
    const md = renderMarkdown(meta, all, rows, costs, samples);
    const outDir = join(repoRoot, "bench", "results");
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, "latest.md"), md);
    writeFileSync(
      join(outDir, "latest.json"),
      JSON.stringify(
        { meta, scenarios: all.map(({ name, family, impl, description }) => ({ name, family, impl, description })), rows, samples },
        null,
        2,
      ),
    );
    console.log(`\n${md}`);
    const written = ["bench/results/latest.md", "bench/results/latest.json"];
    if (!args["no-chart"]) {
      drawChart(join(outDir, "latest.json"), join(outDir, "latest.png"));
      written.push("bench/results/latest.png");
    }
    console.log(`written: ${written.join(", ")} (${meta.durationSec}s in all)`);
  } finally {
    await gw?.stop();
    await upstream.stop();
  }
}

/** bench/chart.py (matplotlib in the tools venv that scripts/install-tools.sh sets up). */
function drawChart(json: string, png: string): void {
  const python = join(toolsDir(), "venv", "bin", "python");
  if (!existsSync(python)) throw new Error(`${python} not found; run scripts/install-tools.sh (or pass --no-chart)`);
  const r = spawnSync(python, [join(repoRoot, "bench", "chart.py"), json, png], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("bench/chart.py failed (matplotlib missing? run scripts/install-tools.sh)");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
