// One route count of the control-plane benchmark, in a process of its own so that its memory
// figures are not those of an earlier, larger run (RSS does not shrink back after a peak).
// Started by bench/control-plane.ts as
//   node --expose-gc --import tsx bench/control-plane/measure.ts --routes N --reps R --out FILE
// Order: control plane alone (memory), two Envoys joining (initial sync), saved edits (edit to
// ACK), then the stages in isolation with the Envoys gone (load, translate, encode).
// Not a test: nothing here asserts a time.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { loadGatewayFile, type LoadResult } from "../../control-plane/src/config/index.js";
import { onlyEndpointsDiffer } from "../../control-plane/src/gateway/changes.js";
import { createPluginChecker } from "../../control-plane/src/plugins/check-config.js";
import { translate } from "../../control-plane/src/translate/index.js";
import { ANY_NODE, SnapshotCache } from "../../control-plane/src/xds/cache.js";
import type { XdsServer } from "../../control-plane/src/xds/server.js";
import { PUSH_ORDER, shortTypeName, type TypeUrlValue } from "../../control-plane/src/xds/types.js";
import { joinEnvoy, startTestGateway, waitSynced, type TestGateway } from "../../control-plane/test/support/gateway.js";
import { freePort, repoRoot, type Envoy } from "../../test/support/index.js";
import { applyEdit, baseSpec, gatewayYaml, type EditKind, type GatewayFileSpec } from "./gateway-file.js";
import type { EditSample, JoinSample, Memory, SizeResult } from "./types.js";

const { values: args } = parseArgs({
  options: {
    routes: { type: "string" },
    reps: { type: "string", default: "5" },
    out: { type: "string" },
  },
});
const routes = Number(args.routes);
const reps = Number(args.reps);
if (!Number.isInteger(routes) || routes <= 0 || !Number.isInteger(reps) || reps < 1 || !args.out) {
  console.error("usage: measure.ts --routes N --reps R --out FILE");
  process.exit(2);
}

/** ConfigFileWatcher's own default, which `portico run` uses: the floor of every edit's latency. */
const DEBOUNCE = { quietMs: 150, maxDelayMs: 1000 };
const FILTERS_DIR = join(repoRoot, "dist/filters");
/** Generous: at 10,000 routes one Envoy start plus full sync takes seconds, not minutes. */
const WAIT_MS = 180_000;
const EDIT_KINDS: EditKind[] = ["route", "endpoint", "plugin"];

