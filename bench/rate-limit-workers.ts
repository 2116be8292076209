// `npm run bench:rate-limit [-- --workers W --rounds N --duration S]`: rate-limit on several
// Envoy worker threads (default 2), against Envoy's native local_ratelimit with the same bucket,
// in the same Envoy and the same run. What it shows that `npm run bench` (one worker) cannot:
// how often two workers race on one bucket in shared data (compare-and-swap conflicts, retried),
// and what that costs per request.
//
// Scenarios, one listener each, all on the same Envoy and upstream:
//   baseline          router only: the 1.00 of every ratio
//   native            local_ratelimit, one bucket (shared by workers), a limit that never triggers
//   ours-one-bucket   rate-limit, the default fixed key: one bucket, the same never-triggering limit
//   ours-per-ip       rate-limit keyed on client_ip (wrk's connections all come from 127.0.0.1)
//   native-limited    local_ratelimit, burst 200, 2,000/s: the load is far above it
//   ours-limited      rate-limit, the same bucket
// Every request of the never-triggering scenarios writes its bucket: the worst case for races.
// Not a test: nothing is asserted.
import { parseArgs } from "node:util";
import {
  bootstrap,
  filterWasm,
  httpListener,
  processCpuSeconds,
  runWrk,
  startEnvoy,
  staticCluster,
  wasmHttpFilter,
  type Json,
} from "../test/support/index.js";
import { shuffle } from "./order.js";

const { values: args } = parseArgs({
  options: { workers: { type: "string" }, rounds: { type: "string" }, duration: { type: "string" }, connections: { type: "string" } },
});
const workers = Number(args.workers ?? 2);
const rounds = Number(args.rounds ?? 3);
const durationSec = Number(args.duration ?? 5);
const connections = Number(args.connections ?? 32);

const NEVER = { requests: 1_000_000, period_s: 1, burst: 1_000_000 };
const LIMITED = { requests: 2_000, period_s: 1, burst: 200 };

const ours = (name: string, rule: Json): Json =>
  wasmHttpFilter({
    file: filterWasm("rate-limit"),
    name: `${name}.rate-limit`,
    vmId: name,
    rootId: "rate-limit",
    configuration: { stat_prefix: name, rules: [rule] },
  });
const native = (name: string, b: typeof NEVER): Json => ({
  name: "envoy.filters.http.local_ratelimit",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
    stat_prefix: name,
    // Envoy >= 1.31 refills this bucket continuously, like ours (see the rate-limit README).
    token_bucket: { max_tokens: b.burst, tokens_per_fill: b.requests, fill_interval: `${b.period_s}s` },
    filter_enabled: { runtime_key: `${name}_enabled`, default_value: { numerator: 100, denominator: "HUNDRED" } },
    filter_enforced: { runtime_key: `${name}_enforced`, default_value: { numerator: 100, denominator: "HUNDRED" } },
  },
});

interface Scenario {
  name: string;
  filters: Json[];
  rule?: string;
}
const SCENARIOS: Scenario[] = [
  { name: "baseline", filters: [] },
  { name: "native", filters: [native("native", NEVER)] },
  { name: "ours_one_bucket", filters: [ours("ours_one_bucket", { name: "all", ...NEVER })], rule: "all" },
  { name: "ours_per_ip", filters: [ours("ours_per_ip", { name: "per_client", ...NEVER, key: [{ client_ip: true }] })], rule: "per_client" },
  { name: "native_limited", filters: [native("native_limited", LIMITED)] },
  { name: "ours_limited", filters: [ours("ours_limited", { name: "all", ...LIMITED })], rule: "all" },
];

interface Totals {
  requests: number;
  ok: number;
  durationS: number;
  cpuS: number;
  casRetries: number;
  decisions: number;
  cxPerWorker: number[];
}

