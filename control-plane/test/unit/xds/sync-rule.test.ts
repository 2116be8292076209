// The rule e2e tests wait on (waitSynced): when an Envoy counts as in sync with a snapshot.
import { describe, expect, it } from "vitest";
import type { NodeStatus, TypeStatus } from "../../../src/xds/server.js";
import { TypeUrl, type TypeUrlValue } from "../../../src/xds/types.js";
import { requiredTypes, syncState, type SnapshotView } from "../../support/sync.js";

const snap = (counts: Partial<Record<TypeUrlValue, number>>): SnapshotView =>
  Object.fromEntries(Object.values(TypeUrl).map((t) => [t, { version: `1-${t.slice(-4)}`, resources: { size: counts[t] ?? 0 } }]));

const acked = (s: SnapshotView, t: TypeUrlValue): TypeStatus => ({
  versionSent: s[t]!.version,
  versionAcked: s[t]!.version,
  lastNack: null,
});

const node = (types: NodeStatus["types"], connectedStreams = 1): NodeStatus => ({
  nodeId: "n",
  cluster: "c",
  userAgent: "envoy",
  connectedStreams,
  connectedSince: null,
  types,
});

// A gateway with a TLS listener: every type holds resources.
const full = snap({
  [TypeUrl.Secret]: 1,
  [TypeUrl.ExtensionConfig]: 1,
  [TypeUrl.Cluster]: 2,
  [TypeUrl.Endpoints]: 2,
  [TypeUrl.Listener]: 1,
  [TypeUrl.Route]: 1,
});

describe("syncState (waitSynced's rule)", () => {
  it("requires every type the snapshot holds resources for", () => {
    // All but the rate limit service's own type, which Envoy never subscribes to.
    expect(requiredTypes(full)).toEqual(Object.values(TypeUrl).filter((t) => t !== TypeUrl.RateLimitConfig));
    expect(requiredTypes(snap({ [TypeUrl.Cluster]: 1, [TypeUrl.Listener]: 1 }))).toEqual([TypeUrl.Cluster, TypeUrl.Listener]);
  });

  it("is not synced while Envoy has ACKed clusters and listeners but not yet subscribed to routes, secrets or extension configs (the early return)", () => {
    // What an Envoy looks like right after its first CDS/LDS ACKs: RDS, SDS, ECDS and EDS
    // subscriptions come later. The old rule skipped unsubscribed types and called this synced.
    const early = node({ [TypeUrl.Cluster]: acked(full, TypeUrl.Cluster), [TypeUrl.Listener]: acked(full, TypeUrl.Listener) });
    const s = syncState(full, early);
    expect(s.synced).toBe(false);
    expect(s.lag).toContain("RouteConfiguration not subscribed yet");
    expect(s.lag).toContain("Secret not subscribed yet");
  });

  it("is synced once every required type is ACKed at the snapshot's version", () => {
    const all = node(Object.fromEntries(Object.values(TypeUrl).map((t) => [t, acked(full, t)])));
    expect(syncState(full, all)).toEqual({ synced: true, lag: "", nacked: [] });
  });

  it("needs no ACK for an empty type Envoy never subscribed to (no secrets in use)", () => {
    const plain = snap({ [TypeUrl.Cluster]: 1, [TypeUrl.Endpoints]: 1, [TypeUrl.Listener]: 1, [TypeUrl.Route]: 1 });
    const n = node(
      Object.fromEntries([TypeUrl.Cluster, TypeUrl.Endpoints, TypeUrl.Listener, TypeUrl.Route].map((t) => [t, acked(plain, t)])),
    );
    expect(syncState(plain, n).synced).toBe(true);
  });

  it("an explicit list of types is waited for even when the snapshot has no resources of it", () => {
    const plain = snap({ [TypeUrl.Cluster]: 1 });
    const n = node({ [TypeUrl.Cluster]: acked(plain, TypeUrl.Cluster) });
    expect(syncState(plain, n).synced).toBe(true);
    expect(syncState(plain, n, [TypeUrl.Cluster, TypeUrl.Listener]).synced).toBe(false);
  });

  it("is not synced on an older ACK, and reports a NACK of the wanted version", () => {
    const n = node({
      [TypeUrl.Cluster]: acked(full, TypeUrl.Cluster),
      [TypeUrl.Listener]: {
        versionSent: full[TypeUrl.Listener]!.version,
        versionAcked: "0-old",
        lastNack: { version: full[TypeUrl.Listener]!.version, message: "cannot bind '127.0.0.1:1': Address already in use", at: "" },
      },
    });
    const s = syncState(full, n, [TypeUrl.Cluster, TypeUrl.Listener]);
    expect(s.synced).toBe(false);
    expect(s.nacked).toEqual([{ type: "Listener", message: "cannot bind '127.0.0.1:1': Address already in use" }]);
  });

  it("is not synced for a node never seen or without a stream", () => {
    expect(syncState(full, undefined).lag).toBe("never connected");
    expect(syncState(full, node({}, 0)).lag).toBe("not connected");
  });
});
