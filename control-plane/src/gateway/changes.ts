// What kind of change separates two models: an edit that only moves endpoints is an EDS update
// and skips translating listeners, routes, clusters and plugins altogether.
import type { GatewayModel, UpstreamModel } from "../model/types.js";

function withoutStaticEndpoints(m: GatewayModel): unknown {
  return { ...m, upstreams: m.upstreams.map((u: UpstreamModel) => (u.discovery === "static" ? { ...u, endpoints: [] } : u)) };
}

export function onlyEndpointsDiffer(before: GatewayModel, after: GatewayModel): boolean {
  return JSON.stringify(withoutStaticEndpoints(before)) === JSON.stringify(withoutStaticEndpoints(after));
}
