// What a candidate config would change in Envoy (admin API dry runs): per resource kind, the
// names added, removed and changed, compared as encoded content.
import type { EnvoyResources } from "../translate/index.js";
import { canonicalJson } from "../store/canonical.js";
import type { ResourceDiff } from "../store/types.js";

const KIND_NAMES: Record<keyof EnvoyResources, string> = {
  secrets: "Secret",
  extensionConfigs: "TypedExtensionConfig",
  clusters: "Cluster",
  endpoints: "ClusterLoadAssignment",
  listeners: "Listener",
  routes: "RouteConfiguration",
};

export function diffResources(before: EnvoyResources | undefined, after: EnvoyResources): ResourceDiff {
  const out: ResourceDiff = {};
  for (const kind of Object.keys(KIND_NAMES) as (keyof EnvoyResources)[]) {
    const a = before?.[kind] ?? new Map<string, object>();
    const b = after[kind];
    const added = [...b.keys()].filter((n) => !a.has(n));
    const removed = [...a.keys()].filter((n) => !b.has(n));
    const changed = [...b.keys()].filter((n) => a.has(n) && canonicalJson(a.get(n)) !== canonicalJson(b.get(n)));
    if (added.length || removed.length || changed.length) out[KIND_NAMES[kind]] = { added, removed, changed };
  }
  return out;
}