const say = (msg: string) => console.log(`[${routes} routes] ${msg}`);
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): Memory {
  // Twice: the first pass may only finalize what the second frees.
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

/** Every ACK and NACK the xDS server reports, with the time it arrived. */
class AckLog {
  private readonly acks: { nodeId: string; typeUrl: string; version: string; t: number }[] = [];
  private readonly nacks: { nodeId: string; typeUrl: string; version: string; message: string; t: number }[] = [];

  constructor(xds: XdsServer) {
    xds.on("ack", (e) => this.acks.push({ ...e, t: performance.now() }));
    xds.on("nack", (e) => this.nacks.push({ ...e, t: performance.now() }));
  }

  firstAck(nodeId: string, typeUrl: string, version: string, since: number): number | undefined {
    return this.acks.find((a) => a.t >= since && a.nodeId === nodeId && a.typeUrl === typeUrl && a.version === version)?.t;
  }

  /** A NACK means the figures would not be about a config Envoy runs: stop with Envoy's reason. */
  throwOnNack(since: number): void {
    const n = this.nacks.find((x) => x.t >= since);
    if (n) throw new Error(`${n.nodeId} rejected ${shortTypeName(n.typeUrl)} ${n.version}: ${n.message}`);
  }
}

/**
 * When `nodeId`, already reported in sync by waitSynced, ACKed the versions `want` (per type)
 * that it subscribes to. Uses the ACK events' own times, so the figure does not carry
 * waitSynced's polling interval.
 */
function lastAck(gw: TestGateway, log: AckLog, nodeId: string, want: Partial<Record<TypeUrlValue, string>>, since: number): number {
  const status = gw.cp.xds.status().find((n) => n.nodeId === nodeId);
  let last = since;
  for (const [type, version] of Object.entries(want) as [TypeUrlValue, string][]) {
    if (!status?.types[type]) continue; // a type this Envoy never subscribed to (no secrets here)
    const t = log.firstAck(nodeId, type, version, since);
    if (t === undefined) throw new Error(`${nodeId} is in sync but no ACK event of ${shortTypeName(type)} ${version} was seen`);
    last = Math.max(last, t);
  }
  return last;
}

/** Resolves at the cache's next change, with the time and the types that changed. */
function nextSnapshot(gw: TestGateway): { promise: Promise<{ t: number; changed: TypeUrlValue[] }>; cancel: () => void } {
  let cancel = () => {};
  const promise = new Promise<{ t: number; changed: TypeUrlValue[] }>((resolve) => {
    cancel = gw.cp.cache.onChange((_node, changed) => {
      cancel();
      resolve({ t: performance.now(), changed });
    });
  });
  return { promise, cancel };
}

async function timeJoin(gw: TestGateway, log: AckLog, nodeId: string): Promise<{ envoy: Envoy; sample: JoinSample }> {
  let connectedAt: number | undefined;
  const onConnect = (e: { nodeId: string }) => {
    if (e.nodeId === nodeId) connectedAt ??= performance.now();
  };
  gw.cp.xds.on("connect", onConnect);
  const t0 = performance.now();
  let envoy: Envoy | undefined;
  try {
    envoy = await joinEnvoy(gw.cp, nodeId, { concurrency: 1, logLevel: "warning", readyTimeoutMs: WAIT_MS });
    await waitSynced(gw.cp, nodeId, WAIT_MS);
    log.throwOnNack(t0);
    const snap = gw.cp.cache.get(nodeId)!;
    const want = Object.fromEntries(PUSH_ORDER.map((t) => [t, snap.types[t].version]));
    const synced = lastAck(gw, log, nodeId, want, t0);
    return { envoy, sample: { connectMs: (connectedAt ?? NaN) - t0, syncedMs: synced - t0 } };
  } catch (err) {
    await envoy?.stop();
    throw err;
  } finally {
    gw.cp.xds.off("connect", onConnect);
  }
}

/**
 * The snapshot an edit produced. A reload that refused the file, or found nothing changed, ends
 * the wait at once with its reason (the snapshot's own time comes from the cache's listener, so
 * this loop's polling does not enter the figures).
 */
async function editApplied(
  gw: TestGateway,
  snapshot: Promise<{ t: number; changed: TypeUrlValue[] }>,
  before: unknown,
  kind: EditKind,
): Promise<{ t: number; changed: TypeUrlValue[] }> {
  const state: { applied?: { t: number; changed: TypeUrlValue[] } } = {};
  void snapshot.then((s) => {
    state.applied = s;
  });
  const deadline = performance.now() + WAIT_MS;
  for (;;) {
    if (state.applied) return state.applied;
    const last = gw.cp.source.last;
    if (last !== before && last && (!last.ok || last.kind === "unchanged")) {
      throw new Error(`the ${kind} edit was not applied: ${last.error ?? "the control plane found nothing changed"}`);
    }
    if (performance.now() > deadline)
      throw new Error(`no new snapshot ${WAIT_MS} ms after the ${kind} edit; last reload: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function timeEdit(
  gw: TestGateway,
  log: AckLog,
  spec: GatewayFileSpec,
  kind: EditKind,
  n: number,
  nodes: string[],
): Promise<EditSample> {
  applyEdit(spec, kind, n);
  const yaml = gatewayYaml(spec);
  const next = nextSnapshot(gw);
  const before = gw.cp.source.last;
  const t0 = performance.now();
  gw.write(yaml);
  try {
    const { t, changed } = await editApplied(gw, next.promise, before, kind);
    const snap = gw.cp.cache.get(ANY_NODE)!;
    const want = Object.fromEntries(changed.map((type) => [type, snap.types[type].version]));
    let last = t;
    for (const node of nodes) {
      await waitSynced(gw.cp, node, WAIT_MS);
      last = Math.max(last, lastAck(gw, log, node, want, t0));
    }
    log.throwOnNack(t0);
    return { pushMs: t - t0, ackMs: last - t0, changed: changed.map(shortTypeName) };
  } finally {
    next.cancel();
  }
}

function snapshotSize(gw: TestGateway): SizeResult["snapshot"] {
  const snap = gw.cp.cache.get(ANY_NODE)!;
  const byType: SizeResult["snapshot"]["byType"] = {};
  let totalBytes = 0;
  for (const type of PUSH_ORDER) {
    const resources = [...snap.types[type].resources.values()];
    const bytes = resources.reduce((a, r) => a + r.bytes.length, 0);
    byType[shortTypeName(type)] = { resources: resources.length, bytes };
    totalBytes += bytes;
  }
  return { totalBytes, byType };
}

/** load + validate, translate, encode, each on its own, as a reload does them (shared checker). */
async function timeStages(path: string): Promise<Pick<SizeResult, "loadMs" | "translateMs" | "encodeMs" | "compareMs">> {
  const checkPlugin = createPluginChecker();
  const out = { loadMs: [] as number[], translateMs: [] as number[], encodeMs: [] as number[], compareMs: [] as number[] };
  let previous: LoadResult | undefined;
  for (let i = 0; i <= reps; i++) {
    gc?.(); // a collection left over from the last round should not land in this one
    let t = performance.now();
    const loaded = await loadGatewayFile(path, { filtersDir: FILTERS_DIR, checkPlugin });
    const loadMs = performance.now() - t;
    if (!loaded.ok)
      throw new Error(
        `the generated file does not load: ${loaded.errors
          .slice(0, 3)
          .map((e) => e.message)
          .join("; ")}`,
      );
    t = performance.now();
    const resources = translate({ model: loaded.model, certificates: new Map(), modules: loaded.modules });
    const translateMs = performance.now() - t;
    t = performance.now();
    new SnapshotCache().set(ANY_NODE, resources);
    const encodeMs = performance.now() - t;
    let compareMs = NaN;
    if (previous?.ok) {
      t = performance.now();
      onlyEndpointsDiffer(previous.model, loaded.model);
      compareMs = performance.now() - t;
    }
    previous = loaded;
    if (i === 0) continue; // warm-up: JIT, filters compiled by the checker
    out.loadMs.push(loadMs);
    out.translateMs.push(translateMs);
    out.encodeMs.push(encodeMs);
    out.compareMs.push(compareMs);
    say(
      `stages ${i}/${reps}: load ${loadMs.toFixed(0)} ms, translate ${translateMs.toFixed(0)} ms, encode ${encodeMs.toFixed(0)} ms, compare ${compareMs.toFixed(0)} ms`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  const spec = baseSpec(routes, await freePort());
  const yaml = gatewayYaml(spec);
  const before = memory();

  const t = performance.now();
  const gw = await startTestGateway({ yaml, debounce: DEBOUNCE });
  const coldStartMs = performance.now() - t;
  const envoys: Envoy[] = [];
  let result: Omit<SizeResult, "loadMs" | "translateMs" | "encodeMs" | "compareMs">;
  try {
    const log = new AckLog(gw.cp.xds);
    const snapshot = snapshotSize(gw);
    const afterSnapshot = memory();
    say(
      `control plane started in ${coldStartMs.toFixed(0)} ms; snapshot ${(snapshot.totalBytes / 1024).toFixed(0)} KiB; heapUsed ${(afterSnapshot.heapUsed / 2 ** 20).toFixed(1)} MiB`,
    );

    // Fresh Envoys, one at a time so each join has the control plane to itself. The first two
    // stay for the edits; any further ones only add initial-sync samples.
    const joins: JoinSample[] = [];
    const nodes = ["bench-envoy-1", "bench-envoy-2"];
    for (let i = 0; i < Math.max(2, reps); i++) {
      const nodeId = nodes[i] ?? `bench-envoy-fresh-${i + 1}`;
      const { envoy, sample } = await timeJoin(gw, log, nodeId);
      joins.push(sample);
      say(`join ${nodeId}: connected after ${sample.connectMs.toFixed(0)} ms, in sync after ${sample.syncedMs.toFixed(0)} ms`);
      if (i < nodes.length) envoys.push(envoy);
      else await envoy.stop();
    }
    const withEnvoys = memory();
    const envoyVersion = await envoys[0]!
      .admin("/server_info")
      .then((r) => String((JSON.parse(r.body) as { version?: string }).version ?? "?").split("/")[1] ?? "?")
      .catch(() => "?");

    const edits = { route: [], endpoint: [], plugin: [] } as Record<EditKind, EditSample[]>;
    for (let n = 1; n <= reps; n++) {
      for (const kind of EDIT_KINDS) {
        const s = await timeEdit(gw, log, spec, kind, n, nodes);
        edits[kind].push(s);
        say(
          `edit ${kind} ${n}/${reps}: ${s.changed.join("+")} in cache after ${s.pushMs.toFixed(0)} ms, ACKed by both after ${s.ackMs.toFixed(0)} ms`,
        );
      }
    }
    result = {
      routes,
      upstreams: spec.upstreams,
      yamlBytes: Buffer.byteLength(yaml),
      reps,
      coldStartMs,
      snapshot,
      memory: { gcExposed: gc !== undefined, before, snapshot: afterSnapshot, withEnvoys, peakRss: process.resourceUsage().maxRSS * 1024 },
      joins,
      edits,
      envoyVersion,
      debounce: DEBOUNCE,
    };
  } finally {
    await Promise.all(envoys.map((e) => e.stop()));
    await gw.stop();
  }

  // The stages alone, with no Envoy and no control plane running next to them.
  const dir = mkdtempSync(join(tmpdir(), "portico-cp-bench-"));
  try {
    const path = join(dir, "gateway.yaml");
    writeFileSync(path, gatewayYaml(spec));
    const stages = await timeStages(path);
    writeFileSync(args.out!, JSON.stringify({ ...result, ...stages } satisfies SizeResult, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
