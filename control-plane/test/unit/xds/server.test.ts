// The ADS server against a grpc-js client that plays Envoy: it subscribes, ACKs and NACKs by
// hand, so every step of the protocol is visible in the test.
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LogFn } from "../../../src/log.js";
import { SnapshotCache } from "../../../src/xds/cache.js";
import { decodeResource, type DiscoveryRequest, type DiscoveryResponse } from "../../../src/xds/proto.js";
import { XdsServer, type XdsServerOptions } from "../../../src/xds/server.js";
import { adsServiceDefinition } from "../../../src/xds/service.js";
import { TypeUrl, type TypeUrlValue } from "../../../src/xds/types.js";
import { basicSet, edsCluster, endpoints, rdsListener, resourceSet, routeConfig } from "./fixtures.js";

const { Cluster: CDS, Endpoints: EDS, Listener: LDS, Route: RDS } = TypeUrl;

/** How long "nothing arrives" is watched for. Long enough for a loopback round trip many times over. */
const QUIET_MS = 300;

type AdsClient = grpc.Client & { StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> };
const AdsClientCtor = grpc.makeGenericClientConstructor(adsServiceDefinition(), "AggregatedDiscoveryService");

/** A scripted Envoy: sends requests, collects responses in order. */
class FakeEnvoy {
  readonly client: AdsClient;
  readonly call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  private readonly queue: DiscoveryResponse[] = [];
  private waiter: (() => void) | undefined;
  private sentNode = false;
  readonly names = new Map<string, string[]>();
  status: grpc.StatusObject | undefined;
  error: grpc.ServiceError | undefined;

  constructor(
    port: number,
    readonly nodeId: string,
    readonly cluster = "edge",
  ) {
    this.client = new AdsClientCtor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AdsClient;
    this.call = this.client.StreamAggregatedResources();
    this.call.on("data", (r: DiscoveryResponse) => {
      this.queue.push(r);
      this.waiter?.();
    });
    this.call.on("status", (s) => {
      this.status = s;
      this.waiter?.();
    });
    this.call.on("error", (e: grpc.ServiceError) => {
      this.error = e;
      this.waiter?.();
    });
  }

  /** A request for `typeUrl`; names default to the last ones asked for. */
  request(typeUrl: string, o: { names?: string[]; version?: string; nonce?: string; error?: string; withNode?: boolean } = {}): void {
    if (o.names) this.names.set(typeUrl, o.names);
    const withNode = o.withNode ?? !this.sentNode;
    this.sentNode ||= withNode;
    this.call.write({
      versionInfo: o.version ?? "",
      node: withNode ? { id: this.nodeId, cluster: this.cluster, userAgent: "fake-envoy" } : undefined,
      resourceNames: this.names.get(typeUrl) ?? [],
      typeUrl,
      responseNonce: o.nonce ?? "",
      errorDetail: o.error === undefined ? undefined : { code: 3, message: o.error },
    });
  }

  ack(res: DiscoveryResponse, names?: string[]): void {
    this.request(res.typeUrl, { version: res.versionInfo, nonce: res.nonce, names });
  }

  nack(res: DiscoveryResponse, message: string, previousVersion = ""): void {
    this.request(res.typeUrl, { version: previousVersion, nonce: res.nonce, error: message });
  }

