// The gateway end to end: one control plane following a YAML file, two real Envoys joined to
// it over ADS. What a user notices: both Envoys serve the file's routes; saved edits apply live
// with no failed request and no drained connection; a bad save changes nothing and is reported;
// Envoys keep serving without the control plane and resync when it returns; a plugin's config
// and module change live.
import { copyFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  parseEcho,
  pollUntil,
  repoRoot,
  request,
  runWrk,
  useEchoUpstream,
  useEnvoy,
  type EchoUpstream,
  type Envoy,
} from "../../../test/support/index.js";
import { nextOutcome, startGatewayOnFreshPort, waitSynced, type TestGateway } from "../support/gateway.js";
import { TypeUrl } from "../../src/xds/types.js";

const envoys = useEnvoy("all");
const echo = useEchoUpstream("all");

let gw: TestGateway;
let e1: Envoy;
let e2: Envoy;
let upA: EchoUpstream;
let upB: EchoUpstream;
let port: number;

interface Knobs {
  stamp?: string;
  /** Endpoint of upstream "b" (an EDS-only edit when it is all that changes). */
  bPort?: number;
  timeout?: string;
  extraRoute?: boolean;
  customModule?: boolean;
}

/** The gateway file under test; each knob changes one kind of resource. */
function config(k: Knobs = {}): string {
  return `
listeners:
  - name: public
    address: 127.0.0.1
    port: ${port}
routes:
  - name: a
    match: { path: { prefix: /a/ } }
    timeout: ${k.timeout ?? "15s"}
    upstream: a
    plugins: [stamp]
  - name: b
    match: { path: { prefix: /b/ } }
    upstream: b
    plugins: [stamp${k.customModule ? ", custom" : ""}]
${
  k.extraRoute
    ? `  - name: extra
    match: { path: { prefix: /extra/ } }
    upstream: extra
    plugins: [stamp]
`
    : ""
}upstreams:
  - name: a
    endpoints: ["127.0.0.1:${upA.port}"]
  - name: b
    endpoints: ["127.0.0.1:${k.bPort ?? upB.port}"]
${
  k.extraRoute
    ? `  - name: extra
    endpoints: ["127.0.0.1:${upA.port}"]
`
    : ""
}plugins:
  - name: stamp
    filter: header-rewrite
    config:
      rules:
        - name: stamp
          response: { set: { x-stamp: "${k.stamp ?? "v0"}", x-envoy-node: "\${property.xds.node.id}" } }
${
  k.customModule
    ? `  - name: custom
    module: ./custom.wasm
    root_id: x
    config:
      rules:
        - name: module
          response: { set: { x-module: "header-rewrite" } }
`
    : ""
}`;
}

const get = (e: Envoy, path: string) => request(e.url(path, "public"), { timeoutMs: 10_000 });
const syncedBoth = async () => {
  await waitSynced(gw.cp, "envoy-1");
  await waitSynced(gw.cp, "envoy-2");
};
/** Saves the file and resolves once the control plane applied it (a new push or "unchanged"). */
async function save(yaml: string): Promise<void> {
  const before = gw.cp.source.last;
  gw.write(yaml);
  await nextOutcome(gw.cp, before);
}
const drainStats = async (e: Envoy) => {
  const s = await e.stats("listener_manager\\.");
  return {
    modified: s.get("listener_manager.listener_modified") ?? 0,
    inPlace: s.get("listener_manager.listener_in_place_updated") ?? 0,
    draining: s.get("listener_manager.total_filter_chains_draining") ?? 0,
    removed: s.get("listener_manager.listener_removed") ?? 0,
  };
};

beforeAll(async () => {
  [upA, upB] = await Promise.all([echo({ record: false }), echo({ record: false })]);
  // Both Envoys bind the same listener address: Envoy sets SO_REUSEPORT, and the kernel spreads
  // new connections over the two processes.
  ({
    gw,
    envoys: [e1, e2],
  } = await startGatewayOnFreshPort({
    yaml: (p) => {
      port = p;
      return config();
    },
    nodes: [{ id: "envoy-1" }, { id: "envoy-2" }],
    start: envoys,
  }));
}, 90_000);

afterAll(async () => {
  await gw?.stop();
});

