import { describe, expect, it } from "vitest";
import { SnapshotCache, SnapshotError } from "../../../src/xds/cache.js";
import { PUSH_ORDER, TypeUrl, type TypeUrlValue } from "../../../src/xds/types.js";
import { ADS, basicSet, edsCluster, endpoints, rdsListener, resourceSet, routeConfig, secret, staticCluster, thrown } from "./fixtures.js";

const versions = (cache: SnapshotCache, node: string) => {
  const s = cache.get(node);
  return s && Object.fromEntries(PUSH_ORDER.map((t) => [t, s.types[t].version]));
};

const rejection = (fn: () => unknown) => thrown(fn, SnapshotError);

describe("SnapshotCache versions", () => {
  it("versions every type <n>-<hash8> and reports every type changed on the first set", () => {
    const cache = new SnapshotCache();
    expect(cache.get("envoy-1")).toBeUndefined();
    expect(cache.set("*", basicSet(8080))).toEqual(PUSH_ORDER);
    for (const v of Object.values(versions(cache, "envoy-1")!)) expect(v).toMatch(/^1-[0-9a-f]{8}$/);
  });

  it("keeps the version of a type whose content did not change, and bumps only the changed ones", () => {
    const cache = new SnapshotCache();
    cache.set("*", basicSet(8080));
    const first = versions(cache, "x")!;
    expect(cache.set("*", basicSet(8080))).toEqual([]);
    expect(versions(cache, "x")).toEqual(first);

    expect(cache.set("*", basicSet(9090))).toEqual([TypeUrl.Endpoints]);
    const second = versions(cache, "x")!;
    expect(second[TypeUrl.Endpoints]).toMatch(/^2-/);
    expect(second[TypeUrl.Endpoints]).not.toBe(first[TypeUrl.Endpoints]);
    for (const t of PUSH_ORDER.filter((t) => t !== TypeUrl.Endpoints)) expect(second[t]).toBe(first[t]);
  });

  it("counts up even when content goes back to an earlier state; the hash names the content", () => {
    const cache = new SnapshotCache();
    cache.set("*", basicSet(8080));
    const v1 = versions(cache, "x")![TypeUrl.Endpoints]!;
    cache.set("*", basicSet(9090));
    cache.set("*", basicSet(8080));
    const v3 = versions(cache, "x")![TypeUrl.Endpoints]!;
    expect(v3).toMatch(/^3-/);
    expect(v3.slice(2)).toBe(v1.slice(2));
  });

  it("serves a node its own snapshot, others the '*' one, and falls back after delete", () => {
    const cache = new SnapshotCache();
    cache.set("*", basicSet(8080));
    cache.set("canary", basicSet(9090));
    const port = (node: string) =>
      (cache.get(node)!.types[TypeUrl.Endpoints].resources.get("upstream")!.json as any).endpoints[0].lb_endpoints[0].endpoint.address
        .socket_address.port_value;
    expect(port("canary")).toBe(9090);
    expect(port("anyone")).toBe(8080);
    cache.delete("canary");
    expect(port("canary")).toBe(8080);
  });

  it("tells subscribers which node and types changed, and nothing when nothing did", () => {
    const cache = new SnapshotCache();
    const seen: [string, TypeUrlValue[]][] = [];
    const off = cache.onChange((node, changed) => seen.push([node, changed]));
    cache.set("*", basicSet(8080));
    cache.set("*", basicSet(8080));
    cache.set("n1", basicSet(8081, [{ prefix: "/", prefixRewrite: "/v2/" }]));
    expect(seen).toEqual([
      ["*", PUSH_ORDER],
      ["n1", PUSH_ORDER],
    ]);
    off();
    cache.set("*", basicSet(1));
    expect(seen).toHaveLength(2);
  });

  it("lists the EDS names the clusters wait for (service_name when set)", () => {
    const cache = new SnapshotCache();
    const named = { ...edsCluster("b"), eds_cluster_config: { eds_config: ADS, service_name: "b-endpoints" } };
    cache.set(
      "*",
      resourceSet({
        clusters: [edsCluster("a"), named, staticCluster("s", 1)],
        endpoints: [endpoints("a", 1), endpoints("b-endpoints", 2)],
      }),
    );
    expect(cache.get("x")!.edsClusters).toEqual(["a", "b-endpoints"]);
  });
});