  /** The next response, which must arrive within `ms`. */
  async next(ms = 3_000): Promise<DiscoveryResponse> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      if (this.status || this.error) throw new Error(`stream ended: ${this.error?.message ?? this.status?.details}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${ms} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiter = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    return this.queue.shift()!;
  }

  /** Asserts that nothing arrives for QUIET_MS. */
  async expectQuiet(): Promise<void> {
    const r = await this.next(QUIET_MS).catch(() => undefined);
    expect(r && `${r.typeUrl} ${r.versionInfo}`).toBeUndefined();
  }

  async ended(ms = 3_000): Promise<grpc.StatusObject | grpc.ServiceError> {
    await this.next(ms).catch(() => undefined);
    const s = this.error ?? this.status;
    if (!s) throw new Error("stream did not end");
    return s;
  }

  close(): void {
    this.call.end();
    this.client.close();
  }
}

const names = (r: DiscoveryResponse) =>
  r.resources
    .map((x) => decodeResource(x.typeUrl, x.value) as { name?: string; cluster_name?: string })
    .map((j) => j.name ?? j.cluster_name);

interface Harness {
  cache: SnapshotCache;
  server: XdsServer;
  port: number;
  logs: { level: string; msg: string; fields?: Record<string, unknown> }[];
  envoy(nodeId?: string): FakeEnvoy;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(o: Partial<XdsServerOptions> = {}): Promise<Harness> {
  const cache = new SnapshotCache();
  const logs: Harness["logs"] = [];
  const log: LogFn = (level, msg, fields) => logs.push({ level, msg, fields });
  const server = new XdsServer({ cache, log, ackTimeoutMs: 2_000, warmTimeoutMs: 2_000, ...o });
  const port = await server.listen("127.0.0.1", 0);
  cleanups.push(() => server.stop());
  return {
    cache,
    server,
    port,
    logs,
    envoy: (nodeId = "envoy-1") => {
      const e = new FakeEnvoy(port, nodeId);
      cleanups.push(() => e.close());
      return e;
    },
  };
}

const version = (h: Harness, type: TypeUrlValue, node = "envoy-1") => h.cache.get(node)!.types[type].version;

/** Polls until `check` passes (status and events settle a moment after the wire does). */
const eventually = (check: () => void) => vi.waitFor(check, { timeout: 2_000, interval: 10 });

/** basicSet(8080) plus a cluster "b" (endpoints on 8081) and a route "/b" to it. */
const withClusterB = (listener = rdsListener("public")) =>
  resourceSet({
    clusters: [edsCluster("upstream"), edsCluster("b")],
    endpoints: [endpoints("upstream", 8080), endpoints("b", 8081)],
    listeners: [listener],
    routes: [routeConfig("public", [{ prefix: "/b", cluster: "b" }, { prefix: "/" }])],
  });

/** Syncs CDS, EDS, LDS and RDS the way Envoy starts up, ACKing each. */
async function syncAll(envoy: FakeEnvoy): Promise<Record<string, DiscoveryResponse>> {
  const got: Record<string, DiscoveryResponse> = {};
  envoy.request(CDS);
  got[CDS] = await envoy.next();
  envoy.ack(got[CDS]);
  envoy.request(EDS, { names: ["upstream"] });
  got[EDS] = await envoy.next();
  envoy.ack(got[EDS]);
  envoy.request(LDS);
  got[LDS] = await envoy.next();
  envoy.ack(got[LDS]);
  envoy.request(RDS, { names: ["public"] });
  got[RDS] = await envoy.next();
  envoy.ack(got[RDS]);
  return got;
}

describe("XdsServer", () => {
  it("syncs a new Envoy type by type, and records its ACKs", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    const connects: string[] = [];
    const acks: string[] = [];
    h.server.on("connect", (e) => connects.push(`${e.nodeId}/${e.cluster}`));
    h.server.on("ack", (e) => acks.push(`${e.typeUrl} ${e.version}`));
    const envoy = h.envoy();

    const got = await syncAll(envoy);
    expect(Object.values(got).map((r) => [r.typeUrl, r.versionInfo, names(r)])).toEqual([
      [CDS, version(h, CDS), ["upstream"]],
      [EDS, version(h, EDS), ["upstream"]],
      [LDS, version(h, LDS), ["public"]],
      [RDS, version(h, RDS), ["public"]],
    ]);
    expect(decodeResource(CDS, got[CDS]!.resources[0]!.value)).toEqual(edsCluster("upstream"));
    await envoy.expectQuiet();

    expect(connects).toEqual(["envoy-1/edge"]);
    expect(acks).toEqual([CDS, EDS, LDS, RDS].map((t) => `${t} ${version(h, t as TypeUrlValue)}`));
    const [status] = h.server.status();
    expect(status).toMatchObject({ nodeId: "envoy-1", cluster: "edge", userAgent: "fake-envoy", connectedStreams: 1 });
    expect(Date.parse(status!.connectedSince!)).toBeLessThanOrEqual(Date.now());
    for (const t of [CDS, EDS, LDS, RDS] as TypeUrlValue[]) {
      expect(status!.types[t]).toEqual({ versionSent: version(h, t), versionAcked: version(h, t), lastNack: null });
    }
  });

  it("waits for a snapshot before answering", async () => {
    const h = await start();
    const envoy = h.envoy();
    envoy.request(CDS);
    await envoy.expectQuiet();
    h.cache.set("*", basicSet(8080));
    expect(names(await envoy.next())).toEqual(["upstream"]);
  });

  it("sends named types only the names asked for, and a newly asked name at once", async () => {
    const h = await start();
    h.cache.set(
      "*",
      resourceSet({
        clusters: [edsCluster("a"), edsCluster("b")],
        endpoints: [endpoints("a", 1), endpoints("b", 2)],
      }),
    );
    const envoy = h.envoy();
    envoy.request(EDS, { names: ["a", "unknown"] });
    const first = await envoy.next();
    expect(names(first)).toEqual(["a"]);
    envoy.ack(first, ["a", "b"]); // ACK that also widens the subscription, as Envoy does
    const second = await envoy.next();
    expect(second.versionInfo).toBe(first.versionInfo);
    expect(names(second)).toEqual(["a", "b"]);
    envoy.ack(second);
    await envoy.expectQuiet();
  });

  it("resends nothing for types whose content did not change", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    const envoy = h.envoy();
    const before = await syncAll(envoy);
    h.cache.set("*", basicSet(9090)); // only the endpoints differ
    const eds = await envoy.next();
    expect(eds.typeUrl).toBe(EDS);
    expect(eds.versionInfo).not.toBe(before[EDS]!.versionInfo);
    expect(
      (decodeResource(EDS, eds.resources[0]!.value) as any).endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value,
    ).toBe(9090);
    envoy.ack(eds);
    await envoy.expectQuiet();
    h.cache.set("*", basicSet(9090)); // no change at all
    await envoy.expectQuiet();
  });

  it("records a NACK in status and as an event, keeps the snapshot, and does not resend the rejected version", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    const nacks: string[] = [];
    h.server.on("nack", (e) => nacks.push(`${e.nodeId} ${e.typeUrl} ${e.version}: ${e.message}`));
    const envoy = h.envoy();
    const good = await syncAll(envoy);

    h.cache.set("*", basicSet(8080, [{ regex: "(?=x)" }]));
    const bad = await envoy.next();
    expect(bad.typeUrl).toBe(RDS);
    envoy.nack(bad, "invalid regex: (?=x)", good[RDS]!.versionInfo);
    await eventually(() => expect(nacks).toEqual([`envoy-1 ${RDS} ${bad.versionInfo}: invalid regex: (?=x)`]));
    const rds = h.server.status()[0]!.types[RDS]!;
    expect(rds).toMatchObject({ versionSent: bad.versionInfo, versionAcked: good[RDS]!.versionInfo });
    expect(rds.lastNack).toMatchObject({ version: bad.versionInfo, message: "invalid regex: (?=x)" });
    expect(h.logs.some((l) => l.level === "warn" && /NACK/.test(l.msg) && l.fields?.error === "invalid regex: (?=x)")).toBe(true);
    expect(h.cache.get("envoy-1")!.types[RDS].version).toBe(bad.versionInfo); // not rolled back
    await envoy.expectQuiet();

    // A fixed config goes out; the NACK stays on record next to the new ACK.
    h.cache.set("*", basicSet(8080, [{ prefix: "/fixed" }]));
    const fixed = await envoy.next();
    envoy.ack(fixed);
    await eventually(() =>
      expect(h.server.status()[0]!.types[RDS]).toMatchObject({ versionAcked: fixed.versionInfo, lastNack: { version: bad.versionInfo } }),
    );
  });

  it("pushes a change in order, waiting for each ACK and for new EDS clusters to be warm before listeners and routes", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    const envoy = h.envoy();
    const before = await syncAll(envoy);

    // A new cluster "b", a listener change and a route to "b": every type changes at once.
    h.cache.set("*", withClusterB(rdsListener("public", { port: 1 })));
    const cds = await envoy.next();
    expect([cds.typeUrl, names(cds)]).toEqual([CDS, ["b", "upstream"]]);
    await envoy.expectQuiet(); // nothing else before the CDS ACK
    envoy.ack(cds);

    // Endpoints changed too: the subscribed name goes out, under the new version.
    const eds1 = await envoy.next();
    expect([eds1.typeUrl, names(eds1)]).toEqual([EDS, ["upstream"]]);
    expect(eds1.versionInfo).not.toBe(before[EDS]!.versionInfo);
    envoy.ack(eds1);
    await envoy.expectQuiet(); // listener held back: "b" is not subscribed yet

    envoy.request(EDS, { names: ["upstream", "b"], version: eds1.versionInfo, nonce: eds1.nonce });
    const eds2 = await envoy.next();
    expect([eds2.typeUrl, names(eds2)]).toEqual([EDS, ["b", "upstream"]]);
    await envoy.expectQuiet(); // ...and its endpoints not ACKed yet
    envoy.ack(eds2);

    const lds = await envoy.next();
    expect(lds.typeUrl).toBe(LDS);
    await envoy.expectQuiet();
    envoy.ack(lds);
    const rds = await envoy.next();
    expect([rds.typeUrl, rds.versionInfo]).toEqual([RDS, version(h, RDS)]);
    envoy.ack(rds);
    await envoy.expectQuiet();
  });

  it("answers endpoints Envoy asks for while it holds the CDS ACK for warming clusters", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    const envoy = h.envoy();
    const before = await syncAll(envoy);
    h.cache.set("*", withClusterB());
    const cds = await envoy.next();
    expect(cds.typeUrl).toBe(CDS);
    // Like Envoy: subscribe to the new cluster's endpoints first, ACK CDS only once they came.
    envoy.request(EDS, { names: ["upstream", "b"], version: before[EDS]!.versionInfo, nonce: before[EDS]!.nonce });
    const eds = await envoy.next();
    expect([eds.typeUrl, names(eds)]).toEqual([EDS, ["b", "upstream"]]);
    envoy.ack(eds);
    envoy.ack(cds);
    const rds = await envoy.next();
    expect([rds.typeUrl, rds.versionInfo]).toEqual([RDS, version(h, RDS)]);
    expect(h.logs.filter((l) => l.level === "warn")).toEqual([]);
  });

  it("removes a cluster only after the routes that used it were replaced", async () => {
    const h = await start();
    h.cache.set("*", withClusterB());
    const envoy = h.envoy();
    envoy.request(CDS);
    envoy.ack(await envoy.next());
    envoy.request(EDS, { names: ["b", "upstream"] });
    envoy.ack(await envoy.next());
    envoy.request(LDS);
    envoy.ack(await envoy.next());
    envoy.request(RDS, { names: ["public"] });
    envoy.ack(await envoy.next());

    h.cache.set("*", basicSet(8080)); // drops "b" and the route to it
    const keep = await envoy.next();
    expect([keep.typeUrl, keep.versionInfo, names(keep)]).toEqual([CDS, `${version(h, CDS)}+retiring`, ["b", "upstream"]]);
    envoy.ack(keep);
    const eds = await envoy.next(); // b's endpoints left the snapshot: a new EDS version
    expect(eds.typeUrl).toBe(EDS);
    envoy.ack(eds);
    const rds = await envoy.next();
    expect([rds.typeUrl, rds.versionInfo]).toEqual([RDS, version(h, RDS)]);
    await envoy.expectQuiet(); // the final CDS waits for the route's ACK
    envoy.ack(rds);
    const final = await envoy.next();
    expect([final.typeUrl, final.versionInfo, names(final)]).toEqual([CDS, version(h, CDS), ["upstream"]]);
    envoy.ack(final);
    await envoy.expectQuiet();
    expect(h.server.status()[0]!.types[CDS]).toMatchObject({ versionSent: version(h, CDS), versionAcked: version(h, CDS) });
  });

  it("continues a push with the newest snapshot when one arrives mid-push", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    const envoy = h.envoy();
    await syncAll(envoy);

    h.cache.set("*", basicSet(8080, [{ prefix: "/one" }]));
    const one = await envoy.next();
    expect(one.typeUrl).toBe(RDS);
    h.cache.set("*", basicSet(9090, [{ prefix: "/two" }])); // arrives before the ACK of "one"
    await envoy.expectQuiet(); // no interleaving: the stream waits for the ACK
    envoy.ack(one);
    const eds = await envoy.next();
    expect(eds.typeUrl).toBe(EDS);
    envoy.ack(eds);
    const two = await envoy.next();
    expect([two.typeUrl, two.versionInfo]).toEqual([RDS, version(h, RDS)]);
    expect(JSON.stringify(decodeResource(RDS, two.resources[0]!.value))).toContain("/two");
  });

  it("goes on after the ACK timeout and the warm-up timeout when Envoy never answers", async () => {
    const h = await start({ ackTimeoutMs: 200, warmTimeoutMs: 300 });
    h.cache.set("*", basicSet(8080));
    const envoy = h.envoy();
    envoy.request(CDS);
    envoy.request(LDS);
    expect((await envoy.next()).typeUrl).toBe(CDS);
    // No ACK for CDS, and no EDS subscription for its cluster: LDS goes out once both waits ran out.
    const lds = await envoy.next(2_000);
    expect(lds.typeUrl).toBe(LDS);
    expect(h.logs.filter((l) => l.level === "warn").map((l) => l.msg)).toEqual([
      "no ACK or NACK from Envoy in time; going on",
      "EDS clusters still not warm; sending listeners and routes anyway",
    ]);
  });

  it("serves two nodes their own snapshots", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    h.cache.set("canary", resourceSet({ clusters: [edsCluster("canary-only")], endpoints: [endpoints("canary-only", 1)] }));
    const stable = h.envoy("stable-1");
    const canary = h.envoy("canary");
    stable.request(CDS);
    canary.request(CDS);
    const s1 = await stable.next();
    const c1 = await canary.next();
    expect(names(s1)).toEqual(["upstream"]);
    expect(names(c1)).toEqual(["canary-only"]);
    stable.ack(s1);
    canary.ack(c1);
    await eventually(() =>
      expect(
        h.server
          .status()
          .map((s) => s.nodeId)
          .sort(),
      ).toEqual(["canary", "stable-1"]),
    );

    h.cache.set(
      "*",
      resourceSet({ clusters: [edsCluster("upstream"), edsCluster("x")], endpoints: [endpoints("upstream", 1), endpoints("x", 2)] }),
    );
    expect(names(await stable.next())).toEqual(["upstream", "x"]);
    await canary.expectQuiet();
  });

  it("sends nothing to a reconnecting Envoy that already has the current version", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    const disconnects: string[] = [];
    h.server.on("disconnect", (e) => disconnects.push(e.nodeId));
    const first = h.envoy();
    const got = await syncAll(first);
    first.close();
    await eventually(() => expect(disconnects).toEqual(["envoy-1"]));
    expect(h.server.status()[0]).toMatchObject({ connectedStreams: 0, connectedSince: null });

    const again = h.envoy();
    again.request(CDS, { version: got[CDS]!.versionInfo });
    again.request(EDS, { names: ["upstream"], version: got[EDS]!.versionInfo });
    again.request(LDS, { version: "1-00000000" }); // stale: this one must be sent
    const lds = await again.next();
    expect([lds.typeUrl, lds.versionInfo]).toEqual([LDS, version(h, LDS)]);
    again.ack(lds);
    again.request(RDS, { names: ["public"], version: got[RDS]!.versionInfo });
    await again.expectQuiet();
    expect(h.server.status()[0]).toMatchObject({ connectedStreams: 1 });
    expect(h.server.status()[0]!.types[CDS]!.versionAcked).toBe(got[CDS]!.versionInfo);

    // Still a live subscription: the next change arrives.
    h.cache.set("*", basicSet(9090));
    expect((await again.next()).typeUrl).toBe(EDS);
  });

  it("answers delta xDS with UNIMPLEMENTED", async () => {
    const h = await start();
    const client = new grpc.Client(`127.0.0.1:${h.port}`, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    const call = client.makeBidiStreamRequest(
      "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources",
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    const err = await new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
    expect(err.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it("refuses a stream whose first request carries no node", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    const envoy = h.envoy();
    envoy.request(CDS, { withNode: false });
    const ended = await envoy.ended();
    expect(ended.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it("ends streams on stop", async () => {
    const h = await start();
    h.cache.set("*", basicSet(8080));
    const envoy = h.envoy();
    envoy.request(CDS);
    await envoy.next();
    await h.server.stop();
    await envoy.ended();
    expect(h.server.status()[0]!.connectedStreams).toBe(0);
  });
});
