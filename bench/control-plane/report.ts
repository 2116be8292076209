// Markdown for the control-plane benchmark: one section per question the issue asks (stage
// times, saved edit to ACK, memory), one row per route count.
import type { EditKind } from "./gateway-file.js";
import type { SizeResult } from "./types.js";

export interface Meta {
  date: string;
  command: string;
  machine: string;
  /** os.loadavg() when the run started: other work on the machine shows up in every figure. */
  loadAverage: number[];
  node: string;
  envoy: string;
  reps: number;
  debounce: { quietMs: number; maxDelayMs: number };
}

const median = (xs: number[]): number => {
  const a = xs.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m]! : (a[m - 1]! + a[m]!) / 2;
};
const max = (xs: number[]): number => (xs.length ? Math.max(...xs) : NaN);
const min = (xs: number[]): number => (xs.length ? Math.min(...xs) : NaN);

const ms = (n: number): string => (Number.isNaN(n) ? "—" : n < 10 ? n.toFixed(1) : n.toFixed(0));
const spread = (xs: number[]): string => `${ms(median(xs))} (${ms(min(xs))}–${ms(max(xs))})`;
const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
const size = (n: number): string => (n < 2 ** 20 ? `${(n / 1024).toFixed(0)} KiB` : mib(n));

const EDITS: { kind: EditKind; label: string }[] = [
  { kind: "route", label: "one route's path prefix" },
  { kind: "endpoint", label: "one upstream's endpoint" },
  { kind: "plugin", label: "one plugin's config" },
];

export function renderMarkdown(meta: Meta, results: SizeResult[]): string {
  const gc = results.every((r) => r.memory.gcExposed);
  const lines = [
    "# Control-plane scale benchmark",
    "",
    `- date: ${meta.date}`,
    `- command: \`${meta.command}\``,
    `- machine: ${meta.machine}; Node ${meta.node}; Envoy ${meta.envoy}; load average at start ${meta.loadAverage.map((x) => x.toFixed(2)).join(" ")}`,
    `- config: N routes on one listener (path prefix + header match each), ${results[0]?.upstreams ?? "?"} upstreams with 2 static IP endpoints (EDS), header-rewrite on every 10th route and rate-limit on every 20th`,
    `- ${meta.reps} repetitions per figure; times in ms, median (min–max) unless marked`,
    "",
    "## Config to snapshot, in process",
    "",
    "Each stage alone, on the saved file, with the plugin checker warm (a reload's work; one warm-up run left out).",
    "",
    "| routes | file | load + validate | translate | encode (cache.set) | model compare | sum | control-plane cold start | snapshot (RDS) |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    const sum = median(r.loadMs) + median(r.translateMs) + median(r.encodeMs) + median(r.compareMs);
    const rds = r.snapshot.byType.RouteConfiguration?.bytes ?? 0;
    lines.push(
      `| ${r.routes} | ${size(r.yamlBytes)} | ${spread(r.loadMs)} | ${spread(r.translateMs)} | ${spread(r.encodeMs)} | ${spread(r.compareMs)} | ${ms(sum)} | ${ms(r.coldStartMs)} | ${size(r.snapshot.totalBytes)} (${size(rds)}) |`,
    );
  }
  lines.push(
    "",
    "- load + validate: `loadGatewayFile` with `createPluginChecker()` (YAML parse, shape, references, each plugin's configure step in the emulator).",
    "- model compare: `onlyEndpointsDiffer`, which every reload runs to tell an endpoint-only edit from the rest.",
    "- cold start: `ControlPlane.start()` with the file (first load, protos and filters compiled cold, translate, encode, servers listening).",
    "- snapshot: bytes of every encoded resource (the Any values sent); in brackets the one RouteConfiguration.",
    "",
    "## Saved edit to ACK from every Envoy",
    "",
    `Two Envoys (\`--concurrency 1\` each) joined over ADS. The file is replaced (write + rename) and the clock stops at the last ACK of the new versions, as the control plane receives it. The file watch waits ${meta.debounce.quietMs} ms of quiet before reloading (the file source's default, which \`portico run\` uses): that much of every figure is the debounce.`,
    "",
    "| routes | edit | xDS types changed | save → new snapshot | new snapshot → ACK by both | save → ACK by both: median | max |",
    "|---:|---|---|---:|---:|---:|---:|",
  );
  for (const r of results) {
    for (const { kind, label } of EDITS) {
      const s = r.edits[kind];
      const changed = [...new Set(s.map((x) => x.changed.join("+")))].join(" / ");
      lines.push(
        `| ${r.routes} | ${label} | ${changed} | ${spread(s.map((x) => x.pushMs))} | ${spread(s.map((x) => x.ackMs - x.pushMs))} | ${ms(median(s.map((x) => x.ackMs)))} | ${ms(max(s.map((x) => x.ackMs)))} |`,
      );
    }
    const j = r.joins;
    lines.push(
      `| ${r.routes} | fresh Envoy joins (${j.length}×) | all | connected after ${spread(j.map((x) => x.connectMs))} | connected → in sync ${spread(j.map((x) => x.syncedMs - x.connectMs))} | ${ms(median(j.map((x) => x.syncedMs)))} | ${ms(max(j.map((x) => x.syncedMs)))} |`,
    );
  }
  lines.push(
    "",
    'For a fresh Envoy the clock starts when func-e is launched, and "ACK by both" means that Envoy\'s ACK of every type.',
    "",
    "## Control-plane memory",
    "",
    `The benchmark process, which holds the control plane, for each route count in a process of its own${gc ? ", after `gc()` (`--expose-gc`)" : " (gc not exposed: figures include garbage)"}. "before" is the process with everything imported and no control plane started; peak RSS is the highest RSS up to the end of the edits (start-up and reloads included). RSS after a peak depends on when V8 hands memory back; heapUsed after gc() is the figure to compare.`,
    "",
    "| routes | RSS before | RSS with snapshot | RSS with 2 Envoys synced | peak RSS | heapUsed before | heapUsed with snapshot | heapUsed with 2 Envoys | external with snapshot |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const r of results) {
    const m = r.memory;
    lines.push(
      `| ${r.routes} | ${mib(m.before.rss)} | ${mib(m.snapshot.rss)} | ${mib(m.withEnvoys.rss)} | ${mib(m.peakRss)} | ${mib(m.before.heapUsed)} | ${mib(m.snapshot.heapUsed)} | ${mib(m.withEnvoys.heapUsed)} | ${mib(m.snapshot.external)} |`,
    );
  }
  lines.push("", "Snapshot by type (resources, encoded bytes):", "");
  for (const r of results) {
    lines.push(
      `- ${r.routes} routes: ${Object.entries(r.snapshot.byType)
        .filter(([, v]) => v.resources > 0)
        .map(([t, v]) => `${t}: ${v.resources} (${size(v.bytes)})`)
        .join(", ")}`,
    );
  }
  lines.push("");
  return lines.join("\n");
}
