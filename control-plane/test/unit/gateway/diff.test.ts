// The dry-run diff: per Envoy type, named by its short name, the resources added, removed and
// changed; a type with no difference is absent; content is compared whatever its key order.
import { describe, expect, it } from "vitest";
import { diffResources } from "../../../src/gateway/diff.js";
import type { EnvoyResources } from "../../../src/translate/index.js";
import { TypeUrl, XDS_TYPES } from "../../../src/xds/types.js";

type Spec = Partial<Record<keyof typeof TypeUrl, Record<string, object>>>;

function resources(spec: Spec): EnvoyResources {
  const out = Object.fromEntries(XDS_TYPES.map((t) => [t.url, new Map<string, object>()])) as unknown as EnvoyResources;
  for (const [id, byName] of Object.entries(spec)) {
    const m = out[TypeUrl[id as keyof typeof TypeUrl]] as Map<string, object>;
    for (const [name, v] of Object.entries(byName ?? {})) m.set(name, v);
  }
  return out;
}

describe("diffResources", () => {
  const before = resources({
    Cluster: { web: { name: "web", connect_timeout: "5s", lb_policy: "ROUND_ROBIN" }, old: { name: "old" } },
    Endpoints: { web: { cluster_name: "web", endpoints: [{ lb_endpoints: [{ address: "127.0.0.1:8081" }] }] } },
    Route: { public: { name: "public", virtual_hosts: [{ name: "all", routes: [{ match: { prefix: "/api/" } }] }] } },
    Listener: { http: { name: "http", address: { socket_address: { address: "0.0.0.0", port_value: 8080 } } } },
  });

  it("names added, removed and changed resources per type, keyed by the type's short name", () => {
    const after = resources({
      Cluster: { web: { name: "web", connect_timeout: "5s", lb_policy: "LEAST_REQUEST" }, api: { name: "api" } },
      Endpoints: { web: { cluster_name: "web", endpoints: [{ lb_endpoints: [{ address: "127.0.0.1:8082" }] }] } },
      Route: { public: { name: "public", virtual_hosts: [{ name: "all", routes: [{ match: { prefix: "/api/" } }] }] } },
      Listener: { http: { name: "http", address: { socket_address: { address: "0.0.0.0", port_value: 8080 } } } },
    });
    expect(diffResources(before, after)).toEqual({
      Cluster: { added: ["api"], removed: ["old"], changed: ["web"] },
      ClusterLoadAssignment: { added: [], removed: [], changed: ["web"] },
    });
  });

  it("leaves out every type without a difference, and is empty for equal sets", () => {
    expect(diffResources(before, before)).toEqual({});
    const after = resources({ ...specOf(before), Route: {} });
    expect(diffResources(before, after)).toEqual({ RouteConfiguration: { added: [], removed: ["public"], changed: [] } });
  });

  it("compares content regardless of key order at any depth", () => {
    const reordered = resources({
      Cluster: { old: { name: "old" }, web: { lb_policy: "ROUND_ROBIN", name: "web", connect_timeout: "5s" } },
      Endpoints: { web: { endpoints: [{ lb_endpoints: [{ address: "127.0.0.1:8081" }] }], cluster_name: "web" } },
      Route: { public: { virtual_hosts: [{ routes: [{ match: { prefix: "/api/" } }], name: "all" }], name: "public" } },
      Listener: { http: { address: { socket_address: { port_value: 8080, address: "0.0.0.0" } }, name: "http" } },
    });
    expect(diffResources(before, reordered)).toEqual({});
  });

  it("treats every resource as added when there was nothing before (first config)", () => {
    expect(diffResources(undefined, before)).toEqual({
      Cluster: { added: ["web", "old"], removed: [], changed: [] },
      ClusterLoadAssignment: { added: ["web"], removed: [], changed: [] },
      Listener: { added: ["http"], removed: [], changed: [] },
      RouteConfiguration: { added: ["public"], removed: [], changed: [] },
    });
  });
});

function specOf(r: EnvoyResources): Spec {
  const url = (id: keyof typeof TypeUrl) => Object.fromEntries(r[TypeUrl[id]] as Map<string, object>);
  return { Cluster: url("Cluster"), Endpoints: url("Endpoints"), Route: url("Route"), Listener: url("Listener") };
}