describe("two Envoys on one control plane", () => {
  it("both serve the same routes, plugins included", async () => {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => get(i % 2 ? e1 : e2, i % 2 ? "/a/x" : "/b/y")));
    for (const [i, r] of results.entries()) {
      expect(r.status).toBe(200);
      expect(r.header("x-stamp")).toBe("v0");
      expect(parseEcho(r.body).path).toBe(i % 2 ? "/a/x" : "/b/y");
    }
    const served = async (e: Envoy) => (await e.stat("http.public.downstream_rq_total")) ?? 0;
    expect(await served(e1), "requests served by envoy-1").toBeGreaterThan(0);
    expect(await served(e2), "requests served by envoy-2").toBeGreaterThan(0);
    const status = gw.cp.xds.status();
    expect(status.map((n) => n.nodeId).sort()).toEqual(["envoy-1", "envoy-2"]);
  });

  it("routes nothing it was not told to: an unknown path is a 404 from Envoy", async () => {
    expect((await get(e1, "/nowhere")).status).toBe(404);
  });
});

describe("live edits", () => {
  it("applies 100 edits of every kind under load with zero failed requests and no drained connection", async () => {
    // Load goes where the edits are: /a/ (its route timeout changes), /b/ (its endpoint moves
    // between two live upstreams) and /extra/ (a route and cluster added and removed). What an
    // /extra/ request should get depends on when it was sent. From when both Envoys ACKed the
    // snapshot adding it until the save removing it, the route is in force everywhere: 200 only
    // (the removal waits for nothing, so a request still in flight then is judged as in a change).
    // While it is absent everywhere: Envoy's 404. While it is being added or removed an Envoy may
    // or may not have it yet: 200 or 404, never a 503 (a route whose cluster is missing or gone:
    // what cluster-before-route on add and route-before-cluster on removal prevent).
    // The Envoys share the listener port (SO_REUSEPORT: the kernel picks one per connection), so
    // per-Envoy claims come from each Envoy's own admin stats, or from the node id its stamp
    // plugin puts on every response.
    const perEnvoy = async (e: Envoy) => {
      const s = await e.stats("^(http\\.public\\.downstream_rq_[245]xx|cluster\\.b\\.(upstream_rq_total|membership_change))$");
      const v = (n: string) => s.get(n) ?? 0;
      return {
        rq2xx: v("http.public.downstream_rq_2xx"),
        rq4xx: v("http.public.downstream_rq_4xx"),
        rq5xx: v("http.public.downstream_rq_5xx"),
        bRequests: v("cluster.b.upstream_rq_total"),
        bMoves: v("cluster.b.membership_change"),
      };
    };
    const delta = (a: Awaited<ReturnType<typeof perEnvoy>>, b: typeof a) =>
      Object.fromEntries(Object.entries(a).map(([k, n]) => [k, n - b[k as keyof typeof a]])) as typeof a;
    const drainBefore = await Promise.all([drainStats(e1), drainStats(e2)]);
    const statsBefore = await Promise.all([perEnvoy(e1), perEnvoy(e2)]);
    let edits = 0;
    let stop = false;
    type Phase = "absent" | "adding" | "present" | "removing";
    let phase: Phase = "absent";
    let epoch = 0; // bumped on every phase change
    let changed: () => void = () => {};
    let nextPhase = new Promise<void>((r) => {
      changed = r;
    });
    const enter = (p: Phase) => {
      phase = p;
      epoch++;
      changed();
      nextPhase = new Promise<void>((r) => {
        changed = r;
      });
    };
    const editing = (async () => {
      try {
        let state: Knobs = {};
        for (let i = 1; i <= 100; i++) {
          const next: Knobs = { ...state, stamp: `v${i}`, timeout: undefined };
          if (i % 4 === 1) next.timeout = `${10 + (i % 7)}s`; // routes
          if (i % 4 === 2) next.bPort = next.bPort === upA.port ? upB.port : upA.port; // endpoints
          if (i % 4 === 3) next.extraRoute = !next.extraRoute; // clusters + routes added and removed
          if (i === 100) Object.assign(next, { bPort: undefined, extraRoute: false }); // the defaults later tests start from
          const change = !state.extraRoute === !next.extraRoute ? undefined : next.extraRoute ? "adding" : "removing";
          if (change) enter(change);
          await save(config(next));
          await syncedBoth();
          if (change) enter(change === "adding" ? "present" : "absent");
          state = next;
          edits++;
        }
      } finally {
        stop = true;
        changed();
      }
    })();
    const extra: { phase: Phase; settled: boolean; status: number; node?: string }[] = [];
    const extraLoad = async () => {
      let absentSince = -1;
      while (!stop) {
        // While the route is absent everywhere a few 404s make the point; the load is for its changes.
        if (phase === "absent" && absentSince === epoch) {
          await nextPhase;
          continue;
        }
        if (phase === "absent") absentSince = epoch;
        const sent = { phase, epoch };
        const r = await request(`http://127.0.0.1:${port}/extra/load`, { timeoutMs: 10_000 }).then(
          (res) => ({ status: res.status, node: res.header("x-envoy-node") }),
          (err: Error) => ({ status: 0, node: err.message }),
        );
        extra.push({ phase: sent.phase, settled: sent.epoch === epoch, ...r });
      }
    };
    // wrk on keep-alive connections over both Envoys, to /a/ and /b/, for as long as the edits take.
    const loads: Awaited<ReturnType<typeof runWrk>>[] = [];
    const wrkLoad = async (path: string) => {
      while (!stop)
        loads.push(await runWrk({ url: `http://127.0.0.1:${port}${path}`, connections: 4, durationSec: 2, countStatuses: true }));
    };
    await Promise.all([wrkLoad("/a/load"), wrkLoad("/b/load"), extraLoad(), extraLoad(), editing]);
    expect(edits).toBe(100);
    const total = loads.reduce((n, l) => n + l.requests, 0);
    const non200 = loads.flatMap((l) => Object.entries(l.statuses ?? {}).filter(([s]) => s !== "200"));
    const errors = loads.reduce((n, l) => n + l.errors.connect + l.errors.read + l.errors.write + l.errors.timeout + l.errors.status, 0);
    expect(total, "requests sent during the edits").toBeGreaterThan(1000);
    expect(non200, "responses other than 200").toEqual([]);
    expect(errors, "socket errors and timeouts").toBe(0);
    // /extra/: 200 while in force, 404 while absent, one or the other while changing; never a 503.
    const expected = (r: (typeof extra)[number]) =>
      !r.settled ? [200, 404] : r.phase === "present" ? [200] : r.phase === "absent" ? [404] : [200, 404];
    expect(
      extra.filter((r) => !expected(r).includes(r.status)),
      "/extra/ requests answered other than they should",
    ).toEqual([]);
    const inForce = extra.filter((r) => r.phase === "present" && r.settled);
    expect(inForce.length, "/extra/ requests while the route was in force").toBeGreaterThan(50);
    expect(
      extra.filter((r) => r.phase === "adding" || r.phase === "removing").length,
      "/extra/ requests during its changes",
    ).toBeGreaterThan(10);
    expect(new Set(inForce.map((r) => r.node)), "Envoys that answered /extra/").toEqual(new Set(["envoy-1", "envoy-2"]));
    // Each Envoy, by its own stats: no 5xx, its 4xx are the /extra/ 404s, it sent /b/ requests,
    // and it moved /b/'s endpoint every time it was moved.
    const stats = (await Promise.all([perEnvoy(e1), perEnvoy(e2)])).map((s, i) => delta(s, statsBefore[i]!));
    for (const s of stats) {
      expect(s.rq5xx).toBe(0);
      expect(s.rq2xx).toBeGreaterThan(0);
      expect(s.bRequests).toBeGreaterThan(0);
      expect(s.bMoves).toBeGreaterThanOrEqual(26);
    }
    expect(stats[0]!.rq4xx + stats[1]!.rq4xx, "4xx over both Envoys").toBe(extra.filter((r) => r.status === 404).length);
    // The last edit is what each Envoy serves: fresh connections until both have answered.
    const last = new Map<string, string | undefined>();
    await pollUntil(
      async () => {
        const r = await request(`http://127.0.0.1:${port}/a/x`, { timeoutMs: 10_000 });
        last.set(r.header("x-envoy-node") ?? "?", r.header("x-stamp"));
        return last.size;
      },
      (n) => n >= 2,
      { intervalMs: 0, what: "an answer from each Envoy" },
    );
    expect(Object.fromEntries(last)).toEqual({ "envoy-1": "v100", "envoy-2": "v100" });
    // Plugins, routes, clusters and endpoints changed 100 times; no listener did.
    expect(await Promise.all([drainStats(e1), drainStats(e2)])).toEqual(drainBefore);
    expect(drainBefore.map((d) => d.draining)).toEqual([0, 0]);
  }, 240_000);

  it("an endpoint-only edit goes out as EDS alone", async () => {
    await save(config({ stamp: "v100", bPort: upA.port }));
    const outcome = gw.cp.gateway.lastOutcome!;
    expect(outcome.kind).toBe("endpoints");
    expect(outcome.changedTypes).toEqual([TypeUrl.Endpoints]);
    await syncedBoth();
    await save(config({ stamp: "v100" }));
    expect(gw.cp.gateway.lastOutcome!.changedTypes).toEqual([TypeUrl.Endpoints]);
    await syncedBoth();
  });

  it("coalesces a burst of saves into one push of the last one", async () => {
    const pushes = gw.cp.gateway.pushCount;
    for (let i = 0; i < 10; i++) gw.write(config({ stamp: `burst-${i}` }));
    await pollUntil(
      async () => gw.cp.gateway.pushCount,
      (n) => n !== pushes,
      { timeoutMs: 10_000, intervalMs: 20, what: "a push after the burst" },
    );
    await new Promise((r) => setTimeout(r, 300)); // longer than the debounce window: no second push may follow
    expect(gw.cp.gateway.pushCount - pushes).toBe(1);
    await syncedBoth();
    expect((await get(e1, "/a/x")).header("x-stamp")).toBe("burst-9");
  });

  it("a bad save changes nothing and is reported with its line", async () => {
    await save(config({ stamp: "good" }));
    await syncedBoth();
    const versions = JSON.stringify(gw.cp.xds.status().map((n) => n.types));
    await save(config({ stamp: "good" }).replace("upstream: a\n", "upstream: nowhere\n"));
    const last = gw.cp.source.last!;
    expect(last.ok).toBe(false);
    expect(last.error).toMatch(/gateway\.yaml:\d+:\d+: routes\[0\]\.upstream: no upstream named "nowhere"/);
    const status = JSON.parse((await request(`http://127.0.0.1:${gw.cp.httpPort}/status`)).body);
    expect(status.config.lastAttempt.ok).toBe(false);
    expect(status.config.applied.ok).toBe(true);
    expect(JSON.stringify(gw.cp.xds.status().map((n) => n.types)), "nothing was pushed").toBe(versions);
    const metrics = (await request(`http://127.0.0.1:${gw.cp.httpPort}/metrics`)).body;
    expect(metrics).toMatch(/^portico_config_rejected_total [1-9]/m);
    for (const e of [e1, e2]) {
      const r = await get(e, "/a/x");
      expect(r.status).toBe(200);
      expect(r.header("x-stamp")).toBe("good");
    }
    await save(config({ stamp: "fixed" }));
    expect(gw.cp.source.last!.ok).toBe(true);
    await syncedBoth();
    expect((await get(e2, "/a/x")).header("x-stamp")).toBe("fixed");
  });
});

