// Upstream endpoints -> ClusterLoadAssignment (EDS for static upstreams, inline for DNS ones).
import type { UpstreamModel } from "../model/types.js";
import { socketAddress } from "./common.js";

export function loadAssignment(u: UpstreamModel): object {
  return {
    cluster_name: u.name,
    endpoints: [
      {
        lb_endpoints: u.endpoints.map((e) => ({
          endpoint: { address: socketAddress(e.host, e.port) },
          load_balancing_weight: e.weight,
        })),
      },
    ],
  };
}
