// Who still uses a resource, so DELETE can refuse with a useful answer ("used by routes[2] (api)").
import type { Kind } from "./types.js";

type Doc = Record<string, unknown>;
type Item = Record<string, unknown>;

const listOf = (doc: Doc, kind: string): Item[] => (Array.isArray(doc[kind]) ? (doc[kind] as Item[]) : []);
const label = (kind: string, i: number, item: Item) => `${kind}[${i}] (${String(item.name)})`;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

export function findReferences(doc: Doc, kind: Kind, name: string): string[] {
  const routes = listOf(doc, "routes");
  switch (kind) {
    case "listeners":
      return routes.flatMap((r, i) => (strings(r.listeners).includes(name) ? [label("routes", i, r)] : []));
    case "plugins":
      return routes.flatMap((r, i) => (strings(r.plugins).includes(name) ? [label("routes", i, r)] : []));
    case "upstreams": {
      const byRoutes = routes.flatMap((r, i) => {
        const split = Array.isArray(r.upstreams) ? (r.upstreams as Item[]).map((u) => u?.name) : [];
        return r.upstream === name || split.includes(name) ? [label("routes", i, r)] : [];
      });
      // Plugins reach the network through clusters, which are upstreams (e.g. jwt-auth's remote JWKS).
      const byPlugins = listOf(doc, "plugins").flatMap((p, i) => (mentionsCluster(p.config, name) ? [label("plugins", i, p)] : []));
      return [...byRoutes, ...byPlugins];
    }
    case "routes":
      return [];
  }
}

function mentionsCluster(v: unknown, name: string): boolean {
  if (typeof v === "string") {
    try { return mentionsCluster(JSON.parse(v), name); } catch { return false; }
  }
  if (Array.isArray(v)) return v.some((x) => mentionsCluster(x, name));
  if (v !== null && typeof v === "object") {
    return Object.entries(v).some(([k, x]) => (k === "cluster" && x === name) || mentionsCluster(x, name));
  }
  return false;
}