async function main(): Promise<void> {
  if (!(workers >= 1)) throw new Error("--workers must be at least 1");
  const up = await startEnvoy({
    name: "rl-workers-upstream",
    logLevel: "warning",
    config: bootstrap({ listeners: [httpListener({ name: "u", directResponse: { status: 200, body: "x".repeat(128) } })] }),
  });
  const gw = await startEnvoy({
    name: "rl-workers-gateway",
    concurrency: workers,
    logLevel: "warning",
    // The listener's own stat_prefix puts per-worker connection counts under listener.<name>.worker_<n>.
    config: bootstrap({
      listeners: SCENARIOS.map((s) => ({ ...httpListener({ name: s.name, cluster: "up", httpFilters: s.filters }), stat_prefix: s.name })),
      clusters: [staticCluster("up", up.listenerPort("u"))],
    }),
  });
  try {
    const totals = new Map<string, Totals>(
      SCENARIOS.map((s) => [
        s.name,
        { requests: 0, ok: 0, durationS: 0, cpuS: 0, casRetries: 0, decisions: 0, cxPerWorker: new Array<number>(workers).fill(0) },
      ]),
    );
    const counters = async (s: Scenario) => {
      const st = await gw.stats(`(rate_limit\\.${s.name}\\.|listener\\.${s.name}\\.worker_)`);
      const stat = (n: string) => st.get(n) ?? 0;
      const rl = `wasmcustom.portico.rate_limit.${s.name}.${s.rule}.`;
      return {
        cas: stat(`${rl}cas_retries_total`),
        decisions: stat(`${rl}allowed_total`) + stat(`${rl}limited_total`),
        cx: Array.from({ length: workers }, (_, w) => stat(`listener.${s.name}.worker_${w}.downstream_cx_total`)),
      };
    };
    console.log(
      `warm-up, then ${rounds} rounds x ${durationSec}s per scenario in shuffled order; Envoy --concurrency ${workers}, wrk ${workers} threads / ${connections} connections`,
    );
    for (const s of SCENARIOS) await runWrk({ url: gw.url("/", s.name), connections, threads: workers, durationSec: 1 });
    for (let r = 1; r <= rounds; r++) {
      for (const s of shuffle(SCENARIOS)) {
        const before = await counters(s);
        const cpu0 = processCpuSeconds(gw.envoyPid);
        const res = await runWrk({ url: gw.url("/", s.name), connections, threads: workers, durationSec, countStatuses: true });
        const cpu = processCpuSeconds(gw.envoyPid) - cpu0;
        const after = await counters(s);
        const t = totals.get(s.name)!;
        t.requests += res.requests;
        t.ok += res.statuses?.["200"] ?? 0;
        t.durationS += res.durationUs / 1e6;
        t.cpuS += cpu;
        t.casRetries += after.cas - before.cas;
        t.decisions += after.decisions - before.decisions;
        after.cx.forEach((c, w) => {
          t.cxPerWorker[w]! += c - before.cx[w]!;
        });
        console.log(`round ${r}/${rounds} ${s.name.padEnd(16)} ${res.rps.toFixed(0).padStart(7)} req/s  ${JSON.stringify(res.statuses)}`);
      }
    }
    const base = totals.get("baseline")!;
    const cpuUs = (t: Totals) => (t.cpuS / t.requests) * 1e6;
    const rps = (t: Totals) => t.requests / t.durationS;
    console.log(
      `\n| scenario | req/s | req/s × base | CPU µs/req | CPU × base | added µs/req | CAS retries per 1,000 decisions | admitted/s | connections per worker |`,
    );
    console.log(`|---|---:|---:|---:|---:|---:|---:|---:|---|`);
    for (const s of SCENARIOS) {
      const t = totals.get(s.name)!;
      const cas = s.rule ? `${((t.casRetries / Math.max(1, t.decisions)) * 1000).toFixed(2)} (${t.casRetries} of ${t.decisions})` : "—";
      console.log(
        `| ${s.name} | ${rps(t).toFixed(0)} | ${(rps(t) / rps(base)).toFixed(2)} | ${cpuUs(t).toFixed(1)} | ${(cpuUs(t) / cpuUs(base)).toFixed(2)} | ${(cpuUs(t) - cpuUs(base)).toFixed(1)} | ${cas} | ${(t.ok / t.durationS).toFixed(0)} | ${t.cxPerWorker.join(" / ")} |`,
      );
    }
    const pair = (o: string, n: string) => {
      const a = totals.get(o)!,
        b = totals.get(n)!;
      console.log(
        `${o} vs ${n}: req/s ${(rps(a) / rps(b)).toFixed(2)}x, CPU per request ${(cpuUs(a) / cpuUs(b)).toFixed(2)}x, added CPU ${(cpuUs(a) - cpuUs(base)).toFixed(1)} vs ${(cpuUs(b) - cpuUs(base)).toFixed(1)} µs`,
      );
    };
    console.log("");
    pair("ours_one_bucket", "native");
    pair("ours_per_ip", "native");
    pair("ours_limited", "native_limited");
  } finally {
    await gw.stop();
    await up.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