describe("plugin modules", () => {
  it("a user module swaps in live when its file changes, with no drained connection", async () => {
    copyFileSync(join(repoRoot, "dist/filters/header-rewrite.wasm"), join(gw.dir, "custom.wasm"));
    await save(config({ stamp: "m", customModule: true }));
    expect(gw.cp.source.last!.ok, gw.cp.source.last!.error).toBe(true);
    await syncedBoth();
    const drainBefore = await drainStats(e1);
    let r = await get(e1, "/b/x");
    expect(r.header("x-module")).toBe("header-rewrite");
    expect(r.header("hello")).toBeUndefined();
    // A new build of the module (here: a different module with the same root id) replaces it.
    const before = gw.cp.source.last;
    copyFileSync(join(repoRoot, "dist/test/hello.wasm"), join(gw.dir, "custom.wasm.new"));
    renameSync(join(gw.dir, "custom.wasm.new"), join(gw.dir, "custom.wasm"));
    await nextOutcome(gw.cp, before);
    expect(gw.cp.source.last!.ok, gw.cp.source.last!.error).toBe(true);
    expect(gw.cp.source.last!.changedTypes).toEqual([TypeUrl.ExtensionConfig]);
    await syncedBoth();
    for (const e of [e1, e2]) {
      r = await get(e, "/b/x");
      expect(r.header("hello")).toBe("world");
      expect(r.header("x-module")).toBeUndefined();
    }
    expect(await drainStats(e1)).toEqual(drainBefore);
    await save(config({ stamp: "m" }));
    await syncedBoth();
  });
});

describe("control plane outage", () => {
  it("Envoys keep serving without it and resync when it returns", async () => {
    await save(config({ stamp: "before-outage" }));
    await syncedBoth();
    await gw.cp.stop();
    const during = await Promise.all([get(e1, "/a/x"), get(e2, "/b/x")]);
    expect(during.map((r) => [r.status, r.header("x-stamp")])).toEqual([
      [200, "before-outage"],
      [200, "before-outage"],
    ]);
    // Edited while the control plane is down; applied when it is back.
    gw = await gw.startAgain(config({ stamp: "after-outage" }));
    await syncedBoth();
    for (const e of [e1, e2]) expect((await get(e, "/a/x")).header("x-stamp")).toBe("after-outage");
  }, 90_000);
});
