// What a candidate config would change in Envoy (admin API dry runs): per resource type (named
// by its short name), the names added, removed and changed, compared as encoded content.
import type { EnvoyResources } from "../translate/index.js";
import { canonicalJson } from "../store/canonical.js";
import type { ResourceDiff } from "../store/types.js";
import { XDS_TYPES } from "../xds/types.js";

export function diffResources(before: EnvoyResources | undefined, after: EnvoyResources): ResourceDiff {
  const out: ResourceDiff = {};
  for (const { url, short } of XDS_TYPES) {
    const a = before?.[url] ?? new Map<string, object>();
    const b = after[url];
    const added = [...b.keys()].filter((n) => !a.has(n));
    const removed = [...a.keys()].filter((n) => !b.has(n));
    const changed = [...b.keys()].filter((n) => a.has(n) && canonicalJson(a.get(n)) !== canonicalJson(b.get(n)));
    if (added.length || removed.length || changed.length) out[short] = { added, removed, changed };
  }
  return out;
}