describe("SnapshotCache rejections", () => {
  it("rejects a snapshot with a resource that does not encode, listing every one, and keeps the previous", () => {
    const cache = new SnapshotCache();
    cache.set("*", basicSet(8080));
    const before = versions(cache, "x");
    const bad = basicSet(9090);
    bad[TypeUrl.Cluster]!.set("upstream", { ...edsCluster("upstream"), conect_timeout: "1s" });
    bad[TypeUrl.Listener]!.set("public", { ...rdsListener("public"), port: 1 });
    const err = rejection(() => cache.set("*", bad));
    expect(err.problems).toEqual(['Cluster "upstream": conect_timeout: unknown field', 'Listener "public": port: unknown field']);
    expect(versions(cache, "x")).toEqual(before);
  });

  it("rejects a resource stored under a name other than its own", () => {
    const set = basicSet(8080);
    set[TypeUrl.Cluster]!.set("other", edsCluster("upstream"));
    expect(rejection(() => new SnapshotCache().set("*", set)).problems).toContain('Cluster "other": the resource names itself "upstream"');
  });

  it("rejects missing references: route and weighted clusters, EDS endpoints, RDS, SDS and ECDS, all in one error", () => {
    const tlsListener = rdsListener("tls", { routeConfig: "nowhere" });
    (tlsListener.filter_chains as any)[0].transport_socket = {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "cert", sds_config: ADS }, { name: "static-cert" }] },
      },
    };
    const ecdsListener = rdsListener("ecds", {
      routeConfig: "r",
      httpFilters: [
        {
          name: "portico.plugin.auth",
          config_discovery: { config_source: ADS, type_urls: ["type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"] },
        },
      ],
    });
    const set = resourceSet({
      clusters: [edsCluster("a")],
      listeners: [tlsListener, ecdsListener],
      routes: [
        routeConfig("r", [
          { prefix: "/x", cluster: "a" },
          { prefix: "/y", cluster: "gone" },
          {
            weighted: [
              { name: "a", weight: 1 },
              { name: "w", weight: 1 },
            ],
          },
        ]),
      ],
    });
    const err = rejection(() => new SnapshotCache().set("*", set));
    expect(err.problems.sort()).toEqual([
      'Cluster "a" refers to ClusterLoadAssignment "a", which the snapshot does not have',
      'Listener "ecds" refers to TypedExtensionConfig "portico.plugin.auth", which the snapshot does not have',
      'Listener "tls" refers to RouteConfiguration "nowhere", which the snapshot does not have',
      'Listener "tls" refers to Secret "cert", which the snapshot does not have',
      'RouteConfiguration "r" refers to Cluster "gone", which the snapshot does not have',
      'RouteConfiguration "r" refers to Cluster "w", which the snapshot does not have',
    ]);

    // Supplying what was missing makes the same resources acceptable.
    set[TypeUrl.Endpoints]!.set("a", endpoints("a", 1));
    set[TypeUrl.Route]!.set("nowhere", routeConfig("nowhere", [{ cluster: "a" }]));
    set[TypeUrl.Secret]!.set("cert", secret("cert"));
    set[TypeUrl.ExtensionConfig]!.set("portico.plugin.auth", {
      name: "portico.plugin.auth",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
    });
    set[TypeUrl.Cluster]!.set("gone", staticCluster("gone", 1));
    set[TypeUrl.Cluster]!.set("w", staticCluster("w", 2));
    expect(new SnapshotCache().set("*", set)).toEqual(PUSH_ORDER);
  });
});

describe("SnapshotCache encoding memo", () => {
  it("does not re-encode a resource whose JSON is unchanged, and encodes what changed", () => {
    const cache = new SnapshotCache();
    cache.set("*", basicSet(8080));
    const before = cache.get("x")!;
    const routeBefore = [...before.types[TypeUrl.Route].resources.values()][0]!;
    const edsBefore = [...before.types[TypeUrl.Endpoints].resources.values()][0]!;
    // Fresh objects with the same content (as a full translation produces) plus an endpoint move.
    cache.set("*", basicSet(9090));
    const after = cache.get("x")!;
    expect([...after.types[TypeUrl.Route].resources.values()][0]).toBe(routeBefore);
    const edsAfter = [...after.types[TypeUrl.Endpoints].resources.values()][0]!;
    expect(edsAfter).not.toBe(edsBefore);
    expect(JSON.stringify(edsAfter.json)).toContain("9090");
  });
});
